"""Two devices of one grid record offline, sync, and converge; another grid sees none of it."""

from __future__ import annotations

from tests.client.conftest import local_records, server_records

COLLECTIONS = ("households", "visits", "service_logs")


def snapshot(client):
    return {c: local_records(client, c) for c in COLLECTIONS}


def test_two_devices_converge_and_another_grid_sees_nothing(make_field, data_dir):
    a, b, other = make_field("w1"), make_field("w1b"), make_field("w2")
    shared = a.add_household("g1", address="幸福路 1 号", members=2)
    a.sync()
    b.sync()
    assert b.household(shared["id"])["fields"]["members"] == 2

    # A day offline on both phones.
    mine = [a.add_household("g1", address=f"幸福路 {i} 号", members=i, tags=["独居老人"])
            for i in range(2, 7)]
    theirs = [b.add_household("g1a", address=f"和平街 {i} 号", head_name="李四")
              for i in range(5)]
    for h in mine:
        a.record_visit(h["id"], "met", needs=["送药"], hazards=["飞线充电"], notes="需回访",
                       lat_e6=31_230_000, lon_e6=121_470_000)
    for h in theirs:
        b.record_visit(h["id"], "not_home")
    a.record_visit(shared["id"], "met")
    b.record_visit(shared["id"], "refused")
    a.edit_household(shared["id"], members=3, phone="13800000000")
    b.edit_household(shared["id"], members=4, notes="楼道堆物")
    log_a = a.log_hours("v1", "cleanup", 60)
    log_b = b.log_hours("v1", "elderly_care", 45, notes="陪护")
    assert a.pending_count() == 5 + 6 + 1 + 1 and b.pending_count() == 5 + 6 + 1 + 1

    first, second = a.sync(), b.sync()
    assert (first.applied, first.rejected) == (13, 0)
    assert (second.applied, second.conflict, second.rejected) == (12, 1, 0)
    assert len(b.conflicts()) == 1 and b.conflicts()[0]["id"] == shared["id"]
    a.sync()

    # Four eyes: each verifies or rejects the log the other recorded.
    b.verify_log(log_a["id"])
    a.reject_log(log_b["id"])
    for device in (a, b, a, b):
        assert device.sync().rejected == 0

    assert a.pending_count() == b.pending_count() == 0
    server = {c: server_records(data_dir, c) for c in COLLECTIONS}
    assert snapshot(a) == snapshot(b) == server
    assert len(server["households"]) == 11 and len(server["visits"]) == 12
    merged = a.household(shared["id"])["fields"]
    # Per field: members changed on both (one value wins by stamp), the rest merged.
    assert merged["members"] in (3, 4) and merged["phone"] == "13800000000"
    assert merged["notes"] == "楼道堆物"
    logs = {log["id"]: log["fields"] for log in a.service_logs()}
    assert logs[log_a["id"]]["status"] == "verified" and logs[log_a["id"]]["points"] == 6
    assert logs[log_b["id"]]["status"] == "rejected"

    summary = other.sync()
    assert summary.rejected == 0
    assert other.households() == [] and other.visits() == [] and other.service_logs() == []
    assert {p["id"] for p in other.people()} == {"w2", "v2"}


def test_a_delete_offline_reaches_the_other_device_as_a_tombstone(make_field, data_dir):
    a, b = make_field("w1"), make_field("w1b")
    h = a.add_household("g1", address="待拆迁")
    a.sync()
    b.sync()
    a.delete_household(h["id"])
    assert a.households() == [] and a.household(h["id"])["deleted"] is True
    a.sync()
    b.sync()
    assert b.households() == []
    assert b.household(h["id"])["deleted"] is True
    assert snapshot(a)["households"] == snapshot(b)["households"] == server_records(
        data_dir, "households")


def test_own_offline_edits_are_coalesced_and_never_conflict_with_each_other(make_field):
    a = make_field("w1")
    h = a.add_household("g1", address="1 号")
    a.sync()
    a.edit_household(h["id"], members=1)
    a.edit_household(h["id"], members=2, phone="139")
    a.edit_household(h["id"], tags=["低保"])
    assert a.pending_count() == 1
    (change,) = a.outbox()
    assert change["fields"] == {"members": 2, "phone": "139", "tags": ["低保"]}
    assert change["base"] == 1
    summary = a.sync()
    assert (summary.applied, summary.conflict) == (1, 0)
    assert a.household(h["id"])["fields"] == {"grid": "g1", "address": "1 号", "members": 2,
                                              "phone": "139", "tags": ["低保"]}
    assert a.household(h["id"])["version"] == 2
