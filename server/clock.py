"""Server time in one place, so tests can move it (formats: ``primitives.times``)."""

from __future__ import annotations

from primitives import times


def now_ms() -> int:
    return times.now_ms()


def iso(ms: int | None = None) -> str:
    """RFC 3339 UTC with millisecond precision and a trailing Z (now, or at ``ms``)."""
    return times.format_ms(now_ms() if ms is None else ms)


def parse_iso(text: str) -> int:
    """Milliseconds since the epoch of an RFC 3339 'Z' time (``ValueError`` otherwise)."""
    return times.parse_ms(text)
