"""Residents' pages (no account, no app): the report form at a grid's poster
address (/r/<code>), and following and rating a case with its receipt.

Chinese first, for a phone. The same services and limits as the public API:
every report attempt from an address counts.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..config import settings
from ..errors import InvalidState, NotFound, RateLimited, ValidationFailed
from ..services import case_public
from ..state import signer, storage
from .blueprint import bp
from .session import check_pre_csrf, pre_csrf

LIMITS = {"title": 200, "detail": 4000, "name": 100, "phone": 32}


def _client() -> str:
    return request.remote_addr or "unknown"


def _count(kind: str, setting: str) -> None:
    case_public.check_rate(storage(), kind, _client(), getattr(settings(), setting.lower()))


def _bad_code() -> Any:
    return render_template("public/bad_code.html"), 404


def _busy() -> Any:
    return render_template("public/busy.html"), 429


def _form(code: str, grid: dict, *, status: int = 200, error: str | None = None,
          form: dict | None = None) -> Any:
    return render_template("public/report.html", code=code, grid=grid, csrf=pre_csrf(),
                           categories=case_public.categories(storage()), error=error,
                           form=form or {}, limits=LIMITS), status


@bp.route("/r/<code>", methods=["GET"])
def public_form(code: str) -> Any:
    try:
        grid = case_public.grid_of_code(storage(), code)
    except NotFound:
        return _bad_code()
    return _form(code, grid)


@bp.route("/r/<code>", methods=["POST"])
def public_submit(code: str) -> Any:
    try:
        _count("report", "PUBLIC_REPORTS_PER_HOUR")
    except RateLimited:
        return _busy()
    check_pre_csrf()
    form = {k: request.form.get(k, "").strip() for k in ("category", "title", "detail",
                                                          "name", "phone")}
    try:
        grid = case_public.grid_of_code(storage(), code)
    except NotFound:
        return _bad_code()
    if any(case_public.has_control_chars(v) for v in form.values()):
        return _form(code, grid, status=400, error=_control_chars_message(), form={
            k: case_public.without_control_chars(v) for k, v in form.items()})
    too_long = [k for k, n in LIMITS.items() if len(form[k]) > n]
    if not form["title"] or too_long or form["category"] not in case_public.categories(
            storage()):
        return _form(code, grid, status=400, form=form,
                     error=_("Please choose a kind of problem and say in a few words what is "
                             "wrong (at most 200 characters)."))
    try:
        out = case_public.report(storage(), {"code": code, **form})
    except ValidationFailed:
        return _form(code, grid, status=400, form=form,
                     error=_("Please check what you typed."))
    except NotFound:
        return _bad_code()
    return redirect(url_for("web.public_case", receipt=out["receipt"], new=1), 303)


def _case(receipt: str) -> dict | None:
    try:
        return case_public.follow(storage(), receipt)
    except NotFound:
        return None


@bp.route("/r/receipt/<receipt>", methods=["GET"])
def public_case(receipt: str) -> Any:
    try:
        _count("lookup", "PUBLIC_LOOKUPS_PER_HOUR")
    except RateLimited:
        return _busy()
    case = _case(receipt)
    if case is None:
        return render_template("public/bad_receipt.html"), 404
    return render_template("public/case.html", case=case, receipt=receipt, csrf=pre_csrf(),
                           new=request.args.get("new") == "1", error=None,
                           categories=case_public.categories(storage()))


@bp.route("/r/receipt/<receipt>/rating", methods=["POST"])
def public_rate(receipt: str) -> Any:
    try:
        _count("lookup", "PUBLIC_LOOKUPS_PER_HOUR")
    except RateLimited:
        return _busy()
    check_pre_csrf()
    rating = request.form.get("rating", "")
    note = request.form.get("note", "").strip()[:1000]
    error, status = None, 409
    if rating not in ("1", "2", "3", "4", "5"):
        error = _("Please choose from one to five stars.")
    elif case_public.has_control_chars(note):
        error, status = _control_chars_message(), 400
        note = case_public.without_control_chars(note)
    else:
        try:
            case_public.rate(storage(), signer(), receipt,
                             {"rating": int(rating), "note": note or None})
        except NotFound:
            return render_template("public/bad_receipt.html"), 404
        except InvalidState:
            error = _("This case cannot be rated now: it is not finished yet, or it was "
                      "already rated.")
    if error is None:
        return redirect(url_for("web.public_case", receipt=receipt), 303)
    case = _case(receipt)
    if case is None:
        return render_template("public/bad_receipt.html"), 404
    return render_template("public/case.html", case=case, receipt=receipt, csrf=pre_csrf(),
                           new=False, error=error, note=note, chosen=rating,
                           categories=case_public.categories(storage())), status


def _control_chars_message() -> str:
    return _("What you typed held invisible control characters, which cannot be kept. "
             "They have been taken out: check the text and send it again.")
