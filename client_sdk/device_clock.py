"""The device's sense of time: its wall clock, the offset adopted after
``clock_skew``, and its hybrid logical clock, kept in the local store."""

from __future__ import annotations

from collections.abc import Callable

from primitives import times
from sync.hlc import HybridClock

from .store import LocalStore


class DeviceClock:
    """Stamps and times for one enrolled device.

    ``wall_ms``: the device's physical clock (injectable for tests). The HLC's
    state is saved in the store's ``clock`` setting on every change, inside
    whatever transaction the caller holds.
    """

    def __init__(self, store: LocalStore, device_id: str, wall_ms: Callable[[], int], *,
                 fresh: bool = False):
        self.store, self.device_id, self.wall_ms = store, device_id, wall_ms
        state = None if fresh else store.get("clock")
        self.hlc = HybridClock.from_state(state) if state else HybridClock(device_id)
        if fresh:
            self.save()

    @property
    def offset_ms(self) -> int:
        """What is added to the wall clock since the server reported a skew."""
        return self.hlc.offset_ms

    def physical_ms(self) -> int:
        """The wall clock corrected by the adopted offset."""
        return self.wall_ms() + self.hlc.offset_ms

    def now_iso(self) -> str:
        return times.format_ms(self.physical_ms())

    def stamp(self) -> str:
        """A new HLC stamp for a change (saved)."""
        hlc = self.hlc.now(self.physical_ms())
        self.save()
        return hlc

    def receive(self, stamp: str) -> None:
        """Move the HLC past a stamp pulled from the server (saved)."""
        self.hlc.receive(stamp, self.physical_ms())
        self.save()

    def adopt_server_time(self, server_ms: int) -> None:
        """Rewind to the server's time: a new HLC whose offset is the server's
        time minus the wall clock (not saved until the caller stamps or saves)."""
        self.hlc = HybridClock(self.device_id, offset_ms=server_ms - self.wall_ms())

    def save(self) -> None:
        self.store.put("clock", self.hlc.state())
