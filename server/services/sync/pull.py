"""Pulling: current record states in the device's scope since its cursor.

Pages are bounded by ``limit`` records and by bytes. The cursor records the
seq pulled up to and the grids it was issued under: when the person's grids
grew since, the pull starts again from seq 0 so the newly visible records
come (devices dedupe by id and version); when they shrank, ``evict`` names
what is no longer visible. Records that left a grid (a household moved, a
volunteer moved) are evicted through ``scope_exits``.
"""

from __future__ import annotations

import orjson

from sync.cursor import Cursor

from ...storage import Storage
from . import cursors
from .scope import Scope, scope_for


def _scope_change(store: Storage, cursor: Cursor, scope: Scope) -> tuple[int, list[dict]]:
    """(seq to pull after, evictions) given the scope the cursor was issued under."""
    old_grids = list(cursor.scope)
    if tuple(sorted(old_grids)) == scope.own_grids:
        return cursor.seq, []
    old = scope_for(store, scope.person, scope.role, old_grids)
    evict: list[dict] = []
    if not (old.grids <= scope.grids and old.people <= scope.people
            and old.wish_grids <= scope.wish_grids):
        now = set(store.records.in_scope_ids(**scope.query_args()))
        evict = [{"collection": c, "id": i}
                 for c, i in store.records.in_scope_ids(**old.query_args()) if (c, i) not in now]
    grew = not (scope.grids <= old.grids and scope.people <= old.people
                and scope.wish_grids <= old.wish_grids)
    return (0 if grew else cursor.seq), evict


def pull(store: Storage, *, device: str, scope: Scope, cursor: Cursor | None, limit: int,
         max_bytes: int) -> dict:
    """One page. ``changes`` holds ``orjson.Fragment`` record views (JSON built by
    the storage layer), to be serialised with orjson."""
    with store.snapshot():
        after, evict = (0, []) if cursor is None else _scope_change(store, cursor, scope)
        args = scope.query_args()
        rows = store.records.pull(after=after, limit=limit + 1, **args)
        top = store.records.last_seq()
        changes: list[orjson.Fragment] = []
        visible: set[tuple[str, str]] = set()
        size, last = 0, after
        for seq, collection, id, view in rows[:limit]:
            size += len(view.encode())  # bytes, as PULL_MAX_BYTES means
            if changes and size > max_bytes:
                break
            changes.append(orjson.Fragment(view))  # already JSON: sent as it is
            visible.add((collection, id))
            last = seq
        has_more = len(changes) < len(rows)
        upto = last if has_more else max(top, after)
        if after < upto:
            for collection, id in store.records.exits(after=after, upto=upto,
                                                      grids=scope.exit_marks):
                if (collection, id) not in visible and not store.records.visible(
                        collection, id, **args):
                    evict.append({"collection": collection, "id": id})
    new_cursor = cursors.issue(store, Cursor(device=device, seq=upto, scope=scope.own_grids))
    return {"changes": changes, "evict": evict, "cursor": new_cursor, "has_more": has_more}

