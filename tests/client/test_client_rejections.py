"""Rejected changes stay listed with reasons; evictions, 410 and clock skew are handled."""

from __future__ import annotations

import time

import pytest

from client_sdk import FieldClient, FlaskTransport, RetryPolicy, UnknownRecord
from sync.hlc import parse_hlc
from tests.client.conftest import local_records, server_db, server_records
from tests.helpers import age_tombstones, purge_after_cursor_check


def test_rejected_changes_stay_listed_with_reasons_and_never_block_the_rest(make_field,
                                                                          data_dir):
    client = make_field("w1")
    good = client.add_household("g1", address="1 号")
    outside = client.log_hours("v2", "cleanup", 30)  # v2 lives in g2
    unknown = client.log_hours("v1", "knitting", 30)  # not in the earning rules
    also_good = client.record_visit(good["id"], "met")
    summary = client.sync()
    assert (summary.applied, summary.rejected) == (2, 2)
    reasons = {r["id"]: (r["code"], r["message"]) for r in client.rejected()}
    assert reasons == {outside["id"]: ("forbidden", "volunteer is not in your grids"),
                       unknown["id"]: ("validation", "activity is not in the earning rules")}
    assert client.rejected()[1]["fields"] == {"fields": {"activity": ["Not in the current rules."]}}
    # The optimistic copies of what the server refused are gone; the rest stays.
    assert client.service_logs() == []
    assert [v["id"] for v in client.visits()] == [also_good["id"]]
    assert client.pending_count() == 0
    # Still listed after another sync, until the person dismisses them.
    client.sync()
    assert len(client.rejected()) == 2
    client.dismiss_rejected(client.rejected()[0]["op"])
    assert [r["id"] for r in client.rejected()] == [unknown["id"]]
    with pytest.raises(UnknownRecord):
        client.dismiss_rejected("no-such-op")
    # Reopening the store keeps the list.
    client.close()
    again = FieldClient(client.dir, client.transport)
    assert [r["code"] for r in again.rejected()] == ["validation"]


def test_a_rejected_edit_is_taken_back_out_of_the_local_copy(make_field, data_dir):
    client = make_field("w1")
    h = client.add_household("g1", address="1 号", members=2)
    client.sync()
    client.edit_household(h["id"], grid="g2", members=5)  # w1 does not hold g2
    assert client.household(h["id"])["fields"]["grid"] == "g2"
    summary = client.sync()
    assert summary.rejected == 1 and client.rejected()[0]["code"] == "forbidden"
    # The server's record did not change (so no pull brings it): the client restores it.
    assert client.household(h["id"])["fields"] == {"grid": "g1", "address": "1 号",
                                                   "members": 2}
    assert local_records(client, "households") == server_records(data_dir, "households")


def test_a_lost_race_is_rejected_and_the_next_pull_corrects_the_copy(make_field, api):
    api.person("w1c", "worker", ["g1"])
    recorder, b, c = make_field("w1"), make_field("w1b"), make_field("w1c")
    log = recorder.log_hours("v1", "elderly_care", 90)
    recorder.sync()
    b.sync()
    c.sync()
    b.verify_log(log["id"])
    c.reject_log(log["id"])
    assert c.service_logs()[0]["fields"]["status"] == "rejected"  # optimistic
    assert b.sync().applied == 1
    summary = c.sync()
    assert summary.rejected == 1
    assert c.rejected()[0]["code"] in ("locked", "stale")
    fields = c.service_logs()[0]["fields"]
    assert (fields["status"], fields["verified_by"], fields["points"]) == ("verified", "w1b", 15)


def test_scope_shrink_evicts_local_records(make_field, api):
    client = make_field("w1")
    for i in range(3):
        h = client.add_household("g1", address=f"{i} 号")
        client.record_visit(h["id"], "met")
    client.log_hours("v1", "cleanup", 30)
    client.sync()
    assert len(client.households()) == 3
    api.ok(api.patch("/people/w1", {"grids": ["g2"]}))
    summary = client.sync()
    assert summary.evicted >= 3
    assert client.households() == [] and client.service_logs() == []
    # Own visits stay in scope (a worker's own visits), per docs/protocol.md.
    assert len(client.visits()) == 3


