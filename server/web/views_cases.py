"""The office's case pages: the dispatch board (派单台) with assign and cancel, a
case page with its history, report-code posters (扫码反映问题), and the 办结率
page with charts and an Excel export."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..errors import InvalidState, NotFound, ValidationFailed
from ..services import case_excel, case_pages, case_public, cases
from ..state import storage
from . import case_labels, charts
from .blueprint import bp
from .errors import PageNotFound
from .qr import public_origin, qr_svg
from .session import my_scope, signed_in

REPORT_MONTHS = 12


def _grid_arg() -> str | None:
    """The ``grid`` filter: a grid within the admin's reach, else a 404 page."""
    grid = request.args.get("grid") or None
    if grid is not None:
        try:
            my_scope().visible_grid(storage(), grid[:64])
        except NotFound:
            raise PageNotFound() from None
    return grid


@bp.route("/admin/cases", methods=["GET"])
@signed_in("admin")
def admin_cases() -> Any:
    grid = _grid_arg()
    data = case_pages.board(storage(), grid, my_scope())
    done = {"assigned": _("Assigned."), "cancelled": _("Cancelled.")}.get(
        request.args.get("done", ""))
    return render_template("cases/board.html", grid=grid, message=done, **data)


@bp.route("/admin/cases/<case_id>", methods=["GET"])
@signed_in("admin")
def admin_case(case_id: str) -> Any:
    return _case_page(case_id)


def _case_page(case_id: str, *, status: int = 200, **extra: Any) -> Any:
    try:
        data = case_pages.case_page(storage(), case_id[:64], my_scope())
    except NotFound:
        raise PageNotFound() from None
    extra.setdefault("error", None)
    extra.setdefault("message", None)
    return render_template("cases/case.html", **data, **extra), status


def _back(case_id: str, done: str) -> Any:
    """After a step: back to the board (which says what was done) or the case page."""
    if request.form.get("back") == "board":
        return redirect(url_for("web.admin_cases", done=done), 303)
    return _case_page(case_id, message=_("Assigned.") if done == "assigned" else
                      _("Cancelled."))


@bp.route("/admin/cases/<case_id>/assign", methods=["POST"])
@signed_in("admin")
def admin_case_assign(case_id: str) -> Any:
    data: dict[str, Any] = {"assignee": request.form.get("assignee", "")[:64]}
    difficulty = request.form.get("difficulty", "")
    if difficulty in ("1", "2", "3"):
        data["difficulty"] = int(difficulty)
    due = request.form.get("due", "")
    if due:
        try:
            data["due_at"] = case_labels.due_at(due, storage())
        except ValueError:
            return _case_page(case_id, status=400, error=_("The due date is not a date."))
    try:
        cases.assign(storage(), case_id[:64], data, by=g.me.person, scope=my_scope())
    except NotFound:
        raise PageNotFound() from None
    except ValidationFailed:
        return _case_page(case_id, status=400,
                          error=_("Choose a worker or volunteer of the case's grid."))
    except InvalidState:
        return _case_page(case_id, status=409,
                          error=_("This case is closed or cancelled: it cannot be assigned."))
    return _back(case_id, "assigned")


@bp.route("/admin/cases/<case_id>/cancel", methods=["POST"])
@signed_in("admin")
def admin_case_cancel(case_id: str) -> Any:
    reason = request.form.get("reason", "").strip()[:4000]
    if not reason:
        return _case_page(case_id, status=400, error=_("Say why the case is cancelled."))
    try:
        cases.cancel(storage(), case_id[:64], reason, by=g.me.person, scope=my_scope())
    except NotFound:
        raise PageNotFound() from None
    except InvalidState:
        return _case_page(case_id, status=409,
                          error=_("This case is already closed or cancelled."))
    return _back(case_id, "cancelled")


# --- posters ----------------------------------------------------------------------


@bp.route("/admin/posters", methods=["GET"])
@signed_in("admin")
def admin_posters() -> Any:
    store = storage()
    grids = [{**g_, "code": store.cases.current_report_code(g_["id"])}
             for g_ in my_scope().grids(store.directory.grids())]
    return render_template("cases/posters.html", grids=grids)


@bp.route("/admin/grids/<grid>/poster", methods=["GET"])
@signed_in("admin")
def admin_poster(grid: str) -> Any:
    store = storage()
    try:
        row = my_scope().visible_grid(store, grid[:64])
    except NotFound:
        raise PageNotFound() from None
    code = store.cases.current_report_code(row["id"])
    url = case_public.report_url(_origin(), code) if code else None
    return render_template("cases/poster.html", grid=row, code=code, url=url,
                           qr=qr_svg(url, title=_("Scan to report a problem")) if url else None,
                           community=store.directory.grid(row["community"]),
                           no_categories=not case_public.categories(store))


@bp.route("/admin/grids/<grid>/poster", methods=["POST"])
@signed_in("admin")
def admin_poster_new(grid: str) -> Any:
    try:
        case_public.new_report_code(storage(), grid[:64], base_url=_origin(),
                                    scope=my_scope())
    except NotFound:
        raise PageNotFound() from None
    return redirect(url_for("web.admin_poster", grid=grid), 303)


def _origin() -> str:
    return public_origin() + "/"


# --- 办结率 -------------------------------------------------------------------------


def _report_grid() -> str:
    store = storage()
    grid = _grid_arg()
    if grid is None:
        communities = [g_ for g_ in my_scope().grids(store.directory.grids())
                       if g_["parent"] is None]
        if not communities:
            raise PageNotFound()
        grid = communities[0]["id"]
    return grid


@bp.route("/admin/reports/cases", methods=["GET"])
@signed_in("admin")
def admin_case_report() -> Any:
    grid = _report_grid()
    store = storage()
    page = case_pages.report_page(store, grid, REPORT_MONTHS)
    labels = case_labels.category_names(page["categories"])
    return render_template(
        "cases/report.html", grid=grid, grids=my_scope().grids(store.directory.grids()),
        **page,
        charts={"months": charts.month_bars(page["series"]),
                "rate": charts.rate_line(page["series"]),
                "ratings": charts.rating_bars(page["report"]["ratings"]),
                "categories": charts.category_bars(page["report"]["by_category"], labels)})


@bp.route("/admin/reports/cases.xlsx", methods=["GET"])
@signed_in("admin")
def admin_case_report_xlsx() -> Any:
    grid = _report_grid()
    store = storage()
    page = case_pages.report_page(store, grid, REPORT_MONTHS)
    body = case_excel.workbook(store, page, case_labels.excel_labels())
    name = f"cases-{grid}-{dt.date.today().isoformat()}.xlsx"
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument."
                    "spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
