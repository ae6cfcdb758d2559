"""What the field recorded, read back per grid with filters: households (full-text
search), one household with its visits, visits, needs and hazards, service hours."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from ..errors import ValidationFailed
from ..services import fieldview, grid_tree
from ..services.community_time import community_zone
from ..state import storage
from . import forms
from .blueprint import bp
from .errors import PageNotFound
from .session import my_scope, signed_in

PAGE = 100


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return max(1, min(int(raw), 100_000)) if raw.isdigit() else 1


def _common(store: Any) -> dict:
    grids = my_scope().grids(grid_tree.grid_rows(store))
    people = my_scope().people(store.directory.people())
    return {"grids": grids, "grid_names": {g["id"]: g["path"] for g in grids},
            "person_names": {p["id"]: p["name"] for p in people},
            "workers": [p for p in people if p["role"] == "worker"]}


def _filters(store: Any) -> tuple[fieldview.Filters, dict[str, str]]:
    try:
        return fieldview.filters(store, request.args.to_dict(), my_scope()), {}
    except ValidationFailed as exc:
        return fieldview.Filters(), forms.service_errors(exc)


def _page(template: str, store: Any, errors: dict, **context: Any) -> Any:
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(template, args=args, errors=errors, **_common(store),
                           **context), (400 if errors else 200)


@bp.route("/admin/households", methods=["GET"])
@signed_in("admin")
def admin_households() -> Any:
    store = storage()
    f, errors = _filters(store)
    page = _page_number()
    with store.snapshot():
        found, total = ([], 0) if errors else store.fielddata.search_households(
            f.q, f.grids, limit=PAGE, offset=(page - 1) * PAGE)
    return _page("admin/households.html", store, errors, f=f, households=found, total=total,
                 page=page, pages=max(1, -(-total // PAGE)))


@bp.route("/admin/households/<household_id>", methods=["GET"])
@signed_in("admin")
def admin_household(household_id: str) -> Any:
    store = storage()
    found = store.records.get("households", household_id[:64])
    if found is None or not my_scope().record(store, "households", household_id[:64]):
        raise PageNotFound()
    state = found.state
    found, total = store.fielddata.visits(household=state["id"], limit=500)  # type: ignore[assignment]
    return _page("admin/household.html", store, {}, household=state, visits=found,
                 total=total)


@bp.route("/admin/visits", methods=["GET"])
@signed_in("admin")
def admin_visits() -> Any:
    store = storage()
    f, errors = _filters(store)
    page = _page_number()
    found, total = ([], 0) if errors else fieldview.visits(
        store, f, limit=PAGE, offset=(page - 1) * PAGE)
    return _page("admin/visits.html", store, errors, f=f, visits=found, total=total, page=page,
                 pages=max(1, -(-total // PAGE)), outcomes=fieldview.OUTCOMES)


@bp.route("/admin/needs", methods=["GET"])
@signed_in("admin")
def admin_needs() -> Any:
    """Visits that noted a need or a hazard, newest first, and the most frequent ones."""
    store = storage()
    f, errors = _filters(store)
    kind = request.args.get("kind", "hazards")
    kind = kind if kind in ("needs", "hazards") else "hazards"
    if kind == "needs":
        f.need = f.need or "*"
    else:
        f.hazard = f.hazard or "*"
    page = _page_number()
    found, total = ([], 0) if errors else fieldview.visits(
        store, f, limit=PAGE, offset=(page - 1) * PAGE)
    start, end = f.bounds(community_zone(store))
    all_grids = f.grids if f.grids is not None else [g["id"] for g in store.directory.grids()]
    top = [] if errors else store.fielddata.items_found(kind, all_grids, start=start, end=end,
                                                        limit=12)
    return _page("admin/needs.html", store, errors, f=f, kind=kind, visits=found, total=total,
                 page=page, pages=max(1, -(-total // PAGE)), top=top)


@bp.route("/admin/hours", methods=["GET"])
@signed_in("admin")
def admin_hours() -> Any:
    store = storage()
    f, errors = _filters(store)
    rows = [] if errors else fieldview.hours(store, f)
    totals = {k: sum(r[k] for r in rows) for k in ("recorded", "verified", "rejected", "logs",
                                                   "points")}
    return _page("admin/hours.html", store, errors, f=f, rows=rows, totals=totals)
