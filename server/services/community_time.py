"""The community's calendar: the time zone its days are counted in (the earning
rules', Asia/Shanghai until rules are set) and the server times where its days begin.

Field-data filters, the dashboard, the 办结率 report, case deadlines and a volunteer's
monthly figures all count days this one way.
"""

from __future__ import annotations

import datetime as dt

from ledger.rules import local_date, zone

from .. import clock
from ..storage import Storage

DEFAULT_ZONE = "Asia/Shanghai"


def zone_of(rules: dict | None) -> str:
    """The time zone named by a rules body (the default when there is none)."""
    return str((rules or {}).get("timezone") or DEFAULT_ZONE)


def community_zone(store: Storage) -> str:
    found = store.directory.rules()
    return zone_of(found[0] if found else None)


def utc_bound(day: dt.date, tz: str) -> str:
    """Local midnight starting ``day`` as a server time (RFC 3339 UTC with milliseconds,
    as records and cases store times, so strings compare as times)."""
    local = dt.datetime.combine(day, dt.time(), tzinfo=zone(tz))
    return clock.iso(int(local.timestamp() * 1000))


def local_day(created_at: str, tz: str) -> str:
    """The local date (YYYY-MM-DD) of a server time in ``tz``."""
    return local_date(created_at, tz).isoformat()
