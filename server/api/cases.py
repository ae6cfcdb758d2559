"""Cases: the office's list, detail, assign and cancel, report codes and the 办结率
report (admin), the case detail for devices that hold the case, and the
residents' public endpoints (no token, rate-limited per client address)."""

from __future__ import annotations

from flask import g, request

from ..auth import require
from ..config import settings
from ..errors import ValidationFailed
from ..services import case_public, case_report, cases
from ..services.admin_scope import admin_scope
from ..state import signer, storage
from . import case_schemas as s
from .blueprint import Blueprint

bp = Blueprint("cases", __name__, description="Cases: reports, dispatch, 办结率")


def client_address() -> str:
    return request.remote_addr or "unknown"


def public_base() -> str:
    return (settings().public_url or request.host_url)


@bp.route("/cases", methods=["GET"])
@require("admin")
@bp.arguments(s.CaseQuery, location="query")
@bp.response(200, s.CasePage)
def list_cases(args):
    """Cases in the order received, filtered by grid (with the grids under it),
    status and kind; page with `after` = the previous page's `next`."""
    store = storage()
    return cases.list_cases(store, grid=args.get("grid"), status=args.get("status"),
                            kind=args.get("kind"), after=args["after"], limit=args["limit"],
                            scope=admin_scope(store, g.who.person))


@bp.route("/cases/<case_id>", methods=["GET"])
@require("admin", "worker", "volunteer")
@bp.response(200, s.CaseDetail)
def get_case(case_id):
    """A case with its history (admins; devices whose scope holds it)."""
    return cases.detail(storage(), case_id, person=g.who.person, role=g.who.role)


@bp.route("/cases/<case_id>/assign", methods=["POST"])
@require("admin")
@bp.arguments(s.AssignIn)
@bp.response(200, s.CaseDetail)
def assign(data, case_id):
    """派单: assign (or reassign) to a worker or volunteer of the case's grid."""
    store = storage()
    return cases.assign(store, case_id, data, by=g.who.person,
                        scope=admin_scope(store, g.who.person))


@bp.route("/cases/<case_id>/cancel", methods=["POST"])
@require("admin")
@bp.arguments(s.CancelIn)
@bp.response(200, s.CaseDetail)
def cancel(data, case_id):
    store = storage()
    return cases.cancel(store, case_id, data["reason"], by=g.who.person,
                        scope=admin_scope(store, g.who.person))


@bp.route("/grids/<grid>/report-code", methods=["POST"])
@require("admin")
@bp.response(201, s.ReportCodeOut)
def report_code(grid):
    """A new public report code for the grid's poster; the old code stops working."""
    store = storage()
    return case_public.new_report_code(store, grid, base_url=public_base(),
                                       scope=admin_scope(store, g.who.person))


@bp.route("/reports/cases", methods=["GET"])
@require("admin")
@bp.arguments(s.ReportQuery, location="query")
@bp.response(200, s.ReportOut)
def report(args):
    """办结率 over the cases received in [from, to) (local dates), a grid with the
    grids under it."""
    store = storage()
    if not admin_scope(store, g.who.person).grid(args["grid"]):  # as an unknown grid
        raise ValidationFailed(fields={"grid": ["no such grid"]})
    return case_report.case_report(store, args["grid"], args["from_"], args["to"])


# --- residents (no token) -------------------------------------------------------


_LIMITS = {"cases.public_report": ("report", "PUBLIC_REPORTS_PER_HOUR"),
           "cases.follow": ("lookup", "PUBLIC_LOOKUPS_PER_HOUR"),
           "cases.rate": ("lookup", "PUBLIC_LOOKUPS_PER_HOUR")}


@bp.before_request
def _count_public_attempts() -> None:
    """Every attempt counts, before its body is checked: a flood of bad reports is
    limited as much as one of good ones."""
    limit = _LIMITS.get(request.endpoint or "")
    if limit is not None:
        case_public.check_rate(storage(), limit[0], client_address(),
                               getattr(settings(), limit[1].lower()))


@bp.route("/public/reports", methods=["POST"])
@bp.arguments(s.PublicReportIn)
@bp.response(201, s.PublicReportOut)
@bp.doc(security=[])
def public_report(data):
    """A resident's report through a grid's code; answers the case id and a receipt."""
    return case_public.report(storage(), data)


@bp.route("/public/reports/<receipt>", methods=["GET"])
@bp.response(200, s.PublicCase)
@bp.doc(security=[])
def follow(receipt):
    return case_public.follow(storage(), receipt)


@bp.route("/public/reports/<receipt>/rating", methods=["POST"])
@bp.arguments(s.RatingIn)
@bp.response(200, s.PublicCase)
@bp.doc(security=[])
def rate(data, receipt):
    return case_public.rate(storage(), signer(), receipt, data)
