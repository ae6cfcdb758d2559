"""Pulling: current record states in the device's scope since its cursor.

Pages are bounded by ``limit`` records and by bytes. The cursor records the
seq pulled up to and the grids it was issued under: when the person's grids
grew since, the pull starts again from seq 0 so the newly visible records
come (devices dedupe by id and version); when they shrank, ``evict`` names
what is no longer visible. Records that left a grid (a household moved, a
volunteer moved) are evicted through ``scope_exits``.

Evictions name only records the device may have held: an exit counts when
it happened after the device's cursor (a device pulling from scratch holds
nothing from before its first page: the cursor's ``exits`` mark carries
that seq through the following pages), and only for what the device could
see of that grid: a household or visit leaving a grid the device sees
households of, a person or their logs leaving a grid whose people it sees,
a case leaving a grid it sees cases of, or one assigned away from it. A
household moved out of the community grid is none of a grid worker's
business, though the community grid is above theirs.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from operator import itemgetter

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


def _exit_marks(scope: Scope) -> dict[str, list[str]]:
    """collection -> the ``scope_exits.grid`` values whose exits of that collection
    the device may have held records for."""
    record_grids = sorted(scope.grids | scope.wish_grids)
    mine = [f"@{scope.person}"]
    return {"households": record_grids, "visits": record_grids,
            "cases": record_grids + mine, "people": sorted(scope.meeting),
            "service_logs": sorted(scope.meeting)}


def _evictions(store: Storage, scope: Scope, after: int, upto: int) -> list[dict]:
    """Records that left the device's scope between ``after`` and ``upto`` and that it
    does not see any more, each exit matched against what the device saw of its grid
    (a record it gets in this page is in its scope: not evicted)."""
    if after >= upto:
        return []
    marks = _exit_marks(scope)
    if not store.records.exits(after=after, upto=upto, grids=sorted(set().union(*marks.values()))):
        return []  # the usual case, in one query rather than one a collection
    args = scope.query_args()
    found: dict[tuple[str, str], None] = {}  # insertion-ordered set
    for collection, grids in marks.items():
        for key in store.records.exits(after=after, upto=upto, grids=grids) if grids else []:
            if key[0] != collection or key in found:
                continue
            if not store.records.visible(*key, **args):
                found[key] = None
    return [{"collection": c, "id": i} for c, i in found]


def _fitting(views: list[bytes], max_bytes: int) -> int:
    """How many of ``views``, from the first, hold at most ``max_bytes`` bytes (as
    PULL_MAX_BYTES means), and never less than one."""
    if sum(map(len, views)) <= max_bytes:
        return len(views)  # the usual page: no running sums
    return max(1, bisect_right(list(accumulate(map(len, views))), max_bytes))


def _json_array(views: list[bytes]) -> orjson.Fragment:
    """``views`` (each a record's JSON) as one JSON array, to be sent as it is."""
    return orjson.Fragment(b"[" + b",".join(views) + b"]")


def pull(store: Storage, *, device: str, scope: Scope, cursor: Cursor | None, limit: int,
         max_bytes: int, keys: cursors.Keys | None = None) -> dict:
    """One page. ``changes`` is an ``orjson.Fragment``: the JSON array of the record
    views the storage layer keeps, to be serialised with orjson. ``keys``: the cursor
    keys the request already read (``cursors.read_keys``). ``CursorExpired`` when a
    purge committed since the cursor was checked deleted tombstones after it."""
    with store.snapshot():
        top, purged = store.records.seq_marks()
        cursors.require_unpurged(cursor, purged)  # the mark of the rows read below
        after, evict = (0, []) if cursor is None else _scope_change(store, cursor, scope)
        if cursor is None:
            held_from = top  # a fresh device holds nothing: no exit before now concerns it
        else:
            held_from = cursor.seq if cursor.exits is None else max(cursor.exits, cursor.seq)
        args = scope.query_args()
        rows = store.records.pull(after=after, limit=limit + 1, **args)
        views = list(map(itemgetter(1), rows[:limit]))
        fits = _fitting(views, max_bytes)
        page = rows[:fits]
        changes = _json_array(views if fits == len(views) else views[:fits])
        last = page[-1][0] if page else after
        has_more = len(page) < len(rows)
        upto = last if has_more else max(top, after)
        evict += _evictions(store, scope, max(after, held_from), upto)
    exits = held_from if held_from > upto else None
    new_cursor = cursors.issue(store, Cursor(device=device, seq=upto, scope=scope.own_grids,
                                             exits=exits), keys)
    return {"changes": changes, "evict": evict, "cursor": new_cursor, "has_more": has_more}

