"""Field data read back for the office: filters as people type them (a grid, local
dates, a worker, an outcome, a need or hazard) turned into storage queries.

Dates are calendar days in the earning rules' time zone (Asia/Shanghai when no
rules are set); ``to`` is inclusive for people and made exclusive here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ledger.rules import zone

from ..errors import NotFound, ValidationFailed
from ..storage import Storage
from .admin_scope import AdminScope
from .community_time import community_zone, utc_bound

OUTCOMES = ("met", "not_home", "refused")
# Days a filter may name: each has a local midnight before and after it in UTC.
FIRST_DAY, LAST_DAY = dt.date(1970, 1, 1), dt.date(9998, 12, 31)


def parse_day(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise ValidationFailed(fields={"date": ["not a date"]}) from None


def utc_offset_minutes(tz: str) -> int:
    """The zone's current offset from UTC, for grouping by local month in SQL."""
    offset = dt.datetime.now(zone(tz)).utcoffset() or dt.timedelta()
    return int(offset.total_seconds() // 60)


@dataclass
class Filters:
    """What the office asked for. ``grids`` is the reach the rows come from: no grid
    until ``filters`` has checked the request against the admin's scope (so filters that
    failed that check read nothing), None (every grid) only when that scope is all."""

    grid: str = ""
    start: dt.date | None = None
    end: dt.date | None = None
    worker: str = ""
    outcome: str = ""
    need: str = ""
    hazard: str = ""
    status: str = ""
    q: str = ""
    grids: list[str] | None = field(default_factory=list, repr=False)

    def bounds(self, tz: str) -> tuple[str | None, str | None]:
        start = utc_bound(self.start, tz) if self.start else None
        end = utc_bound(self.end + dt.timedelta(days=1), tz) if self.end else None
        return start, end


def filters(store: Storage, args: dict[str, str], scope: AdminScope) -> Filters:
    """Filters from query arguments; unknown grids, bad dates and outcomes are refused.
    ``grids`` covers the admin's reach only: a grid out of it is an unknown one, and
    no grid means every grid within it."""
    out = Filters(grid=args.get("grid", "")[:64], worker=args.get("worker", "")[:64],
                  outcome=args.get("outcome", "")[:20], need=args.get("need", "")[:100].strip(),
                  hazard=args.get("hazard", "")[:100].strip(),
                  status=args.get("status", "")[:20], q=args.get("q", "")[:100].strip())
    try:
        out.start, out.end = parse_day(args.get("from")), parse_day(args.get("to"))
    except ValidationFailed:
        raise ValidationFailed(fields={"from": ["Enter dates as YYYY-MM-DD."]}) from None
    for day in (out.start, out.end):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise ValidationFailed(fields={"from": ["Enter dates from 1970 to 9998."]})
    if out.start and out.end and out.start > out.end:
        raise ValidationFailed(fields={"from": ["The start date is after the end date."]})
    if out.outcome and out.outcome not in OUTCOMES:
        raise ValidationFailed(fields={"outcome": ["unknown outcome"]})
    try:
        out.grids = scope.under(store, out.grid or None)
    except NotFound:
        raise ValidationFailed(fields={"grid": ["no such grid"]}) from None
    return out


def visits(store: Storage, f: Filters, *, limit: int = 100, offset: int = 0
           ) -> tuple[list[dict], int]:
    start, end = f.bounds(community_zone(store))
    return store.fielddata.visits(grids=f.grids, start=start, end=end, worker=f.worker or None,
                                  outcome=f.outcome or None, need=f.need or None,
                                  hazard=f.hazard or None, limit=limit, offset=offset)


def volunteers_in(store: Storage, grids: list[str] | None) -> list[dict]:
    """Volunteers holding any of these grids (every volunteer when None)."""
    people = [p for p in store.directory.people() if p["role"] == "volunteer"]
    if grids is None:
        return people
    wanted = set(grids)
    return [p for p in people if wanted.intersection(p["grids"])]


def hours(store: Storage, f: Filters) -> list[dict]:
    """One row per volunteer: minutes, logs and points by status (recorded, verified,
    rejected), volunteers without logs included, most verified hours first."""
    people = volunteers_in(store, f.grids)
    start, end = f.bounds(community_zone(store))
    rows = {p["id"]: {"person": p, "recorded": 0, "verified": 0, "rejected": 0, "logs": 0,
                      "points": 0} for p in people}
    for r in store.fielddata.hours(volunteers=list(rows), start=start, end=end):
        row = rows.get(r["volunteer"])
        if row is None or r["status"] not in ("recorded", "verified", "rejected"):
            continue
        row[r["status"]] += r["minutes"]
        row["logs"] += r["logs"]
        row["points"] += r["points"]
    out = list(rows.values())
    if f.status in ("recorded", "verified", "rejected"):
        out = [r for r in out if r[f.status]]
    out.sort(key=lambda r: (-r["verified"], -r["recorded"], r["person"]["name"]))  # type: ignore[index, operator]
    return out


def workers(store: Storage) -> list[dict]:
    return [p for p in store.directory.people() if p["role"] == "worker"]
