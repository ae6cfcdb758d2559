"""A push of households and visits is applied before the write lock on PostgreSQL and
checked under it (server/services/sync/push.py, ``Push.run``): what it wrote is exactly
what a push applied under the lock would have written.

- A household a push creates is found by the office's search as soon as the push has
  returned, with the index row the records trigger would have written.
- A retry of the same ops through another host waits for the push (its device's lock)
  and is answered as replays. Another device's edit of a household the push read,
  committed between the push's work and its lock, sends the push back under the lock:
  the edits merge field by field. Every op, record and index row is stored once.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from server.config import database_target
from server.services.sync import push as push_module
from server.services.sync.writes import WriteBuffer
from server.storage import open_storage
from server.storage.views import view_json
from tests.conftest import BOTH_BACKENDS
from tests.helpers import RawDb


@pytest.fixture
def store(world, data_dir):
    store = open_storage(database_target(str(data_dir)), migrate_schema=False)
    yield store
    store.close()


def addresses(store, q: str) -> list[str]:
    return sorted(r["address"] for r in store.fielddata.search_households(q, None)[0])


def index_rows(data_dir) -> list[tuple]:
    with RawDb(data_dir) as raw:
        return [tuple(r) for r in raw.execute(
            "SELECT id, grid, address, head_name, phone, members, deleted "
            "FROM household_index ORDER BY id").fetchall()]


@BOTH_BACKENDS
def test_pushed_households_are_found_right_after_the_push(api, world, store, data_dir):
    w1 = api.enroll("w1")
    old = w1.change("households", {"grid": "g1", "address": "和平街7号", "head_name": "王芳",
                                   "members": 2})
    assert w1.sync([old])["results"][0]["status"] == "applied"
    new = [w1.change("households", {"grid": "g1", "address": f"幸福路{n}号", "head_name": "李明",
                                    "phone": "1380000000" + str(n), "members": n})
           for n in range(1, 4)]
    moved = w1.change("households", {"address": "和平街9号"}, id=old["id"], base=1)
    results = w1.sync([*new, moved])["results"]
    assert [r["status"] for r in results] == ["applied"] * 4
    assert addresses(store, "幸福路") == ["幸福路1号", "幸福路2号", "幸福路3号"]
    assert addresses(store, "13800000002") == ["幸福路2号"]
    assert addresses(store, "和平街") == ["和平街9号"]          # the edit: new address only
    # The states were encoded before the lock (WriteBuffer.encode_records): each is stored
    # as merged, the edit field by field onto the first version.
    edited = store.records.get("households", old["id"])
    assert edited is not None and edited.state["version"] == 2
    assert {k: edited.state["fields"][k] for k in ("address", "head_name", "members")} == {
        "address": "和平街9号", "head_name": "王芳", "members": 2}
    assert [store.records.get("households", c["id"]).state["fields"]["members"]  # type: ignore[union-attr]
            for c in new] == [1, 2, 3]
    with RawDb(data_dir) as raw:  # and each pulled view is the one made of its state
        stored = raw.execute("SELECT state, view FROM records JOIN pull_views USING (seq) "
                             "WHERE collection = 'households'").fetchall()
    assert len(stored) == 4
    assert all(bytes(view) == view_json(json.loads(state)) for state, view in stored)
    # Each row is the one the records trigger makes of the stored record: rewriting every
    # household through the trigger changes none of them.
    written = index_rows(data_dir)
    assert len(written) == 4
    with RawDb(data_dir) as raw:
        raw.execute("UPDATE records SET updated_at = updated_at WHERE collection = 'households'")
    assert index_rows(data_dir) == written


def racing(monkeypatch, interfere, started: list[threading.Thread] | None = None
           ) -> list[bool]:
    """Run ``interfere()`` once, in another thread (with its own connection, as another
    host would), in the next push once it has applied its changes and before it writes
    anything or takes the write lock; returns the ``early`` flag of each of that push's
    attempts. With ``started`` the push goes on after a moment instead of waiting for
    ``interfere`` to end (the thread is put there, for the caller to join)."""
    attempts: list[bool] = []
    here = threading.get_ident()
    index_new, apply_all = WriteBuffer.index_new_households, push_module.Push._apply_all

    def raced(self):
        if threading.get_ident() == here and attempts == [True]:
            other = threading.Thread(target=interfere)
            other.start()
            if started is None:
                other.join(60)
            else:
                started.append(other)
                time.sleep(0.3)
        return index_new(self)

    def counted(self, checked, *, early):
        if threading.get_ident() == here:
            attempts.append(early)
        return apply_all(self, checked, early=early)

    monkeypatch.setattr(WriteBuffer, "index_new_households", raced)
    monkeypatch.setattr(push_module.Push, "_apply_all", counted)
    return attempts


def seqs(data_dir) -> list[int]:
    with RawDb(data_dir) as raw:
        return sorted(r[0] for r in raw.execute("SELECT seq FROM records").fetchall())


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_retry_sent_while_a_push_applies_waits_for_it_and_gets_replays(
        api, world, data_dir, make_app, monkeypatch):
    """The retry takes its device's lock (``Storage.lock_device``) before claiming an op
    row, so it waits for the original instead of storing the ops in its window (which
    sent the original back, and could deadlock it under the write lock:
    tests/server/test_push_retry_race.py)."""
    w1 = api.enroll("w1")
    other_host = make_app(data_dir).test_client()  # its own connection: a second host
    batch = [w1.change("households", {"grid": "g1", "address": f"幸福路{n}号", "members": 1})
             for n in range(5)]
    retried: list[dict] = []

    def retry():
        resp = other_host.post("/api/v1/sync", json={"cursor": None, "changes": batch},
                               headers={"Authorization": f"Bearer {w1.token}"})
        retried.extend(resp.get_json()["results"])

    before = seqs(data_dir)
    waiting: list[threading.Thread] = []
    attempts = racing(monkeypatch, retry, started=waiting)
    results = w1.sync(batch)["results"]
    for thread in waiting:
        thread.join(60)
    assert attempts == [True]              # applied early and never sent back
    assert [(r["op"], r["status"], r["version"]) for r in results] == [
        (c["op"], "applied", 1) for c in batch]
    assert [(r["op"], r["status"], r["version"]) for r in retried] == [
        (c["op"], "duplicate", 1) for c in batch]        # the original's, as replays
    marks = ", ".join("?" * len(batch))
    with RawDb(data_dir) as raw:
        ops = raw.scalar(f"SELECT count(*) FROM ops WHERE op IN ({marks})",
                         [c["op"] for c in batch])
        versions = raw.execute(f"SELECT version FROM records WHERE id IN ({marks})",
                               [c["id"] for c in batch]).fetchall()
    assert ops == 5 and [v[0] for v in versions] == [1] * 5
    added = sorted(set(seqs(data_dir)) - set(before))
    assert added == list(range(added[0], added[0] + 5))           # five seqs, no gap
    assert len([r for r in index_rows(data_dir) if r[2].startswith("幸福路")]) == 5


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_an_edit_stored_while_a_push_applies_is_merged_under_the_lock(
        api, world, data_dir, store, make_app, monkeypatch):
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    home = w1.change("households", {"grid": "g1", "address": "和平街7号", "phone": "1"})
    assert w1.sync([home])["results"][0]["status"] == "applied"
    other_host = make_app(data_dir).test_client()
    theirs = w1b.change("households", {"phone": "13900000003"}, id=home["id"], base=1)

    edited: list[dict] = []

    def edit():
        resp = other_host.post("/api/v1/sync", json={"cursor": None, "changes": [theirs]},
                               headers={"Authorization": f"Bearer {w1b.token}"})
        edited.extend(resp.get_json()["results"])

    attempts = racing(monkeypatch, edit)
    mine = w1.change("households", {"address": "和平街9号"}, id=home["id"], base=1)
    result = w1.sync([mine])["results"][0]
    assert attempts == [True, False]
    assert [(r["status"], r["version"]) for r in edited] == [("applied", 2)]
    assert (result["status"], result["version"]) == ("applied", 3)
    state = store.records.get("households", home["id"])
    assert state is not None
    assert state.state["fields"]["address"] == "和平街9号"        # both edits kept
    assert state.state["fields"]["phone"] == "13900000003"
    assert addresses(store, "和平街") == ["和平街9号"]
    assert addresses(store, "13900000003") == ["和平街9号"]
