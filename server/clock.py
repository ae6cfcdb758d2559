"""Server time in one place, so tests can move it."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso(ms: int | None = None) -> str:
    """RFC 3339 UTC with millisecond precision and a trailing Z."""
    ms = now_ms() if ms is None else ms
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_iso(text: str) -> int:
    """Milliseconds since the epoch of an RFC 3339 'Z' string."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(dt.timestamp() * 1000)
