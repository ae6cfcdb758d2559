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


class Race:
    """w1's edit of a household (``mine``), w1b's edit of it (``theirs``, committed by
    another host while w1's push applies: that sends w1's push back under the lock), an
    unrelated device's push (``bystander``, wx of grid g2), three more hosts, and the
    answers (``out``) and threads of the interleaving a test forces."""

    def __init__(self, api, data_dir, make_app):
        self.w1, self.w1b = api.enroll("w1"), api.enroll("w1b")
        api.person("wx", "worker", ["g2"])
        self.wx = api.enroll("wx")
        home = self.w1.change("households", {"grid": "g1", "address": "和平街7号"})
        assert self.w1.sync([home])["results"][0]["status"] == "applied"
        self.retry_host, self.edit_host, self.other_host = (
            make_app(data_dir).test_client() for _ in range(3))
        self.mine = [self.w1.change("households", {"address": "和平街9号"}, id=home["id"],
                                    base=1)]
        self.theirs = [self.w1b.change("households", {"phone": "139"}, id=home["id"], base=1)]
        self.bystander = [self.wx.change("households", {"grid": "g2", "address": "other"})]
        self.here = threading.get_ident()
        self.out: dict[str, object] = {}
        self.threads: list[threading.Thread] = []

    def in_original(self) -> bool:
        return threading.get_ident() == self.here

    def edit(self) -> None:
        """w1b's edit, committed through another host before w1's push takes the lock."""
        edit = threading.Thread(target=lambda: self.out.__setitem__(
            "edit", post(self.edit_host, self.w1b, self.theirs)))
        edit.start()
        edit.join(60)

    def start(self, name: str, host, device, changes, delay: float = 0.0) -> None:
        def run():
            time.sleep(delay)
            self.out[name] = post(host, device, changes)
        self.threads.append(threading.Thread(target=run))
        self.threads[-1].start()

    def retry_reaches_the_lock_late(self, monkeypatch) -> None:
        """The retry's host is a moment slower to reach the write lock (scheduling)."""
        from server.storage import SqlStorage

        lock_writes = SqlStorage.lock_writes

        def late(storage):
            if self.threads and threading.current_thread() is self.threads[0]:
                time.sleep(0.3)
            lock_writes(storage)
        monkeypatch.setattr(SqlStorage, "lock_writes", late)

    def run_original(self, api) -> dict:
        self.out["original"] = post(api.client, self.w1, self.mine)
        for thread in self.threads:
            thread.join(60)
        return self.out


def test_a_retry_racing_its_sent_back_original_waits_and_is_a_duplicate(
        api, world, data_dir, make_app, monkeypatch):
    race = Race(api, data_dir, make_app)
    store_ops = WriteBuffer.store_ops

    def paused(self):
        store_ops(self)
        if race.in_original() and "retry" not in race.out:
            race.out["retry"] = None
            race.edit()
            race.start("retry", race.retry_host, race.w1, race.mine)
            race.start("bystander", race.other_host, race.wx, race.bystander, delay=0.6)
            time.sleep(0.5)

    monkeypatch.setattr(WriteBuffer, "store_ops", paused)
    race.retry_reaches_the_lock_late(monkeypatch)
    out = race.run_original(api)
    assert out["original"][0] == 200 and out["retry"][0] == 200, out
    assert out["original"][1]["results"][0]["status"] in ("applied", "conflict"), out
    assert out["retry"][1]["results"][0]["status"] == "duplicate", out
    assert out["bystander"][0] == 200, out


def test_an_unrelated_push_queued_behind_the_race_is_not_failed(
        api, world, data_dir, make_app, monkeypatch):
    """As above, but the original takes a moment to reach its op rows under the lock (a
    larger batch): an unrelated device's push queues for the lock in that moment. Before
    the fix, PostgreSQL's deadlock check failed *it* (its wait closed the cycle)."""
    from server.services.sync import push as push_module

    race = Race(api, data_dir, make_app)
    store_ops, flush = WriteBuffer.store_ops, push_module.Push.flush

    def paused(self):
        store_ops(self)
        if race.in_original() and "retry" not in race.out:
            race.out["retry"] = None
            race.edit()
            race.start("retry", race.retry_host, race.w1, race.mine)
            time.sleep(0.5)

    def slow_flush(self, indexed=None):
        if race.in_original() and len(race.threads) == 1:   # the fallback, locked
            race.start("bystander", race.other_host, race.wx, race.bystander)
            time.sleep(0.2)
        return flush(self, indexed)

    monkeypatch.setattr(WriteBuffer, "store_ops", paused)
    monkeypatch.setattr(push_module.Push, "flush", slow_flush)
    race.retry_reaches_the_lock_late(monkeypatch)
    out = race.run_original(api)
    assert out["bystander"][0] == 200, out["bystander"]
    assert out["original"][0] == 200 and out["retry"][0] == 200, out
