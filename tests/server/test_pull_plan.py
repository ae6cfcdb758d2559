"""The pull reads only what a device may see: each branch of its scope through an index.

A page's seqs are chosen by ``records.page_query``. When one branch of the scope
was left to the primary key's index on ``collection`` alone, every pull read every
visit (or case, or service log) of the database, whoever's, to find the few in
scope: a cost that grew with the community, not with the device's records. The
query plan shows it, with no timing.
"""

from __future__ import annotations

import json

import pytest

from server.storage import open_storage
from server.storage.records import Placement, RecordWrite, _args, page_query


@pytest.fixture
def db(tmp_path):
    store = open_storage(str(tmp_path / "plan.db"))
    yield store.records.db
    store.close()


def plan(db, *, bounded: bool, **scope: object) -> list[str]:
    args = {"after": 10, "upto": 500, "limit": 101, "grids": json.dumps(["g1"]),
            "people": json.dumps(["w1", "v1"]), "author": "w1", "me": "w1",
            "wish_grids": json.dumps([]), "redact": 0, **scope}
    return [row[3] for row in db.query(
        "EXPLAIN QUERY PLAN " + page_query(db.sql, bounded=bounded), args)]


@pytest.mark.parametrize("bounded", [True, False])
@pytest.mark.parametrize("scope", [{}, {"wish_grids": json.dumps(["g1", "g2"]), "redact": 1}])
def test_no_branch_of_the_scope_reads_a_whole_collection(db, bounded, scope):
    steps = plan(db, bounded=bounded, **scope)
    assert not [s for s in steps if "(collection=?)" in s], steps
    assert not [s for s in steps if s.startswith("SCAN records")], steps


def test_a_workers_visits_have_their_index(db):
    indexes = {r[0] for r in db.query(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'")}
    assert "records_author" in indexes


@pytest.mark.parametrize("bounded", [True, False])
def test_a_pages_views_are_read_from_their_own_table_by_its_key(db, bounded):
    """A page's views are read from pull_views by its key (the seq), one lookup a record
    in dense pages, and no records row is read for them: a case's row fills a 4 KB page
    by itself, so reading its view from it read a page a case (migration 17)."""
    steps = plan(db, bounded=bounded)
    assert "SEARCH v USING INTEGER PRIMARY KEY (rowid=?) LEFT-JOIN" in steps, steps
    assert not [s for s in steps if s.startswith("SEARCH records USING INTEGER PRIMARY")], steps


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgresql_looks_each_view_up_by_its_key(empty_target):
    """PostgreSQL joined a page's seqs to pull_views by hashing a scan of the whole table
    (every view of the database read for a page of 500); each is looked up by key."""
    store = open_storage(empty_target)
    try:
        db = store.records.db
        rows = [RecordWrite({"collection": "households", "id": f"h{i}", "version": 1,
                             "deleted": False, "fields": {"grid": "g1"},
                             "meta": {"grid": {"hlc": "001:00000:d", "version": 1, "op": "o",
                                               "device": "d"}}}, i + 1, Placement(grid="g1"),
                            "2026-01-01T00:00:00.000Z") for i in range(3000)]
        with store.transaction():
            store.records.put_many(rows)
        db.execute("ANALYZE")
        args = {"after": 0, "upto": 2000, "limit": 501, **_args(["g1"], ["w1"], "w1", "w1")}
        steps = " ".join(r[0] for r in db.query(
            "EXPLAIN " + page_query(db.sql, bounded=True), args))
        assert "Index Scan using pull_views_pkey" in steps, steps
        assert "Seq Scan on pull_views" not in steps, steps
        assert len(store.records.pull(after=0, limit=501, grids=["g1"], people=[],
                                      author="")) == 501
    finally:
        store.close()