def test_cursor_expired_drops_local_records_keeps_the_outbox_and_pulls_from_null(
        make_field, data_dir):
    writer, client = make_field("w1b"), make_field("w1")
    for i in range(30):
        writer.add_household("g1", address=f"{i} 号")
    writer.sync()
    mine = client.add_household("g1", address="mine")
    client.sync()
    assert len(client.households()) == 31
    pending = client.add_household("g1", address="offline")
    client.edit_household(mine["id"], members=7)
    with server_db(data_dir) as conn:
        top = conn.execute("SELECT max(seq) FROM records").fetchone()[0]
        conn.execute("INSERT INTO settings (key, value) VALUES ('purged_seq', ?) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (top + 1,))
    writer.add_household("g1", address="after the purge")
    writer.sync()
    summary = client.sync()
    assert summary.restarts == 1 and summary.rejected == 0
    assert client.pending_count() == 0
    assert client.household(pending["id"])["version"] == 1
    assert client.household(mine["id"])["fields"]["members"] == 7
    assert local_records(client, "households") == server_records(data_dir, "households")
    assert len(client.households()) == 33


def test_a_purge_between_the_cursor_check_and_the_page_still_drops_the_deleted_record(
        make_field, data_dir, monkeypatch):
    """A purge committed (another worker, another host) after the server checked the
    phone's cursor but before it read the page: the phone still learns of the delete
    whose tombstone went (a restart from null), and its pending change applies once."""
    writer, client = make_field("w1b"), make_field("w1")
    doomed = writer.add_household("g1", address="gone")
    writer.sync()
    client.sync()
    assert client.household(doomed["id"]) is not None
    writer.delete_household(doomed["id"])
    writer.sync()
    age_tombstones(data_dir)
    pending = client.add_household("g1", address="offline")
    purged = purge_after_cursor_check(monkeypatch, data_dir)
    summary = client.sync()
    assert purged == [1]
    assert summary.restarts == 1 and client.pending_count() == 0
    assert client.household(doomed["id"]) is None
    assert client.household(pending["id"])["version"] == 1
    assert local_records(client, "households") == server_records(data_dir, "households")


def test_clock_skew_adopts_the_server_offset_and_resends_with_new_op_ids(app, api, world,
                                                                         tmp_path, data_dir,
                                                                         sleeps):
    ahead = 2 * 3600 * 1000  # the phone's clock is two hours fast
    code = api.ok(api.post("/enrollments", {"person": "w1"}), 201)["code"]
    client = FieldClient(tmp_path / "fast", FlaskTransport(app), retry=RetryPolicy(sleep=sleeps),
                         wall_clock_ms=lambda: time.time_ns() // 1_000_000 + ahead)
    client.enroll("http://in-process", code, "fast phone")
    h = client.add_household("g1", address="1 号")
    visit = client.record_visit(h["id"], "met")
    first_ops = [c["op"] for c in client.outbox()]
    summary = client.sync()
    assert (summary.applied, summary.rejected, summary.restamped) == (2, 0, 2)
    assert client.rejected() == [] and client.pending_count() == 0
    assert abs(client.clock.offset_ms + ahead) < 60_000
    now = time.time_ns() // 1_000_000
    stamps = [parse_hlc(r["hlc"])[0] for r in (client.household(h["id"]),
                                                client.visits()[0])]
    assert all(abs(wall - now) < 60_000 for wall in stamps)
    with server_db(data_dir) as conn:
        ops = dict(conn.execute("SELECT op, coalesce(error_code, status) FROM ops "
                                "WHERE device = ?", (client.device_id,)).fetchall())
    assert [ops[op] for op in first_ops] == ["clock_skew", "clock_skew"]
    assert sorted(ops.values()) == ["applied", "applied", "clock_skew", "clock_skew"]
    assert server_records(data_dir, "visits")[visit["id"]]["version"] == 1
    # The offset survives a restart: new stamps stay near server time.
    client.close()
    again = FieldClient(tmp_path / "fast", FlaskTransport(app), retry=RetryPolicy(sleep=sleeps),
                        wall_clock_ms=lambda: time.time_ns() // 1_000_000 + ahead)
    again.edit_household(h["id"], members=2)
    assert abs(parse_hlc(again.outbox()[0]["hlc"])[0] - time.time_ns() // 1_000_000) < 60_000
    assert again.sync().applied == 1
