"""The 办结率 report: how well a community (or a grid) answers its cases.

Over the cases *received* (``created_at``) in a date range, local in the
rules' time zone: how many, how many closed, cancelled, still open, overdue;
the closure rate ⌊10000 × closed / (received − cancelled)⌋ in basis points;
satisfaction ⌊10000 × ratings of 4 or 5 / rated⌋; the median hours from
received to closed (the lower middle for an even count); ratings and
categories. The counting is done as cases change: the case index keeps a
tally per community, grid and local day of receipt (``CaseStore.index``),
so a report adds up one small row per grid and day (``report_groups``) and
counts the few open cases past due: a million cases take well under a
second.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from .. import clock
from ..errors import ValidationFailed
from ..storage import Storage
from .community_time import community_zone, local_day

FINAL = ("closed", "cancelled")


def lower_median(histogram: Counter[int]) -> int | None:
    total = sum(histogram.values())
    if not total:
        return None
    rank = (total - 1) // 2  # 0-based: the lower middle for an even count
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen > rank:
            return value
    raise AssertionError("unreachable")


def ensure_tally(store: Storage) -> None:
    """Build the tally on first use, and again when the rules' time zone changed."""
    tz = community_zone(store)
    if store.cases.tally_zone() != tz:
        with store.transaction():
            if store.cases.tally_zone() != tz:
                store.cases.rebuild_tally(tz, lambda created_at: local_day(created_at, tz))


def case_report(store: Storage, grid: str, start: dt.date, end: dt.date) -> dict:
    if end <= start:
        raise ValidationFailed(fields={"to": ["must be after from"]})
    if store.directory.grid(grid) is None:
        raise ValidationFailed(fields={"grid": ["no such grid"]})
    ensure_tally(store)
    with store.snapshot():
        row = store.directory.grid(grid)
        assert row is not None
        grids = None if row["parent"] is None else sorted(store.directory.descendants([grid]))
        span = {"grids": grids, "community": row["community"], "start": start.isoformat(),
                "end": end.isoformat()}
        groups = store.cases.report_groups(**span)
        overdue = store.cases.overdue(**span, now=clock.iso())
    return summarise(groups, overdue, grid=grid, start=start, end=end)


def summarise(groups: dict[str, dict], overdue: int, *, grid: str, start: dt.date,
              end: dt.date) -> dict:
    """The report from the tally's counts (``CaseStore.report_groups``)."""
    received = closed = cancelled = 0
    ratings = dict.fromkeys(("1", "2", "3", "4", "5"), 0)
    by_category: dict[str, dict[str, int]] = {}
    for (category, status), n in groups["status"].items():
        received += n
        cat = by_category.setdefault(category, {"received": 0, "closed": 0})
        cat["received"] += n
        if status == "closed":
            closed += n
            cat["closed"] += n
        elif status == "cancelled":
            cancelled += n
    for rating, n in groups["rating"].items():
        if str(rating) in ratings:
            ratings[str(rating)] += n
    hours: Counter[int] = Counter(groups["hours"])
    counted = received - cancelled
    rated = sum(ratings.values())
    return {
        "grid": grid, "from": start.isoformat(), "to": end.isoformat(),
        "received": received, "closed": closed, "cancelled": cancelled,
        "open": received - closed - cancelled, "overdue": overdue,
        "closure_rate_bp": 10000 * closed // counted if counted > 0 else 0,
        "satisfaction_bp": 10000 * (ratings["4"] + ratings["5"]) // rated if rated else 0,
        "median_hours_to_close": lower_median(hours),
        "ratings": ratings, "by_category": dict(sorted(by_category.items())),
    }
