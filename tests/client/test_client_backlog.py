"""A device back after a week offline with 2,000 pending changes syncs in one call."""

from __future__ import annotations

import time

from client_sdk import FieldClient, FlaskTransport, RetryPolicy
from tests.client.conftest import local_records, server_records

WEEK_MS = 7 * 24 * 3600 * 1000


def test_a_week_offline_with_2000_pending_changes_syncs_in_one_call(app, api, world, tmp_path,
                                                                    data_dir, sleeps):
    now = time.time_ns() // 1_000_000
    clock = {"ms": now - WEEK_MS}
    code = api.ok(api.post("/enrollments", {"person": "w1"}), 201)["code"]
    client = FieldClient(tmp_path / "phone", FlaskTransport(app), retry=RetryPolicy(sleep=sleeps),
                         wall_clock_ms=lambda: clock["ms"])
    client.enroll("http://in-process", code, "phone")
    households = []
    for i in range(700):  # a week of door knocking: 2,000 changes, time moving on
        clock["ms"] += WEEK_MS // 2100
        h = client.add_household("g1a" if i % 3 else "g1", address=f"幸福路 {i} 号",
                                 members=i % 6, tags=["独居老人"] if i % 5 == 0 else [])
        households.append(h["id"])
        clock["ms"] += WEEK_MS // 2100
        client.record_visit(h["id"], "met" if i % 4 else "not_home",
                            needs=["送药"] if i % 7 == 0 else (), notes=f"第 {i} 户")
        if i < 600:
            clock["ms"] += WEEK_MS // 2100
            client.log_hours("v1", "cleanup", 30 + i % 60)
    assert client.pending_count() == 2000
    clock["ms"] = now
    progress = []
    summary = client.sync(lambda s, pending: progress.append((s.pages, pending)))
    assert (summary.applied, summary.rejected, summary.duplicate) == (2000, 0, 0)
    assert summary.pages >= 4 and progress[-1][1] == 0
    assert [pending for _, pending in progress[:4]] == [1500, 1000, 500, 0]
    assert client.pending_count() == 0 and sleeps == []
    for collection in ("households", "visits", "service_logs"):
        assert local_records(client, collection) == server_records(data_dir, collection)
    assert len(client.households()) == 700 and len(client.visits()) == 700
    assert len(client.service_logs()) == 600
    assert all(h["version"] == 1 and h["pending"] == 0 for h in client.households())


def test_client_batches_fit_the_servers_cap_on_changes_per_request():
    from client_sdk.client import MAX_BATCH
    from sync.wire import MAX_CHANGES

    assert 1 <= MAX_BATCH <= MAX_CHANGES
