"""Several OS processes, each with its own app on one data dir, verifying logs,
redeeming and taking points back for the same volunteer at once."""

from __future__ import annotations

import multiprocessing
import queue
from collections import Counter

from tests.conftest import BOTH_BACKENDS
from tests.server.ledger_support import (
    concurrent_actor,
    entries,
    give,
    state,
    verify_cli,
)

pytestmark = BOTH_BACKENDS

LOGS = 12          # 60 minutes of elderly care each: 10 points
REDEEMERS = 3
REDEMPTIONS = 12   # per redeemer, each sent twice with the same id


def test_concurrent_verifying_and_redeeming(world, api, data_dir):
    api.person("w1c", "worker", ["g1"])
    recorder = api.enroll("w1")
    verifiers = [api.enroll("w1b", "phone"), api.enroll("w1b", "tablet"), api.enroll("w1c")]
    log_ids = []
    for i in range(LOGS):
        log = recorder.change("service_logs", {
            "volunteer": "v1", "activity": "elderly_care",
            "started_at": f"2026-11-{10 + i:02d}T02:00:00Z", "minutes": 60})
        assert recorder.sync([log])["results"][0]["status"] == "applied"
        log_ids.append(log["id"])
    give(api, "volunteer:v1", 40)

    common = {"data_dir": str(data_dir), "admin_token": api.token}
    tasks = [{**common, "name": f"verifier{i}", "kind": "verify", "key": d.key.private_bytes(),
              "device_id": d.id, "token": d.token, "person": d.person,
              "logs": log_ids if i % 2 == 0 else log_ids[::-1]}
             for i, d in enumerate(verifiers)]
    tasks += [{**common, "name": f"shop{i}", "kind": "redeem", "count": REDEMPTIONS,
               "volunteer": "v1", "card": world.cards["v1"],
               "token": api.enroll("shop1", f"counter {i}").token}
              for i in range(REDEEMERS)]
    tasks.append({**common, "name": "admin", "kind": "take_back", "count": 8, "amount": 7,
                  "volunteer": "v1"})

    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(tasks)), ctx.Queue()
    procs = [ctx.Process(target=concurrent_actor, args=(t, barrier, results)) for t in tasks]
    for p in procs:
        p.start()
    seen = {}
    try:
        for _ in procs:
            name, out = results.get(timeout=240)
            seen[name] = out
    except queue.Empty:
        raise AssertionError(f"only {sorted(seen)} finished") from None
    finally:
        for p in procs:
            p.join(30)
    assert [p.exitcode for p in procs] == [0] * len(procs)

    # The chain is intact and the stored balances equal its replay.
    result = verify_cli("--data-dir", str(data_dir), "--workers", "2")
    assert result.exit_code == 0, result.output
    chain = entries(data_dir)

    # The volunteer's balance never went below zero, at any point of the chain.
    balance = 0
    for entry in chain:
        balance += (entry["credit"] == "volunteer:v1") * entry["amount"]
        balance -= (entry["debit"] == "volunteer:v1") * entry["amount"]
        assert balance >= 0, entry
    assert balance == state(data_dir)["balances"]["volunteer:v1"]

    # Each log was verified by exactly one process and earned exactly once.
    earns = Counter(e["ref"] for e in chain if e["kind"] == "earn")
    assert earns == Counter({f"service_log:{log_id}": 1 for log_id in log_ids})
    applied = Counter()
    for i in range(len(verifiers)):
        for log_id, first, again in seen[f"verifier{i}"]:
            if first["status"] == "applied":
                applied[log_id] += 1
                assert again["status"] == "duplicate"
            else:
                assert first["error"]["code"] in ("locked", "stale"), first
    assert applied == Counter({log_id: 1 for log_id in log_ids})

    # Each accepted redemption has exactly one redeem entry; a replay got the
    # first answer; a refused one left no entry behind.
    redeems = Counter(e["ref"] for e in chain if e["kind"] == "redeem")
    sold = Counter()
    for i in range(REDEEMERS):
        for body, status, answer, again_status, again in seen[f"shop{i}"]:
            ref = f"redemption:{body['id']}"
            if status == 201:
                assert (again_status, again) == (200, answer)
            else:
                # Refused, so not remembered: the resend is judged afresh (points
                # earned meanwhile may let it through).
                assert status == 409, answer
                assert answer["error"]["code"] in ("insufficient_points", "out_of_stock")
                assert again_status in (201, 409)
            if 201 in (status, again_status):
                assert redeems[ref] == 1
                sold[body["items"][0]["sku"]] += 1
            else:
                assert redeems[ref] == 0
    assert sum(redeems.values()) == sum(sold.values()) == state(data_dir)["redemptions"]
    assert sum(sold.values()) > 0

    # Stock never went negative and fell by exactly what was sold.
    stock = state(data_dir)["stock"]
    assert stock == {"rice": 5 - sold["rice"], "soap": 100 - sold["soap"]}
    assert stock["rice"] >= 0

    take_backs = Counter(seen["admin"])
    assert set(take_backs) <= {201, 409}
    assert take_backs[201] == sum(1 for e in chain if e["kind"] == "adjust") - 1
