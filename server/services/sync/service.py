"""``POST /api/v1/sync``: push the device's changes, then pull its scope."""

from __future__ import annotations

from ... import clock
from ...auth import Principal
from ...errors import CursorExpired, Forbidden
from ...keystore import Signer
from ...storage import Storage
from . import cursors
from .pull import pull
from .push import Push
from .scope import device_scope


def sync(store: Storage, who: Principal, request: dict, *, signer: Signer, max_skew_ms: int,
         pull_max_bytes: int) -> dict:
    if who.device is None or who.role not in ("worker", "volunteer"):
        raise Forbidden("only worker and volunteer devices sync")
    scope = device_scope(store, who)
    keys = cursors.read_keys(store)  # once, for the cursor checked and the one handed out
    cursor = cursors.check(store, request["cursor"], who.device, keys)
    results = []
    if request["changes"]:
        push = Push(store, who, scope, signer=signer, max_skew_ms=max_skew_ms)
        checked = [push.check(raw) for raw in request["changes"]]
        with store.transaction(deferred=True):
            results = push.run(checked)
    try:
        page = pull(store, device=who.device, scope=scope, cursor=cursor,
                    limit=request["limit"], max_bytes=pull_max_bytes, keys=keys)
    except CursorExpired:
        if not request["changes"]:
            raise
        # A purge committed after the check, and this push applied: its results go
        # back (a 410 says nothing was applied), with no records and the device's own
        # cursor, and the next request is checked afresh and gets the 410.
        page = {"changes": [], "evict": [], "cursor": request["cursor"], "has_more": True}
    if not request["changes"] and not page["has_more"]:
        # Only a "last seen" stamp: losing it to a power cut is harmless, so this
        # commit skips the fsync that acknowledged changes get; and a pull in many
        # pages stamps once, on its last page, not one write per page.
        with store.relaxed_durability(), store.transaction():
            store.access.record_sync(who.device, at=clock.iso(), applied=0, rejected=0)
    return {"results": results, **page, "server_time": clock.iso()}
