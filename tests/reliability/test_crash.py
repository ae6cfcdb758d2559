"""Crash tests under a real gunicorn: SIGKILL a worker or the whole server (master and
workers) at random moments during a stream of syncs and redemptions; clients retry
(FieldClient over HttpTransport, same redemption id on retry). Afterwards: every change
acknowledged to a device is stored once, every acknowledged redemption has its one redeem
entry, balances are double entry and never negative, and `gridsync ledger verify` passes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

from client_sdk import FieldClient, FieldClientError, HttpTransport, RetryPolicy
from tests.conftest import BOTH_BACKENDS
from tests.helpers import gridsync_command, raw_db

pytestmark = BOTH_BACKENDS


class Recording:
    """HttpTransport that remembers every answer that reached the client."""

    def __init__(self, inner):
        self.inner, self.acked, self.redeemed = inner, {}, {}

    def post(self, path, body, token=None):
        answer = self.inner.post(path, body, token)
        status, _, data = answer
        if path == "/sync" and status == 200:
            for r in data["results"]:
                self.acked[r["op"]] = r
        if path == "/redemptions":
            self.redeemed[body["id"]] = status
        return answer

    def get(self, path, token=None, params=None):
        return self.inner.get(path, token, params)


def test_sigkill_worker_and_master_during_syncs_and_redemptions(
        live_server, api, world, data_dir, tmp_path):
    rng = random.Random(int(os.environ.get("GRIDSYNC_CRASH_SEED", "7")))
    api.ok(api.post("/ledger/adjustments", {"id": "0190f0c0-0000-4000-8000-00000000a001",
                                            "account": "volunteer:v1", "amount": 200,
                                            "reason": "crash test"}), 201)
    retry = RetryPolicy(attempts=40, base=0.05, cap=0.5)
    clients = {}
    for person in ("w1", "w1b", "shop1"):
        code = api.ok(api.post("/enrollments", {"person": person}), 201)["code"]
        net = Recording(HttpTransport(live_server.url, timeout=(1.0, 10.0)))
        client = FieldClient(tmp_path / f"crash-{person}", net, retry=retry)
        client.enroll(live_server.url, code, person)
        clients[person] = (client, net)
    kills = {"worker": 0, "master": 0}
    deadline = time.monotonic() + 35
    households: list[str] = []
    step = 0
    while time.monotonic() < deadline and step < 60:
        step += 1
        who = rng.choice(("w1", "w1b"))
        client, _ = clients[who]
        for _ in range(rng.randint(1, 5)):
            households.append(client.add_household("g1", address=f"崩溃路 {step} 号",
                                                   members=rng.randint(1, 5))["id"])
        try:
            client.sync()
        except FieldClientError:
            pass
        shop, net = clients["shop1"]
        body = {"id": f"0190f0c0-0000-4000-8000-{step:012d}", "volunteer": "v1",
                "card": world.cards["v1"], "items": [{"sku": "soap", "qty": 1}]}
        try:
            shop.call("POST", "/redemptions", body, what="redeem")
        except FieldClientError:
            pass
        fate = rng.random()
        if fate < 0.2 and live_server.worker_pids():
            os.kill(rng.choice(live_server.worker_pids()), signal.SIGKILL)
            kills["worker"] += 1
        elif fate < 0.3:
            live_server.kill()
            kills["master"] += 1
            live_server.start()
    # Recovery: every client gets through once the server is up.
    if live_server.proc is None:
        live_server.start()
    for who in ("w1", "w1b", "w1"):
        clients[who][0].sync()
    for body_step in range(1, step + 1):  # retry every redemption whose answer was lost
        rid = f"0190f0c0-0000-4000-8000-{body_step:012d}"
        if clients["shop1"][1].redeemed.get(rid) not in (200, 201, 409):
            clients["shop1"][0].call("POST", "/redemptions", {
                "id": rid, "volunteer": "v1", "card": world.cards["v1"],
                "items": [{"sku": "soap", "qty": 1}]}, what="redeem")
    live_server.stop()
    assert kills["worker"] + kills["master"] >= 3, kills

    conn = raw_db(data_dir)
    try:
        ops = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT op, status, version FROM ops")}
        records = {r[0] for r in conn.execute("SELECT id FROM records WHERE collection = "
                                              "'households'")}
        redemptions = {r[0] for r in conn.execute("SELECT id FROM redemptions")}
        redeem_refs = [r[0] for r in conn.execute("SELECT ref FROM entries WHERE kind='redeem'")]
        balances = dict(conn.execute("SELECT account, balance FROM balances").fetchall())
    finally:
        conn.close()
    for who in ("w1", "w1b"):
        client, net = clients[who]
        assert client.pending_count() == 0
        for op, result in net.acked.items():
            if result["status"] in ("applied", "conflict"):
                assert ops[op] == (result["status"], result["version"]), op
    assert set(households) <= records  # nothing recorded on a phone was lost
    for rid, status in clients["shop1"][1].redeemed.items():
        if status in (200, 201):
            assert rid in redemptions
    assert sorted(redeem_refs) == sorted(f"redemption:{r}" for r in redemptions)
    assert sum(balances.values()) == 0 and balances.get("volunteer:v1", 0) >= 0
    out = subprocess.run([*gridsync_command(), "ledger", "verify", "--data-dir", str(data_dir)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    print(f"crash test: {step} rounds, kills {kills}, {len(households)} households, "
          f"{len(redemptions)} redemptions")
