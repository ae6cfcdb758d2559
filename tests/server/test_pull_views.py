"""Pulled views are stored with each record version (server/storage/views.py) and
read by the pull as they are: they must be the library's ``record_view`` of the
current state, byte for byte the same on both databases, for records written
before the column existed (migration 14 fills them) as for those written after."""

from __future__ import annotations

import json

import orjson

from server.storage import open_storage
from server.storage.migrations import LATEST, migrate
from server.storage.records import Placement, RecordWrite
from server.storage.views import view_json
from sync.merge import record_view
from tests.conftest import BOTH_BACKENDS

AT = "2026-01-01T00:00:00.000Z"
BEFORE_VIEWS = 13


def stamped(collection, id, fields, *, version=1, deleted=False, hlcs=("001:00000:d",)):
    meta = {name: {"hlc": hlcs[i % len(hlcs)], "version": version, "op": f"o{i}",
                   "device": "d"} for i, name in enumerate([*fields, "deleted"])}
    return {"collection": collection, "id": id, "version": version, "deleted": deleted,
            "fields": fields, "meta": meta}


STATES = [
    (stamped("households", "h1", {"grid": "g1", "address": "幸福路 1 号", "tags": ["独居"],
                                  "members": 0, "notes": 'say "hi"\n\x00 C:\\u0000'},
             hlcs=("003:00001:a", "010:00000:b", "002:00009:c")), Placement(grid="g1")),
    (stamped("households", "h2", {"grid": "g1"}, version=3, deleted=True), Placement(grid="g1")),
    (stamped("cases", "c1", {"grid": "g1", "kind": "wish", "title": "轮椅",
                             "reporter_name": "李四", "reporter_phone": "13900000000"}),
     Placement(grid="g1", person="v2")),
    (stamped("cases", "c2", {"grid": "g1", "kind": "wish", "title": "买菜",
                             "reporter_name": "王五"}), Placement(grid="g1", person="v1")),
]


def pulled(store, **scope):
    args = {"grids": ["g1"], "people": [], "author": "", **scope}
    return {orjson.loads(view)["id"]: view
            for _, view in store.records.pull(after=0, limit=100, **args)}


@BOTH_BACKENDS
def test_views_written_with_each_version_are_the_record_view(empty_target):
    store = open_storage(empty_target)
    try:
        with store.transaction():
            store.records.put_many([RecordWrite(s, i + 1, p, AT)
                                    for i, (s, p) in enumerate(STATES)])
        views = pulled(store)
        for state, _ in STATES:
            assert views[state["id"]] == view_json(state)
            assert orjson.loads(views[state["id"]]) == record_view(state)
        assert orjson.loads(views["h2"])["fields"] == {}  # a tombstone has no fields
        assert orjson.loads(views["h1"])["hlc"] == "010:00000:b"  # the greatest stamp
        # A new version replaces the view with its own.
        newer = stamped("households", "h1", {"grid": "g1", "address": "新"}, version=2,
                        hlcs=("020:00000:a",))
        with store.transaction():
            store.records.put_many([RecordWrite(newer, 9, Placement(grid="g1"), AT)])
        assert pulled(store)["h1"] == view_json(newer)
    finally:
        store.close()


@BOTH_BACKENDS
def test_a_volunteer_not_assigned_gets_a_case_without_its_reporter(empty_target):
    store = open_storage(empty_target)
    try:
        with store.transaction():
            store.records.put_many([RecordWrite(s, i + 1, p, AT)
                                    for i, (s, p) in enumerate(STATES)])
        views = pulled(store, me="v1", redact=1)
        other, own = orjson.loads(views["c1"]), orjson.loads(views["c2"])
        assert "reporter_name" not in other["fields"]
        assert "reporter_phone" not in other["fields"]
        assert other["fields"] == {"grid": "g1", "kind": "wish", "title": "轮椅"}
        assert own["fields"]["reporter_name"] == "王五"  # assigned to them: whole
        assert views["h1"] == view_json(STATES[0][0])  # only cases are redacted
        assert orjson.loads(pulled(store)["c1"])["fields"]["reporter_name"] == "李四"
    finally:
        store.close()


