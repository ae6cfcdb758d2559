"""A tombstone purge that commits between a sync's cursor check and its page's snapshot.

The cursor is checked against the purge mark before the push (so a 410 changes
nothing), but the page is read later, in a snapshot of its own: a purge committed in
between deleted tombstones the device never saw while the early check had passed. The
pull reads the mark again in its page's snapshot, so the device is told to start again
instead of getting a page without those deletes (a deleted household kept for ever on
the phone). The purge runs on a second connection of the same database, at the moment
the check returns (found by a review)."""

from __future__ import annotations

import pytest

from server.config import database_target
from server.services import retention
from server.storage import open_storage
from tests.conftest import BOTH_BACKENDS
from tests.helpers import age_tombstones, purge_after_cursor_check

pytestmark = BOTH_BACKENDS


@pytest.fixture
def stale(world, api, data_dir):
    """w1b's cursor from before a household's delete, whose tombstone is past the
    retention window (nothing purged yet); and w1, who deleted it."""
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    doomed = w1.change("households", {"grid": "g1"})
    w1.sync([doomed])
    w1b.pull_all()
    w1.sync([w1.change("households", {}, id=doomed["id"], base=1, deleted=True)])
    age_tombstones(data_dir)
    return w1, w1b, doomed["id"]


@pytest.fixture
def purge_after_check(monkeypatch, data_dir):
    return purge_after_cursor_check(monkeypatch, data_dir)


def test_a_pull_whose_tombstones_were_purged_after_its_check_gets_410(stale,
                                                                      purge_after_check):
    _, w1b, doomed = stale
    w1b.sync(status=410)
    assert purge_after_check == [1]
    seen = w1b.pull_all(fresh=True)
    assert ("households", doomed) not in seen


def test_a_push_then_purge_applies_and_sends_the_device_back_for_its_410(stale, api,
                                                                         purge_after_check):
    """The push applied before the pull found the purge: its results come back (a 410
    would say nothing was applied), with no records and the device's own cursor, and
    the next request, checked afresh, is the 410."""
    _, w1b, doomed = stale
    before = w1b.cursor
    mine = w1b.change("households", {"grid": "g1", "address": "和平街1号"})
    out = w1b.sync([mine])
    assert purge_after_check == [1]
    assert [r["status"] for r in out["results"]] == ["applied"]
    assert (out["changes"], out["evict"], out["has_more"]) == ([], [], True)
    assert out["cursor"] == before
    assert w1b.sync([mine], status=410)["error"]["code"] == "cursor_expired"
    seen = w1b.pull_all(fresh=True)
    assert ("households", doomed) not in seen
    assert seen[("households", mine["id"])]["fields"]["address"] == "和平街1号"


def test_a_cursor_past_the_purged_tombstones_is_not_affected(stale, purge_after_check):
    w1, _, doomed = stale
    out = w1.sync()  # w1's cursor is past its own delete
    assert purge_after_check == [1]
    assert out["changes"] == [] and out["has_more"] is False


def test_a_purge_after_the_page_snapshot_began_leaves_the_page_whole(stale, monkeypatch,
                                                                     data_dir):
    """The other side: a purge committed once the page's snapshot has read the mark does
    not reach the page. The device gets the delete and a cursor past it (so nothing of
    it is lost); a mark read outside the snapshot would fail this as a page without it."""
    from server.storage.records import RecordStore

    _, w1b, doomed = stale
    purged: list[int] = []
    marks = RecordStore.seq_marks

    def marks_then_purge(self):
        read = marks(self)
        if not purged:
            purged.append(0)
            other = open_storage(database_target(str(data_dir)), migrate_schema=False)
            try:
                purged[0] = retention.purge_tombstones(other, 180)
            finally:
                other.close()
        return read

    monkeypatch.setattr(RecordStore, "seq_marks", marks_then_purge)
    out = w1b.sync()
    assert purged == [1]
    assert [(c["id"], c["deleted"]) for c in out["changes"]] == [(doomed, True)]
    assert out["has_more"] is False
    monkeypatch.setattr(RecordStore, "seq_marks", marks)
    again = w1b.sync()  # its cursor is past the purged tombstone: nothing to start over
    assert again["changes"] == [] and again["has_more"] is False
