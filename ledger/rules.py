"""Earning rules: how many points a verified service log earns.

The rules object is the body of `PUT /api/v1/rules`; validating it is the
server's job. Points for a log = floor(minutes * points_per_hour / 60); the
daily cap counts points per volunteer per local date of `started_at` in the
rules' time zone, awarding up to the cap.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from primitives.canonical import canonical

from .errors import LedgerError, RulesError
from .formats import is_int, parse_time

# Used only when the system has no time zone database and the `tzdata`
# package is absent. China has kept UTC+8 without daylight saving since 1991.
_FIXED_ZONES: dict[str, dt.tzinfo] = {
    "Asia/Shanghai": dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai"),
}


def rules_hash(rules_obj: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical form: the `rules` field of an earn entry."""
    return hashlib.sha256(canonical(rules_obj)).hexdigest()


def points_for(minutes: int, points_per_hour: int) -> int:
    """floor(minutes * points_per_hour / 60), in integers only."""
    _require_count(minutes, "minutes")
    _require_count(points_per_hour, "points_per_hour")
    return minutes * points_per_hour // 60


def zone(name: str) -> dt.tzinfo:
    """The named IANA time zone, or RulesError if it cannot be had."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name in _FIXED_ZONES:
            return _FIXED_ZONES[name]
        raise RulesError(f"time zone {name!r} not found (install the tzdata package?)") from None


def local_date(started_at: str, timezone: str) -> dt.date:
    """The calendar date of UTC time `started_at` in `timezone`."""
    return parse_time(started_at).astimezone(zone(timezone)).date()


def capped(points: int, already_awarded_today: int, daily_cap: int | None) -> int:
    """Points to award given what the volunteer already earned that local day.

    Awards up to the cap, never below zero; `daily_cap` None means no cap.
    """
    _require_count(points, "points")
    _require_count(already_awarded_today, "already_awarded_today")
    if daily_cap is None:
        return points
    _require_count(daily_cap, "daily_cap")
    return max(0, min(points, daily_cap - already_awarded_today))


def price_log(
    rules_obj: Mapping[str, Any], *, activity: str, minutes: int, already_awarded_today: int
) -> int:
    """Points a log earns under `rules_obj`, after the daily cap.

    `already_awarded_today` is the caller's sum of this volunteer's earn
    entries on the log's local date (see `local_date`).
    """
    activities = rules_obj["activities"]
    if activity not in activities:
        raise RulesError(f"activity {activity!r} is not in the rules")
    points = points_for(minutes, activities[activity]["points_per_hour"])
    return capped(points, already_awarded_today, rules_obj.get("daily_cap"))


def _require_count(value: Any, name: str) -> None:
    if not is_int(value) or value < 0:
        raise LedgerError(f"{name} must be an integer >= 0, got {value!r}")
