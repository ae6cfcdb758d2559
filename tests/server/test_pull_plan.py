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
from server.storage.records import page_query


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
def test_a_pages_rows_are_read_by_the_tables_own_key(db, bounded):
    """The rows a page chose are read by rowid, not through seq's index and then the
    rowid: one lookup a record instead of two (about a fifth of a pulled record's read)."""
    steps = plan(db, bounded=bounded)
    assert steps[0] == "SEARCH records USING INTEGER PRIMARY KEY (rowid=?)", steps
