"""The community's figures for the dashboard: service hours per month, points issued
and redeemed per month, active volunteers and workers, visits per grid, and the
needs and hazards found most often."""

from __future__ import annotations

import datetime as dt

from primitives import names

from .. import clock
from ..storage import Storage
from . import fieldview, grid_tree
from .community_time import community_zone, utc_bound

MONTHS = 12
ACTIVE_DAYS = 30


def _months(today: dt.date, count: int) -> list[str]:
    year, month = today.year, today.month
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out[::-1]


def figures(store: Storage, community: str | None) -> dict:
    """Everything on the dashboard for one community (every grid when None)."""
    tz = community_zone(store)
    offset = fieldview.utc_offset_minutes(tz)
    today = dt.datetime.now(fieldview.zone(tz)).date()
    months = _months(today, MONTHS)
    since = utc_bound(dt.date.fromisoformat(months[0] + "-01"), tz)
    rows = grid_tree.grid_rows(store)
    if community:
        grids = sorted(store.directory.descendants([community]))
    else:
        grids = [g["id"] for g in rows]
    people = [p for p in store.directory.people()
              if p["active"] and (community is None or p["community"] == community)]
    volunteers = [p["id"] for p in people if p["role"] == "volunteer"]
    all_volunteers = [p["id"] for p in fieldview.volunteers_in(store, grids)]
    shops = [s["id"] for s in store.directory.shops()
             if community is None or s["community"] == community]
    issuers = [g["id"] for g in rows if g["parent"] is None
               and (community is None or g["id"] == community)]

    hours = {m: {"verified": 0, "recorded": 0, "rejected": 0} for m in months}
    for month, status, minutes in store.fielddata.minutes_by_month(all_volunteers, offset, since):
        if month in hours and status in hours[month]:
            hours[month][status] += minutes
    points = {m: {"earn": 0, "redeem": 0} for m in months}
    for month, kind, amount in store.fielddata.points_by_month(
            {"issuance": [names.issuance(c) for c in issuers],
             "shops": [names.shop(s) for s in shops]}, offset, since):
        if month in points:
            points[month][kind] += amount

    recent = clock.iso(clock.now_ms() - ACTIVE_DAYS * 86_400_000)
    counts = store.fielddata.visit_counts(grids)
    by_grid = _roll_up(rows, counts, community)
    return {
        "months": months, "hours": hours, "points": points,
        "people": {"volunteers": len(volunteers),
                   "workers": sum(1 for p in people if p["role"] == "worker"),
                   "active_volunteers": store.fielddata.active_people(
                       "service_logs", "person", all_volunteers, recent),
                   "active_workers": store.fielddata.active_people(
                       "visits", "author", grids, recent)},
        "visits": by_grid, "visits_total": sum(counts.values()),
        "needs": store.fielddata.items_found("needs", grids, start=since, limit=8),
        "hazards": store.fielddata.items_found("hazards", grids, start=since, limit=8),
        "active_days": ACTIVE_DAYS,
    }


def _roll_up(rows: list[dict], counts: dict[str, int], community: str | None
             ) -> list[tuple[str, int]]:
    """Visits per grid one level under the community (or per community), with the
    visits of deeper grids added to their ancestor at that level."""
    parent = {g["id"]: g["parent"] for g in rows}
    name = {g["id"]: g["name"] for g in rows}
    level = {g["id"] for g in rows if (g["parent"] == community if community
                                       else g["parent"] is None)}
    totals: dict[str, int] = dict.fromkeys(sorted(level, key=lambda i: name[i]), 0)
    for grid, n in counts.items():
        node: str | None = grid
        while node is not None and node not in level:
            node = parent.get(node)
        if node is not None:
            totals[node] += n
    return [(name[g], n) for g, n in totals.items()]
