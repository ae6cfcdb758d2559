"""Hybrid logical clock stamps (docs/protocol.md, Sync → ``hlc``).

A stamp is ``"<wall ms, 15 digits>:<counter, 5 digits>:<device id>"``; the
fixed widths make plain string order clock order, with the device id breaking
ties. ``HybridClock`` is the send/receive algorithm of Kulkarni et al.,
"Logical Physical Clocks" (2014). Counter overflow moves the wall part on by
one millisecond instead of widening the counter, so every stamp stays
well-formed and still greater than the one before.
"""

from __future__ import annotations

import re
import time
from typing import Any

from .errors import ChangeRejected

MAX_WALL_MS = 10**15 - 1
MAX_COUNTER = 99_999
#: How far ahead of server time a stamp may be (docs/protocol.md: 5 minutes).
MAX_SKEW_MS = 300_000

_DEVICE = r"[A-Za-z0-9_-]{1,64}"
# [0-9], not \d (which matches other scripts' digits); \A..\Z, not ^..$ (which
# lets a trailing newline through), so re.match and fullmatch agree.
HLC_PATTERN = re.compile(rf"\A([0-9]{{15}}):([0-9]{{5}}):({_DEVICE})\Z")
_DEVICE_PATTERN = re.compile(rf"\A{_DEVICE}\Z")


def format_hlc(wall_ms: int, counter: int, device: str) -> str:
    """Render a stamp; ``ValueError`` if a part is out of range."""
    if not 0 <= wall_ms <= MAX_WALL_MS or not 0 <= counter <= MAX_COUNTER:
        raise ValueError(f"hlc out of range: wall {wall_ms}, counter {counter}")
    if not isinstance(device, str) or not _DEVICE_PATTERN.match(device):
        raise ValueError(f"not a device id: {device!r}")
    return f"{wall_ms:015d}:{counter:05d}:{device}"


def parse_hlc(stamp: str) -> tuple[int, int, str]:
    """Split a stamp into ``(wall_ms, counter, device)``; ``ValueError`` if malformed."""
    match = HLC_PATTERN.match(stamp) if isinstance(stamp, str) else None
    if match is None:
        raise ValueError(f"not an hlc stamp: {stamp!r}")
    return int(match[1]), int(match[2]), match[3]


def too_far_ahead(hlc: str, server_now_ms: int, max_skew_ms: int = MAX_SKEW_MS) -> bool:
    """True when the stamp's wall time is more than ``max_skew_ms`` past ``server_now_ms``."""
    return parse_hlc(hlc)[0] > server_now_ms + max_skew_ms


def check_stamp(
    hlc: str, device_id: str, server_now_ms: int, max_skew_ms: int = MAX_SKEW_MS
) -> None:
    """The server's two checks on a pushed change's stamp, as rejections.

    A stamp naming another device → ``validation``; one too far ahead →
    ``clock_skew`` (the client then adopts the server's offset and re-stamps).
    """
    try:
        wall_ms, _, device = parse_hlc(hlc)
    except ValueError:
        raise ChangeRejected(
            "validation", "malformed hlc", {"hlc": ["Not an hlc stamp."]}
        ) from None
    if device != device_id:
        raise ChangeRejected(
            "validation", "hlc names another device",
            {"hlc": ["Must end with the sender's device id."]},
        )
    if wall_ms > server_now_ms + max_skew_ms:
        raise ChangeRejected(
            "clock_skew", f"stamp is more than {max_skew_ms // 1000} s ahead of server time: "
            "fix the device clock and resend with a new op id"
        )


class HybridClock:
    """One device's hybrid logical clock.

    Physical time is ``time.time_ns() // 10**6 + offset_ms`` unless a test
    passes ``physical_ms``. Persist ``state()`` after stamping and restore it
    with ``from_state`` so stamps stay increasing across restarts even if the
    device's clock has gone backwards meanwhile.
    """

    def __init__(self, device_id: str, wall_ms: int = 0, counter: int = 0, offset_ms: int = 0):
        format_hlc(wall_ms, counter, device_id)  # validates every part
        self.device_id = device_id
        self.wall_ms = wall_ms
        self.counter = counter
        self.offset_ms = offset_ms

    def _physical(self, physical_ms: int | None) -> int:
        if physical_ms is not None:
            return physical_ms
        return time.time_ns() // 1_000_000 + self.offset_ms

    def _advance(self, wall_ms: int, counter: int) -> str:
        if counter > MAX_COUNTER:
            wall_ms, counter = wall_ms + 1, 0
        stamp = format_hlc(wall_ms, counter, self.device_id)
        self.wall_ms, self.counter = wall_ms, counter
        return stamp

    def now(self, physical_ms: int | None = None) -> str:
        """A new stamp for a local event or a send, greater than every earlier one."""
        physical = self._physical(physical_ms)
        if physical > self.wall_ms:
            return self._advance(physical, 0)
        return self._advance(self.wall_ms, self.counter + 1)

    def send(self, physical_ms: int | None = None) -> str:
        """The paper's send event: the same as ``now``."""
        return self.now(physical_ms)

    def receive(self, remote: str, physical_ms: int | None = None) -> str:
        """Merge a stamp seen from elsewhere; returns the receive event's stamp.

        The result is greater than both ``remote`` and every earlier local
        stamp. ``ValueError`` if ``remote`` is malformed. Callers should refuse
        (not receive) stamps far ahead of trusted time: the clock cannot
        run backwards afterwards.
        """
        remote_wall, remote_counter, _ = parse_hlc(remote)
        physical = self._physical(physical_ms)
        wall = max(self.wall_ms, remote_wall, physical)
        if wall == self.wall_ms == remote_wall:
            counter = max(self.counter, remote_counter) + 1
        elif wall == self.wall_ms:
            counter = self.counter + 1
        elif wall == remote_wall:
            counter = remote_counter + 1
        else:
            counter = 0
        return self._advance(wall, counter)

    def set_offset(self, offset_ms: int) -> None:
        """Adopt a correction to physical time (e.g. after ``clock_skew``)."""
        self.offset_ms = offset_ms

    def state(self) -> dict[str, Any]:
        """What to persist: restoring it keeps stamps monotonic."""
        return {
            "device": self.device_id,
            "wall_ms": self.wall_ms,
            "counter": self.counter,
            "offset_ms": self.offset_ms,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> HybridClock:
        return cls(state["device"], state["wall_ms"], state["counter"], state["offset_ms"])
