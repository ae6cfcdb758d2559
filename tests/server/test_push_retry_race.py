"""PostgreSQL: a push retried through another host while its original is sent back under
the write lock (another device's commit changed a household it read). Without the
per-device lock (``Storage.lock_device``) the retry claimed the op rows the undo had
freed and the original, applying again under the write lock, waited on them: a deadlock
PostgreSQL broke after 1 s by failing one of the two, or an unrelated writer queued
behind the lock, while every host's writers waited. The interleaving is forced by
pausing the original at fixed points (found by an adversarial review)."""

from __future__ import annotations

import threading
import time

import pytest

from server.services.sync.writes import WriteBuffer

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def post(client, device, changes):
    resp = client.post("/api/v1/sync", json={"cursor": None, "changes": changes},
                       headers={"Authorization": f"Bearer {device.token}"})
    return resp.status_code, resp.get_json()


def test_a_retry_racing_its_sent_back_original_waits_and_is_a_duplicate(
        api, world, data_dir, make_app, monkeypatch):
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    api.person("wx", "worker", ["g2"])
    wx = api.enroll("wx")
    home = w1.change("households", {"grid": "g1", "address": "和平街7号"})
    assert w1.sync([home])["results"][0]["status"] == "applied"
    host_b, host_c, host_d = (make_app(data_dir).test_client() for _ in range(3))
    mine = [w1.change("households", {"address": "和平街9号"}, id=home["id"], base=1)]
    theirs = [w1b.change("households", {"phone": "139"}, id=home["id"], base=1)]
    bystander = [wx.change("households", {"grid": "g2", "address": "other"})]
    here = threading.get_ident()
    out: dict[str, object] = {}
    store_ops = WriteBuffer.store_ops
    threads = []

    def paused(self):
        store_ops(self)
        if threading.get_ident() == here and "retry" not in out:
            out["retry"] = None
            edit = threading.Thread(target=lambda: out.__setitem__(
                "edit", post(host_c, w1b, theirs)))        # another host's commit: stale
            edit.start()
            edit.join(60)

            def retry():
                out["retry"] = post(host_b, w1, mine)          # waits on our op row

            def other():
                time.sleep(0.6)
                t0 = time.monotonic()
                out["bystander"] = post(host_d, wx, bystander)  # an unrelated device
                out["bystander_s"] = time.monotonic() - t0
            threads.extend([threading.Thread(target=retry), threading.Thread(target=other)])
            for t in threads:
                t.start()
            time.sleep(0.5)

    monkeypatch.setattr(WriteBuffer, "store_ops", paused)
    from server.storage import SqlStorage
    lock_writes = SqlStorage.lock_writes

    def late(self):  # the retry's host is a moment slower to reach the lock (scheduling)
        if threads and threading.current_thread() is threads[0]:
            time.sleep(0.3)
        lock_writes(self)
    monkeypatch.setattr(SqlStorage, "lock_writes", late)
    t0 = time.monotonic()
    out["original"] = post(api.client, w1, mine)
    out["original_s"] = time.monotonic() - t0
    for t in threads:
        t.join(60)
    assert out["original"][0] == 200 and out["retry"][0] == 200, out
    assert out["original"][1]["results"][0]["status"] in ("applied", "conflict"), out
    assert out["retry"][1]["results"][0]["status"] == "duplicate", out
    assert out["bystander"][0] == 200, out


def test_an_unrelated_push_queued_behind_the_race_is_not_failed(api, world, data_dir, make_app,
                                                    monkeypatch):
    """As above, but the original takes a moment to reach its op rows under the lock (a
    larger batch): an unrelated device's push queues for the lock in that moment. Before
    the fix, PostgreSQL's deadlock check failed *it* (its wait closed the cycle)."""
    from server.services.sync import push as push_module
    from server.storage import SqlStorage
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    api.person("wx", "worker", ["g2"])
    wx = api.enroll("wx")
    home = w1.change("households", {"grid": "g1", "address": "和平街7号"})
    assert w1.sync([home])["results"][0]["status"] == "applied"
    host_b, host_c, host_d = (make_app(data_dir).test_client() for _ in range(3))
    mine = [w1.change("households", {"address": "和平街9号"}, id=home["id"], base=1)]
    theirs = [w1b.change("households", {"phone": "139"}, id=home["id"], base=1)]
    bystander = [wx.change("households", {"grid": "g2", "address": "other"})]
    here = threading.get_ident()
    out: dict[str, object] = {}
    threads: list[threading.Thread] = []
    store_ops, flush, lock_writes = (WriteBuffer.store_ops, push_module.Push.flush,
                                     SqlStorage.lock_writes)

    def paused(self):
        store_ops(self)
        if threading.get_ident() == here and "retry" not in out:
            out["retry"] = None
            edit = threading.Thread(target=lambda: out.__setitem__(
                "edit", post(host_c, w1b, theirs)))
            edit.start()
            edit.join(60)
            threads.append(threading.Thread(target=lambda: out.__setitem__(
                "retry", post(host_b, w1, mine))))
            threads[0].start()
            time.sleep(0.5)

    def slow_flush(self, indexed=None):
        if threading.get_ident() == here and len(threads) == 1:   # the fallback, locked
            threads.append(threading.Thread(target=lambda: out.__setitem__(
                "bystander", post(host_d, wx, bystander))))
            threads[1].start()
            time.sleep(0.2)
        return flush(self, indexed)

    def late(self):
        if threads and threading.current_thread() is threads[0]:
            time.sleep(0.3)
        lock_writes(self)

    monkeypatch.setattr(WriteBuffer, "store_ops", paused)
    monkeypatch.setattr(push_module.Push, "flush", slow_flush)
    monkeypatch.setattr(SqlStorage, "lock_writes", late)
    out["original"] = post(api.client, w1, mine)
    for t in threads:
        t.join(60)
    assert out["bystander"][0] == 200, out["bystander"]
    assert out["original"][0] == 200 and out["retry"][0] == 200, out
