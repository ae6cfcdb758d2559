"""RFC 3339 UTC times ending in ``Z``, the only spelling of time on the wire and in the ledger.

Written with millisecond precision (``2026-11-26T09:30:00.250Z``); read with
up to six fraction digits. Parsing is strict (no offsets, no missing ``Z``)
so that two times compare as instants.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

PATTERN = re.compile(
    r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?Z\Z"
)


def now_ms() -> int:
    """Milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000


def format_ms(ms: int) -> str:
    """The RFC 3339 ``Z`` time of ``ms`` milliseconds since the epoch."""
    dt = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def is_time(text: object) -> bool:
    """Whether ``text`` is an RFC 3339 ``Z`` time that names a real instant."""
    try:
        parse(text)
    except ValueError:
        return False
    return True


def parse(text: object) -> datetime:
    """An aware UTC ``datetime``; ``ValueError`` unless ``text`` is an RFC 3339 ``Z`` time."""
    if not isinstance(text, str) or PATTERN.match(text) is None:
        raise ValueError(f"not an RFC 3339 UTC time ending in Z: {text!r}")
    try:
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"not a valid time: {text!r}") from None


def parse_ms(text: object) -> int:
    """Milliseconds since the epoch of an RFC 3339 ``Z`` time (``ValueError`` otherwise)."""
    dt = parse(text)
    return int(dt.timestamp()) * 1000 + dt.microsecond // 1000
