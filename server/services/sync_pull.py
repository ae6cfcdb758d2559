"""Pulling: current record states in the device's scope since its cursor.

Pages are bounded by ``limit`` records and by bytes. The cursor records the
seq pulled up to and the grids it was issued under: when the person's grids
grew since, the pull starts again from seq 0 so the newly visible records
come (devices dedupe by id and version); when they shrank, ``evict`` names
what is no longer visible. Records that left a grid (a household moved, a
volunteer moved) are evicted through ``scope_exits``.
"""

from __future__ import annotations

import json

from sync.cursor import Cursor, decode_cursor, encode_cursor
from sync.errors import BadCursor
from sync.merge import record_view

from ..errors import CursorExpired, ValidationFailed
from ..storage import Storage
from .sync_scope import Scope, scope_for


def read_cursor(text: str | None, device: str) -> Cursor | None:
    if text is None:
        return None
    try:
        return decode_cursor(text, device)
    except BadCursor as exc:
        raise ValidationFailed(str(exc), fields={"cursor": [str(exc)]}) from None


def check_cursor(store: Storage, text: str | None, device: str) -> Cursor | None:
    """Decode the cursor and refuse an expired one — before anything is pushed,
    so that a 400 or 410 answer has changed nothing."""
    cursor = read_cursor(text, device)
    if cursor is not None and cursor.seq and cursor.seq < store.records.purged_seq():
        raise CursorExpired()
    return cursor


def _scope_change(store: Storage, cursor: Cursor, scope: Scope) -> tuple[int, list[dict]]:
    """(seq to pull after, evictions) given the scope the cursor was issued under."""
    old_grids = list(cursor.scope) if not isinstance(cursor.scope, str) else []
    if tuple(sorted(old_grids)) == scope.own_grids:
        return cursor.seq, []
    old = scope_for(store, scope.person, scope.role, old_grids)
    evict: list[dict] = []
    if not (old.grids <= scope.grids and old.people <= scope.people):
        now = set(store.records.in_scope_ids(**scope.query_args()))
        evict = [{"collection": c, "id": i}
                 for c, i in store.records.in_scope_ids(**old.query_args()) if (c, i) not in now]
    grew = not (scope.grids <= old.grids and scope.people <= old.people)
    return (0 if grew else cursor.seq), evict


def pull(store: Storage, *, device: str, scope: Scope, cursor: Cursor | None, limit: int,
         max_bytes: int) -> dict:
    with store.snapshot():
        after, evict = (0, []) if cursor is None else _scope_change(store, cursor, scope)
        args = scope.query_args()
        rows = store.records.pull(after=after, upto=None, limit=limit + 1, **args)
        top = store.records.last_seq()
        changes, size, last = [], 0, after
        for seq, state in rows[:limit]:
            view = record_view(state)
            size += len(json.dumps(view, ensure_ascii=False))
            if changes and size > max_bytes:
                break
            changes.append(view)
            last = seq
        has_more = len(changes) < len(rows)
        upto = last if has_more else max(top, after)
        if after < upto:
            visible = {(c["collection"], c["id"]) for c in changes}
            for collection, id in store.records.exits(after=after, upto=upto,
                                                      grids=args["grids"]):
                if (collection, id) not in visible and not _still_visible(
                        store, scope, collection, id):
                    evict.append({"collection": collection, "id": id})
    new_cursor = encode_cursor(Cursor(device=device, seq=upto, scope=scope.own_grids))
    return {"changes": changes, "evict": evict, "cursor": new_cursor, "has_more": has_more}


def _still_visible(store: Storage, scope: Scope, collection: str, id: str) -> bool:
    state = store.records.get(collection, id)
    if state is None:
        return False
    grid, person, author = state["_scope"].values()
    return (grid in scope.grids or person in scope.people
            or (collection == "visits" and author == scope.author and author != ""))