@BOTH_BACKENDS
def test_migration_fills_the_views_of_records_written_before_it(empty_target):
    store = open_storage(empty_target, migrate_schema=False)
    db = store.records.db
    try:
        assert migrate(db, target=BEFORE_VIEWS) == BEFORE_VIEWS
        with db.transaction():
            db.executemany(
                "INSERT INTO records (collection, id, seq, version, deleted, grid, person, "
                "author, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(s["collection"], s["id"], i + 1, s["version"], int(s["deleted"]), p.grid,
                  p.person, p.author, json.dumps(s, ensure_ascii=False, separators=(",", ":")),
                  AT) for i, (s, p) in enumerate(STATES)])
        assert migrate(db) == LATEST
        views = pulled(store)
        assert views == {s["id"]: view_json(s) for s, _ in STATES}
        # The fill left the household search index as it was, and it still follows
        # every write (SQLite's update trigger was set aside during the fill only).
        assert db.scalar("SELECT count(*) FROM household_index") == 2
        moved = stamped("households", "h1", {"grid": "g1", "address": "新楼 2 号"}, version=2)
        with store.transaction():
            store.records.put_many([RecordWrite(moved, 9, Placement(grid="g1"), AT)])
        assert db.scalar("SELECT address FROM household_index WHERE id = 'h1'") == "新楼 2 号"
        assert pulled(store)["h1"] == view_json(moved)
    finally:
        store.close()


def _foreign_write(store, state, seq, *, insert):
    """What a writer that does not know pull_view does (a host still on an older
    release during an upgrade): state and version written, the view left alone."""
    text = json.dumps(state, ensure_ascii=False, separators=(",", ":"))
    db = store.records.db
    if insert:
        db.execute("INSERT INTO records (collection, id, seq, version, deleted, grid, state, "
                   "updated_at) VALUES (?, ?, ?, ?, ?, 'g1', ?, ?)",
                   (state["collection"], state["id"], seq, state["version"],
                    int(state["deleted"]), text, AT))
    else:
        db.execute("UPDATE records SET seq = ?, version = ?, deleted = ?, state = ? "
                   "WHERE collection = ? AND id = ?",
                   (seq, state["version"], int(state["deleted"]), text,
                    state["collection"], state["id"]))


@BOTH_BACKENDS
def test_a_state_written_without_its_view_is_pulled_as_its_own_view(empty_target):
    """Migration 15 sets a view aside when its state is rewritten without it, and the pull
    makes the view of a record that has none: never the older version's view under the
    new seq, never a 500 for the page (a NULL view broke the whole page)."""
    store = open_storage(empty_target)
    try:
        with store.transaction():
            store.records.put_many([RecordWrite(s, i + 1, p, AT)
                                    for i, (s, p) in enumerate(STATES)])
        erased = stamped("households", "h1", {"grid": "g1"}, version=2, deleted=True)
        new = stamped("households", "h9", {"grid": "g1", "address": "新来的"})
        wish = stamped("cases", "c9", {"grid": "g1", "kind": "wish", "title": "药",
                                       "reporter_name": "赵六"})
        with store.transaction():
            _foreign_write(store, erased, 10, insert=False)
            _foreign_write(store, new, 11, insert=True)
            _foreign_write(store, wish, 12, insert=True)
        views = pulled(store)
        assert views["h1"] == view_json(erased)
        assert orjson.loads(views["h1"])["deleted"] is True
        assert views["h9"] == view_json(new)
        assert views["h2"] == view_json(STATES[1][0])  # the others as stored
        # Redaction applies to a view made at the pull as to a stored one.
        hidden = pulled(store, me="v1", redact=1)
        assert "reporter_name" not in orjson.loads(hidden["c9"])["fields"]
        assert "reporter_name" in orjson.loads(views["c9"])["fields"]
        # gridsync's own next write stores the view again.
        with store.transaction():
            store.records.put_many([RecordWrite(erased, 13, Placement(grid="g1"), AT)])
        assert store.records.db.scalar(
            "SELECT pull_view FROM records WHERE id = 'h1'") is not None
    finally:
        store.close()


def test_a_view_past_64_bit_integers_is_json_text():
    state = stamped("households", "h1", {"grid": "g1", "members": 2**70})
    assert orjson.loads(view_json(state))["fields"]["members"] == 2**70
