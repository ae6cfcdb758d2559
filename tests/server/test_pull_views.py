"""Pulled views are stored with each record version (server/storage/views.py), in
``pull_views`` under the version's seq since migration 17, and read by the pull as
they are: they must be the library's ``record_view`` of the current state, byte for
byte the same on both databases, for records written before the column existed
(migration 14 fills them) as for those written after; and a view is only ever read
under the seq of the state it was made from, whoever writes the records."""

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
BEFORE_VIEW_TABLE = 16


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
        # One view a record, under its current seq: the replaced version's went with it.
        assert stored_views(store) == {2: view_json(STATES[1][0]), 3: view_json(STATES[2][0]),
                                       4: view_json(STATES[3][0]), 9: view_json(newer)}
        assert store.records.db.scalar(
            "SELECT count(*) FROM records WHERE pull_view IS NOT NULL") == 0
    finally:
        store.close()


def stored_views(store) -> dict[int, bytes]:
    return {int(seq): bytes(view) for seq, view in store.records.db.tuples(
        "SELECT seq, view FROM pull_views ORDER BY seq")}


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
        assert stored_views(store)[13] == view_json(erased)
    finally:
        store.close()


G1 = Placement(grid="g1")


def _release_16_write(store, state, seq, place=G1):
    """What gridsync wrote before migration 17 (a host still on that release during an
    upgrade): the view in the records row, nothing in pull_views."""
    store.records.db.execute(
        """INSERT INTO records (collection, id, seq, version, deleted, grid, person, author,
                               state, pull_view, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (collection, id) DO UPDATE SET seq = excluded.seq,
             version = excluded.version, deleted = excluded.deleted, state = excluded.state,
             pull_view = excluded.pull_view, updated_at = excluded.updated_at""",
        (state["collection"], state["id"], seq, state["version"], int(state["deleted"]),
         place.grid, place.person, place.author,
         json.dumps(state, ensure_ascii=False, separators=(",", ":")), view_json(state), AT))


@BOTH_BACKENDS
def test_migration_17_puts_the_stored_views_in_their_table(empty_target):
    store = open_storage(empty_target, migrate_schema=False)
    db = store.records.db
    try:
        assert migrate(db, target=BEFORE_VIEW_TABLE) == BEFORE_VIEW_TABLE
        with db.transaction():
            for i, (state, place) in enumerate(STATES):
                _release_16_write(store, state, i + 1, place)
            db.execute("UPDATE records SET pull_view = NULL WHERE id = 'c2'")  # set aside
        assert migrate(db) == LATEST
        assert stored_views(store) == {i + 1: view_json(s) for i, (s, _) in enumerate(STATES)
                                       if s["id"] != "c2"}
        assert pulled(store) == {s["id"]: view_json(s) for s, _ in STATES}
    finally:
        store.close()


@BOTH_BACKENDS
def test_a_view_is_only_read_under_the_seq_of_its_state(empty_target):
    """Migration 17's triggers, whoever writes records: a record that takes a new seq
    with the same state (visits following their household, a person's records restamped)
    takes its view along; a new state (a host on the previous release writing its view
    into records, or any writer rewriting the state under the same seq) and a deleted
    record leave no view behind, so a pull makes the view of the state it reads."""
    store = open_storage(empty_target)
    db = store.records.db
    visit = stamped("visits", "v1", {"household": "h1", "outcome": "met"})
    log = stamped("service_logs", "s1", {"volunteer": "p1", "minutes": 30})
    try:
        with store.transaction():
            store.records.put_many([
                RecordWrite(STATES[0][0], 1, STATES[0][1], AT),
                RecordWrite(visit, 2, Placement(grid="g1", author="w1"), AT),
                RecordWrite(log, 3, Placement(grid=None, person="p1"), AT)])
        with store.transaction():
            assert store.records.move_visits("h1", "g2", AT) == ["v1"]
            assert store.records.restamp_person("p1", AT) == [("service_logs", "s1")]
        assert stored_views(store) == {1: view_json(STATES[0][0]), 4: view_json(visit),
                                       5: view_json(log)}
        assert pulled(store, grids=["g2"])["v1"] == view_json(visit)

        # The previous release rewrites h1: its view goes with seq 1 (none under seq 6).
        rewritten = stamped("households", "h1", {"grid": "g1", "address": "旧版本写的"},
                            version=2, hlcs=("030:00000:a",))
        with store.transaction():
            _release_16_write(store, rewritten, 6)
        assert sorted(stored_views(store)) == [4, 5]
        assert pulled(store)["h1"] == view_json(rewritten)

        # A state rewritten under the same seq (nothing gridsync does): its view goes.
        changed = {**visit, "fields": {**visit["fields"], "outcome": "absent"}}
        with store.transaction():
            db.execute("UPDATE records SET state = ? WHERE id = 'v1'",
                       (json.dumps(changed, ensure_ascii=False, separators=(",", ":")),))
        assert sorted(stored_views(store)) == [5]
        assert pulled(store, grids=["g2"])["v1"] == view_json(changed)

        # A state rewritten without its view by an even older writer sets aside the view
        # the previous release stored in the row (migration 15), for such a host's pulls.
        erased = stamped("households", "h1", {"grid": "g1"}, version=3, deleted=True)
        with store.transaction():
            _foreign_write(store, erased, 7, insert=False)
        assert db.scalar("SELECT pull_view FROM records WHERE id = 'h1'") is None
        assert pulled(store)["h1"] == view_json(erased)

        with store.transaction():
            store.records.put_many([RecordWrite(erased, 8, Placement(grid="g1"), AT)])
            assert store.records.purge_tombstones("2027-01-01T00:00:00.000Z") == 1
        assert sorted(stored_views(store)) == [5]  # the purged tombstone's view went too
    finally:
        store.close()


def test_a_view_past_64_bit_integers_is_json_text():
    state = stamped("households", "h1", {"grid": "g1", "members": 2**70})
    assert orjson.loads(view_json(state))["fields"]["members"] == 2**70
