"""Earning end to end: a service log recorded and verified over sync earns exactly once."""

from __future__ import annotations

import pytest

from tests.conftest import BOTH_BACKENDS
from tests.server.ledger_support import entries, record_and_verify, verify_cli

pytestmark = BOTH_BACKENDS


@pytest.fixture
def devices(world, api):
    return api.enroll("w1"), api.enroll("w1b")


def log_state(device, log_id: str) -> dict:
    return device.pull_all(fresh=True)[("service_logs", log_id)]["fields"]


def test_verified_log_earns_one_entry_with_evidence_and_rules(api, devices, data_dir):
    w1, w1b = devices
    rules_hash = api.ok(api.get("/rules"))["hash"]
    log_id, verify, result = record_and_verify(w1, w1b, minutes=90)

    (entry,) = entries(data_dir)
    assert entry["kind"] == "earn" and entry["amount"] == 15
    assert (entry["debit"], entry["credit"]) == ("issuance:c1", "volunteer:v1")
    assert entry["ref"] == f"service_log:{log_id}"
    assert entry["evidence"] == verify["op"]
    assert entry["rules"] == rules_hash
    assert log_state(w1, log_id)["points"] == 15

    # The same op again: duplicate with the first result, no second entry.
    again = w1b.sync([verify])["results"][0]
    assert again == {"op": verify["op"], "status": "duplicate", "version": result["version"]}
    # A fresh op verifying it again: locked (final), still one entry.
    late = w1b.change("service_logs", {"status": "verified"}, id=log_id,
                      base=result["version"])
    assert w1b.sync([late])["results"][0]["error"]["code"] == "locked"
    assert len(entries(data_dir)) == 1
    account = api.ok(api.get("/accounts/volunteer:v1"))
    assert account["balance"] == 15 and account["entries"] == [entry]

    # The evidence resolves to the change exactly as the verifier signed it.
    evidence = api.ok(api.get(f"/ops/{entry['evidence']}"))
    assert evidence["change"]["fields"] == {"status": "verified"}
    assert evidence["person"] == "w1b"


def test_zero_point_log_records_points_zero_and_earns_nothing(api, devices, data_dir):
    w1, w1b = devices
    # cleanup pays 6 points an hour: 5 minutes is floor(30 / 60) = 0 points.
    log_id, _, _ = record_and_verify(w1, w1b, activity="cleanup", minutes=5)
    fields = log_state(w1, log_id)
    assert fields["status"] == "verified" and fields["points"] == 0
    assert entries(data_dir) == []
    assert api.ok(api.get("/accounts/volunteer:v1"))["balance"] == 0


def test_rejected_log_earns_nothing(api, devices, data_dir):
    w1, w1b = devices
    log = w1.change("service_logs", {"volunteer": "v1", "activity": "elderly_care",
                                     "started_at": "2026-11-26T02:00:00Z", "minutes": 60})
    w1.sync([log])
    reject = w1b.change("service_logs", {"status": "rejected"}, id=log["id"], base=1)
    assert w1b.sync([reject])["results"][0]["status"] == "applied"
    assert entries(data_dir) == []


def test_daily_cap_counts_by_local_date_of_started_at(api, devices, data_dir):
    """Asia/Shanghai is UTC+8: 15:30Z and 16:30Z on the 26th are local dates
    26th and 27th; a per-UTC-date cap would price these logs differently."""
    w1, w1b = devices
    rules = {"activities": {"elderly_care": {"points_per_hour": 10}}, "daily_cap": 15,
             "timezone": "Asia/Shanghai"}
    rules_hash = api.ok(api.put("/rules", rules))["hash"]
    priced = {}
    for started_at in ("2026-11-26T15:30:00Z",   # local 26th 23:30 -> 10
                       "2026-11-26T16:30:00Z",   # local 27th 00:30 -> 10
                       "2026-11-26T10:00:00Z",   # local 26th 18:00 -> 5 (cap 15)
                       "2026-11-26T12:00:00Z",   # local 26th 20:00 -> 0 (cap reached)
                       "2026-11-27T15:59:00Z"):  # local 27th 23:59 -> 5
        log_id, _, _ = record_and_verify(w1, w1b, started_at=started_at, minutes=60)
        priced[started_at] = log_state(w1, log_id)["points"]
    assert list(priced.values()) == [10, 10, 5, 0, 5]
    earned = entries(data_dir)
    assert [e["amount"] for e in earned] == [10, 10, 5, 5]
    assert {e["rules"] for e in earned} == {rules_hash}
    assert api.ok(api.get("/accounts/volunteer:v1"))["balance"] == 30


def test_rules_in_force_at_verification_price_the_log(api, devices, data_dir):
    w1, w1b = devices
    log = w1.change("service_logs", {"volunteer": "v1", "activity": "elderly_care",
                                     "started_at": "2026-11-26T02:00:00Z", "minutes": 60})
    w1.sync([log])
    new_rules = {"activities": {"elderly_care": {"points_per_hour": 20}}, "daily_cap": None,
                 "timezone": "Asia/Shanghai"}
    new_hash = api.ok(api.put("/rules", new_rules))["hash"]
    verify = w1b.change("service_logs", {"status": "verified"}, id=log["id"], base=1)
    w1b.sync([verify])
    (entry,) = entries(data_dir)
    assert entry["amount"] == 20 and entry["rules"] == new_hash


def test_earned_ledger_verifies(api, devices, data_dir):
    w1, w1b = devices
    for minutes in (30, 60, 120):
        record_and_verify(w1, w1b, minutes=minutes)
    result = verify_cli("--data-dir", str(data_dir), "--workers", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ledger sound: 3 entries, head ")
