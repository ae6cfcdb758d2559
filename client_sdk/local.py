"""What the field CLI needs from the phone's own data, without the network:
households named by a short id (a unique start or end of the id) or by their
address, times in the rules' time zone, and the volunteers and activities a log
may name.

Pure functions over rows the client already holds, so they work offline.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidInput

DEFAULT_TZ = "Asia/Shanghai"
MIN_PREFIX = 4
SHORT = 6
_LOCAL = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")
_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


def timezone_of(rules: dict[str, Any] | None) -> ZoneInfo:
    """The rules' time zone (what "09:00" means in this community), else Shanghai."""
    name = (rules or {}).get("timezone") or DEFAULT_TZ
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZ)


def parse_when(text: str, tz: ZoneInfo) -> str:
    """An RFC 3339 UTC time for ``text``: either already UTC (``2026-12-06T01:00:00Z``)
    or a local time in ``tz`` (``2026-12-06 09:00``, seconds optional)."""
    text = text.strip()
    if _UTC.fullmatch(text):
        return text
    found = _LOCAL.fullmatch(text)
    if found is None:
        raise InvalidInput(f"cannot read the time {text!r}: write it as local time "
                           f"\"2026-12-06 09:00\" ({tz.key}) or UTC \"2026-12-06T01:00:00Z\"")
    day, hour, minute, second = found.groups()
    try:
        local = datetime.strptime(f"{day} {int(hour):02d}:{minute}:{second or '00'}",
                                  "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz)
    except ValueError:
        raise InvalidInput(f"no such date or time: {text!r}") from None
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def show_when(stamp: Any, tz: ZoneInfo) -> str:
    """``2026-12-06 09:00 (01:00 UTC)`` for an RFC 3339 UTC time; as given otherwise."""
    if not isinstance(stamp, str):
        return "-"
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    local = moment.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} ({moment.astimezone(UTC):%H:%M} UTC)"


def short_id(record_id: str) -> str:
    """What lists show to type back: the last six characters of the id (the random
    part of a UUIDv7; its first characters are a time stamp, shared by records made
    the same day)."""
    return record_id[-SHORT:]


def find_household(rows: list[dict[str, Any]], ref: str) -> str:
    """The id of the one household ``ref`` names: its id, a unique start or end of
    the id (at least four characters; lists show the last six), or words of its
    address (all of them, any case)."""
    ref = ref.strip()
    if any(r["id"] == ref for r in rows):
        return ref
    if len(ref) >= MIN_PREFIX:
        part = ref.lower()
        by_id = [r for r in rows if r["id"].startswith(part) or r["id"].endswith(part)]
        if len(by_id) == 1:
            return str(by_id[0]["id"])
        if len(by_id) > 1:
            raise InvalidInput(_ambiguous(ref, by_id))
    words = ref.casefold().split()
    by_address = [r for r in rows if words and all(
        w in str(r["fields"].get("address") or "").casefold() for w in words)]
    if len(by_address) == 1:
        return str(by_address[0]["id"])
    if by_address:
        raise InvalidInput(_ambiguous(ref, by_address))
    raise InvalidInput(f"no household on this phone matches {ref!r} (by id, the start or end "
                       f"of an id, {MIN_PREFIX}+ characters, or address words); "
                       "`gridsync field households` lists them")


def _ambiguous(ref: str, rows: list[dict[str, Any]]) -> str:
    shown = "\n".join(f"  {short_id(r['id'])}  {r['fields'].get('address') or ''}"
                      for r in rows[:10])
    more = f"\n  … and {len(rows) - 10} more" if len(rows) > 10 else ""
    return f"{len(rows)} households match {ref!r}; give more of the id or address:\n{shown}{more}"


def volunteers(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The volunteers this phone knows (its pulled ``people`` records), by name."""
    rows = [p for p in people if p["fields"].get("role") == "volunteer" and not p["deleted"]]
    return sorted(rows, key=lambda p: (str(p["fields"].get("name") or ""), p["id"]))


def activities(rules: dict[str, Any] | None) -> list[tuple[str, str, int]]:
    """(key, display name, points per hour) of the rules' activities."""
    out = []
    for key, spec in sorted(((rules or {}).get("activities") or {}).items()):
        spec = spec if isinstance(spec, dict) else {}
        out.append((key, str(spec.get("name") or key), int(spec.get("points_per_hour") or 0)))
    return out


def check_log(people: list[dict[str, Any]], rules: dict[str, Any] | None,
              volunteer: str, activity: str) -> None:
    """Refuse a log naming a volunteer or an activity this phone knows not to exist
    (checks what the phone holds; with no people or no rules yet, sync decides)."""
    known = volunteers(people)
    if known and volunteer not in {p["id"] for p in known}:
        names = ", ".join(f"{p['id']} ({p['fields'].get('name') or ''})" for p in known[:10])
        raise InvalidInput(f"no volunteer {volunteer!r} in your grids on this phone. "
                           f"Volunteers: {names}. (`gridsync field volunteers` lists them)")
    acts = activities(rules)
    if acts and activity not in {key for key, _, _ in acts}:
        names = ", ".join(f"{key} ({name})" for key, name, _ in acts)
        raise InvalidInput(f"no activity {activity!r} in the rules. Activities: {names}. "
                           "(`gridsync field activities` lists them)")
