"""Two app hosts, one PostgreSQL: two real `gridsync serve` (gunicorn, two workers each) on
different ports, each with its own data dir holding the same secret, against one database.

Racing redemptions at one balance and racing verifications at one log are sent through
both hosts at the same instant: exactly one wins each race, and afterwards the chain
verifies (gapless seqs, links, signatures, balances equal to the replay).
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections import Counter

import pytest

from tests.helpers import ApiClient, Device, LiveServer, RawDb
from tests.server.ledger_support import entries, give, state, verify_cli
from tests.server.ops_support import HttpClient

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

ROUNDS = 5


def at_once(*calls):
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    out: list = [None] * len(calls)

    def run(i, call):
        barrier.wait(30)
        out[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def over_http(device: Device, api: ApiClient) -> Device:
    """The same device (key, token) talking to another host."""
    return Device(api=api, key=device.key, id=device.id, token=device.token,
                  person=device.person, clock=device.clock)


@pytest.fixture
def two_hosts(data_dir, make_live_server, tmp_path, database_url):
    second = tmp_path / "host-b"
    second.mkdir()
    shutil.copy2(data_dir / "secret.key", second / "secret.key")
    token = data_dir.joinpath("admin-token").read_text()
    a = make_live_server(workers=2)
    b = LiveServer(second, token, workers=2, env={"GRIDSYNC_DATABASE_URL": database_url})
    try:
        yield a, b.start()
    finally:
        b.stop()


def test_races_through_two_hosts_have_one_winner_each(world, api, data_dir, two_hosts):
    host_a, host_b = two_hosts
    api.person("w1c", "worker", ["g1"])
    recorder = api.enroll("w1")
    verifiers = [api.enroll("w1b"), api.enroll("w1c")]
    counters = [api.enroll("shop1", "counter a").token, api.enroll("shop1", "counter b").token]
    via = [ApiClient(HttpClient(host.url), api.token) for host in (host_a, host_b)]

    # Redemptions: the balance holds exactly one rice (30 points); both hosts try to sell
    # it. Five rounds: the shop has five rice.
    for _ in range(5):
        give(api, "volunteer:v1", 30)

        def redeem(i):
            body = {"id": str(uuid.uuid4()), "volunteer": "v1", "card": world.cards["v1"],
                    "items": [{"sku": "rice", "qty": 1}]}
            resp = via[i].post("/redemptions", body, token=counters[i])
            return resp.status_code, resp.get_json()

        results = at_once(lambda: redeem(0), lambda: redeem(1))
        statuses = sorted(status for status, _ in results)
        assert statuses == [201, 409], results
        loser = next(answer for status, answer in results if status == 409)
        assert loser["error"]["code"] == "insufficient_points", loser
        assert state(data_dir)["balances"]["volunteer:v1"] == 0
    assert state(data_dir)["stock"]["rice"] == 0

    # Verifications: one log, two verifiers, one through each host, at the same instant.
    logs = []
    for _ in range(ROUNDS):
        log = recorder.change("service_logs", {
            "volunteer": "v1", "activity": "elderly_care",
            "started_at": "2026-11-26T02:00:00Z", "minutes": 30})
        assert recorder.sync([log])["results"][0]["status"] == "applied"
        racers = [over_http(v, via[i]) for i, v in enumerate(verifiers)]
        changes = [r.change("service_logs", {"status": "verified"}, id=log["id"], base=1)
                   for r in racers]
        results = at_once(*[lambda r=r, c=c: r.sync([c], cursor=None)["results"][0]
                            for r, c in zip(racers, changes, strict=True)])
        assert sorted(r["status"] for r in results) == ["applied", "rejected"], results
        loser = next(r for r in results if r["status"] == "rejected")
        assert loser["error"]["code"] in ("locked", "stale"), loser
        logs.append(log["id"])

    chain = entries(data_dir)
    assert [e["seq"] for e in chain] == list(range(1, len(chain) + 1))
    earns = Counter(e["ref"] for e in chain if e["kind"] == "earn")
    assert earns == Counter({f"service_log:{log_id}": 1 for log_id in logs})
    redeems = [e for e in chain if e["kind"] == "redeem"]
    assert len(redeems) == state(data_dir)["redemptions"] >= 1
    result = verify_cli("--data-dir", str(data_dir), "--workers", "2")
    assert result.exit_code == 0, result.output
    assert "ledger sound" in result.output


def test_racing_pushes_through_two_hosts_get_seqs_in_commit_order(world, api, data_dir,
                                                                   two_hosts):
    """Devices push new households through both hosts at once while another device keeps
    pulling with its cursor: every record takes its own change seq, the seqs leave no
    gap, and the puller, never starting over, sees every record. A seq handed out before
    another transaction's commit (a lock that did not cover the records' seqs) would let
    its cursor pass a record committed late, which it would then never pull."""
    via = [ApiClient(HttpClient(host.url), api.token) for host in two_hosts]
    pushers = []
    for i in range(4):
        api.person(f"wp{i}", "worker", ["g1"])
        pushers.append(over_http(api.enroll(f"wp{i}"), via[i % 2]))
    reader = over_http(api.enroll("w1"), via[0])
    pushed: list[str] = []
    done = threading.Event()

    def push_all(device):
        for _ in range(8):
            batch = [device.change("households", {"grid": "g1", "address": f"幸福路 {n} 号",
                                                  "head_name": "张三", "members": 2})
                     for n in range(15)]
            results = device.sync(batch)["results"]
            assert [r["status"] for r in results] == ["applied"] * len(batch), results
            pushed.extend(c["id"] for c in batch)

    seen: set[str] = set()

    def pull_meanwhile():
        while True:
            finished = done.is_set()
            out = reader.sync(limit=7)
            seen.update(r["id"] for r in out["changes"] if r["collection"] == "households")
            if finished and not out["has_more"]:
                return

    puller = threading.Thread(target=pull_meanwhile)
    puller.start()
    at_once(*[lambda d=d: push_all(d) for d in pushers])
    done.set()
    puller.join(120)
    assert len(pushed) == 4 * 8 * 15
    assert set(pushed) <= seen
    raw = RawDb(data_dir)
    try:
        total, distinct = raw.execute(
            "SELECT count(*), count(DISTINCT seq) FROM records").fetchone()
        marks = ", ".join("?" * len(pushed))
        taken = sorted(r[0] for r in raw.execute(
            f"SELECT seq FROM records WHERE id IN ({marks})", pushed).fetchall())
        indexed = raw.scalar(f"SELECT count(*) FROM household_index WHERE id IN ({marks})",
                             pushed)
    finally:
        raw.close()
    assert total == distinct
    # Nothing else wrote records meanwhile: the pushes took one gapless run of seqs (each
    # applied before the write lock and checked under it, services/sync/push.py), and
    # every household has its search index row.
    assert taken == list(range(taken[0], taken[0] + len(pushed)))
    assert indexed == len(pushed)
