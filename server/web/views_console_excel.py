"""Excel in and out: the roster template, importing households and people (dry run
first, then written in the background with progress), and exports for a date range."""

from __future__ import annotations

from typing import Any

from flask import Response, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import clock
from ..config import settings
from ..errors import ValidationFailed
from ..services import excel_export, fieldview, grid_tree, import_jobs, roster_import
from ..state import storage
from . import case_labels, forms, labels
from .blueprint import bp
from .errors import PageNotFound
from .session import my_scope, signed_in

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(data: bytes, name: str) -> Response:
    resp = Response(data, mimetype=XLSX)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


def _excel_page(*, status: int = 200, error: str | None = None,
                export_error: str | None = None, export: str = "") -> Any:
    store = storage()
    return render_template("admin/excel.html", error=error, export_error=export_error,
                           export=export, kinds=excel_export.KINDS,
                           grids=my_scope().grids(grid_tree.grid_rows(store)),
                           jobs=_jobs_in_reach(store.imports.recent()),
                           case_statuses=case_labels.STATUS, args=request.args,
                           today=clock.iso()[:10]), status


@bp.route("/admin/excel", methods=["GET"])
@signed_in("admin")
def admin_excel() -> Any:
    return _excel_page()


@bp.route("/admin/excel/template.xlsx", methods=["GET"])
@signed_in("admin")
def admin_excel_template() -> Any:
    return _download(roster_import.template(), "gridsync-roster-template.xlsx")


@bp.route("/admin/excel/import", methods=["POST"])
@signed_in("admin")
def admin_import_upload() -> Any:
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    if not data:
        return _excel_page(status=400, error=_("Choose the filled-in .xlsx file first."))
    try:
        job = import_jobs.upload(storage(), data, upload.filename or "", g.me.person)  # type: ignore[union-attr]
    except roster_import.RosterError as exc:
        problem = next(iter((exc.fields or {}).get("file", [""])), "")
        message = {"no known headers": _("The sheet's first row does not have the template's "
                                         "headers. Start from the template."),
                   "no roster sheet": _("The file has no “住户” or “人员” sheet. Start from "
                                        "the template."),
                   "too many rows": _("A sheet has more than %(n)s rows. Split the roster "
                                      "into several files.", n=roster_import.MAX_ROWS),
                   "too large": _("The file holds more than a roster can (a cell of more "
                                  "than 32,767 characters, or millions of texts). Save the "
                                  "roster again from the template, or split it.")}.get(
            problem, _("This is not an .xlsx file. Save it from Excel or WPS as .xlsx."))
        return _excel_page(status=400, error=message)
    return redirect(url_for("web.admin_import_job", job_id=job), 303)


@bp.route("/admin/excel/import/<job_id>", methods=["GET"])
@signed_in("admin")
def admin_import_job(job_id: str) -> Any:
    job = import_jobs.status(storage(), job_id[:32])
    if job is None or not _jobs_in_reach([job]):
        raise PageNotFound()
    return render_template("admin/import_job.html", job=job, problem_text=_problem_text,
                           columns=labels.IMPORT_COLUMNS,
                           refresh=job["status"] == "running" and not job.get("stalled"))


@bp.route("/admin/excel/import/<job_id>/apply", methods=["POST"])
@signed_in("admin")
def admin_import_apply(job_id: str) -> Any:
    store = storage()
    job = store.imports.get(job_id[:32])
    if job is None or not _jobs_in_reach([job]):
        raise PageNotFound()
    if import_jobs.claim(store, job["id"]):
        if settings().import_in_request:
            import_jobs.run(store, job["id"], g.me.person)   # tests: no thread
        else:
            import_jobs.start(settings().database, job["id"], g.me.person)
    return redirect(url_for("web.admin_import_job", job_id=job["id"]), 303)


def _jobs_in_reach(jobs: list[dict]) -> list[dict]:
    """Imports a scoped admin may see: their own (a district-wide admin: every one)."""
    if my_scope().district:
        return jobs
    return [job for job in jobs if job["created_by"] == g.me.person]


def _problem_text(problem: dict) -> str:
    if problem["code"] == "rule":  # a directory service's message, as the set-up pages say it
        return forms.field_errors({"x": problem.get("value", "")})["x"]
    message = labels.IMPORT_PROBLEMS.get(problem["code"], problem["code"])
    return str(message).format(value=problem.get("value", ""))


@bp.route("/admin/export", methods=["GET"])
@signed_in("admin")
def admin_export_form() -> Any:
    """The export form: ``?what=visits&from=…`` → ``/admin/export/visits?from=…``."""
    args = {k: v for k, v in request.args.items() if k != "what" and v}
    return redirect(url_for("web.admin_export", what=request.args.get("what", "visits")[:20],
                            **args), 303)  # type: ignore[arg-type]


@bp.route("/admin/export/<what>", methods=["GET"])
@signed_in("admin")
def admin_export(what: str) -> Any:
    """One export for the filters typed on the Excel page; bad filters (an unknown grid,
    dates that are not dates or run backwards) get that page again, saying what is
    wrong, and nothing is exported."""
    if what not in excel_export.KINDS:
        raise PageNotFound()
    store = storage()
    try:
        f = fieldview.filters(store, request.args.to_dict(), my_scope())
        excel_export.check(what, f)
    except ValidationFailed as exc:
        return _excel_page(status=400, export=what, export_error=next(
            iter(forms.service_errors(exc).values()), _("Check the dates and the grid.")))
    exporter = excel_export.Exporter(store, f, my_scope(), gettext=_, outcome=labels.outcome,
                                     activity=labels.activity,
                                     case_labels=case_labels.excel_labels())
    with store.snapshot():
        data = exporter.workbook(what)
    span = "-".join(str(d) for d in (f.start, f.end) if d) or clock.iso()[:10]
    return _download(data, f"gridsync-{what}-{span}.xlsx")
