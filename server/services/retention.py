"""Retention: purge deletes older than the window, so old cursors get 410, and
rejected ops older than the same window.

The window (``TOMBSTONE_RETENTION_DAYS``, default 180) must be longer than
any device is allowed to stay offline. A device whose cursor predates a
purged tombstone could miss that delete, so its next pull answers 410
``cursor_expired`` and it re-syncs from scratch instead of keeping a ghost.

Rejected ops are remembered so that a device resending one gets the same
answer (``duplicate``); past the window nobody resends them, and keeping
them forever would let one device fill the disk with junk it pushes. Ops
that applied are the evidence behind records and ledger entries: kept.
"""

from __future__ import annotations

from .. import clock
from ..storage import Storage

DAY_MS = 86_400_000


def purge_tombstones(store: Storage, retention_days: int) -> int:
    """Delete tombstones (and scope exits) older than the window; returns how many."""
    before = clock.iso(clock.now_ms() - retention_days * DAY_MS)
    with store.transaction():
        return store.records.purge_tombstones(before)


def purge_rejected_ops(store: Storage, retention_days: int) -> int:
    """Delete rejected ops received before the window; returns how many."""
    before = clock.iso(clock.now_ms() - retention_days * DAY_MS)
    with store.transaction():
        return store.records.purge_rejected_ops(before)
