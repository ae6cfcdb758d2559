"""The device's own state: key and config files, ids, clock, validation, optimistic copies."""

from __future__ import annotations

import os
import re
import stat
import time

import pytest

from client_sdk import (
    AlreadyEnrolled,
    FieldClient,
    FieldClientError,
    FlaskTransport,
    InvalidInput,
    NotEnrolled,
    RetryPolicy,
    ServerUnavailable,
    TransportError,
    UnknownRecord,
)
from client_sdk.ids import uuid7
from sync.hlc import parse_hlc
from sync.schemas import parse_change
from sync.signing import verify_change
from tests.client.client_support import Wrapper

UUID7 = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_enrolment_writes_a_0600_key_and_config(make_field, api):
    client = make_field("w1")
    assert mode(client.dir / "device.key") == 0o600
    assert mode(client.dir / "config.json") == 0o600
    assert mode(client.dir) == 0o700
    assert len((client.dir / "device.key").read_bytes()) == 32
    assert (client.person, client.role, client.grids) == ("w1", "worker", ["g1"])
    devices = {d["id"]: d for d in api.ok(api.get("/devices"))["devices"]}
    assert devices[client.device_id]["person"] == "w1"
    with pytest.raises(AlreadyEnrolled):
        client.enroll("http://in-process", "whatever", "again")


def test_a_key_readable_by_others_is_refused(make_field):
    client = make_field("w1")
    client.close()
    os.chmod(client.dir / "device.key", 0o644)
    with pytest.raises(FieldClientError, match="readable by others.*chmod 600"):
        FieldClient(client.dir)


def test_not_enrolled_is_a_clear_error(tmp_path):
    client = FieldClient(tmp_path / "new")
    assert not client.enrolled
    with pytest.raises(NotEnrolled, match="gridsync field enroll"):
        client.add_household("g1")
    with pytest.raises(NotEnrolled):
        client.sync()
    assert client.status()["enrolled"] is False


def test_ids_are_lowercase_time_ordered_uuid7():
    ids = [uuid7(1_700_000_000_000 + i) for i in range(50)]
    assert all(UUID7.match(i) for i in ids)
    assert ids == sorted(ids)


def test_local_edits_are_optimistic_signed_and_valid(make_field):
    client = make_field("w1")
    h = client.add_household("g1", address="1 号", members=3, tags=["低保"])
    assert UUID7.match(h["id"])
    assert (h["version"], h["pending"]) == (0, 1)
    assert client.household(h["id"])["fields"] == {"grid": "g1", "address": "1 号",
                                                   "members": 3, "tags": ["低保"]}
    visit = client.record_visit(h["id"], "met", needs=["送药"], hazards=["飞线充电"],
                                notes="…", lat_e6=31_230_416, lon_e6=121_473_701)
    log = client.log_hours("v1", "cleanup", 45, started_at="2026-11-20T01:00:00Z")
    assert log["fields"]["status"] == "recorded"
    assert client.pending_count() == 3
    for change in client.outbox():
        assert parse_change(change) is change
        verify_change(change, client.key.public_key)
        assert parse_hlc(change["hlc"])[2] == client.device_id
    assert client.visits(h["id"])[0]["id"] == visit["id"]


@pytest.mark.parametrize("call, message", [
    (lambda c: c.add_household("g1", members=-1), "members"),
    (lambda c: c.add_household("g1", members=1.0), "members: Not a valid integer"),
    (lambda c: c.add_household("g1", colour="red"), "unknown households field"),
    (lambda c: c.add_household("bad grid!"), "grid"),
    (lambda c: c.add_household("g1", notes="x" * 4001), "notes"),
    (lambda c: c.log_hours("v1", "cleanup", 0), "minutes"),
    (lambda c: c.log_hours("v1", "cleanup", 30, started_at="yesterday"), "started_at"),
])
def test_bad_input_is_refused_and_records_nothing(make_field, call, message):
    client = make_field("w1")
    with pytest.raises(InvalidInput, match=message):
        call(client)
    assert client.pending_count() == 0 and client.households() == []


def test_edits_need_a_known_record(make_field):
    client = make_field("w1")
    with pytest.raises(UnknownRecord):
        client.edit_household("0193a1b2-0000-7000-8000-000000000001", members=1)
    with pytest.raises(UnknownRecord):
        client.record_visit("0193a1b2-0000-7000-8000-000000000001", "met")
    h = client.add_household("g1")
    with pytest.raises(InvalidInput, match="outcome"):
        client.record_visit(h["id"], "maybe")
    with pytest.raises(InvalidInput, match="nothing to change"):
        client.edit_household(h["id"])


def test_verify_checks_four_eyes_and_sync_state_locally(make_field):
    recorder = make_field("w1")
    log = recorder.log_hours("v1", "cleanup", 30)
    with pytest.raises(InvalidInput, match="sync first"):
        recorder.verify_log(log["id"])
    recorder.sync()
    with pytest.raises(InvalidInput, match="four eyes"):
        recorder.verify_log(log["id"])
    assert recorder.pending_count() == 0


def test_the_clock_stays_monotonic_across_restarts_even_if_the_wall_clock_goes_back(
        app, api, world, tmp_path, sleeps):
    code = api.ok(api.post("/enrollments", {"person": "w1"}), 201)["code"]
    now = time.time_ns() // 1_000_000
    client = FieldClient(tmp_path / "p", FlaskTransport(app), wall_clock_ms=lambda: now,
                         retry=RetryPolicy(sleep=sleeps))
    client.enroll("http://in-process", code, "p")
    h = client.add_household("g1")
    first = client.outbox()[0]["hlc"]
    client.close()
    earlier = FieldClient(tmp_path / "p", FlaskTransport(app),
                          wall_clock_ms=lambda: now - 3_600_000, retry=RetryPolicy(sleep=sleeps))
    earlier.record_visit(h["id"], "met")
    assert earlier.outbox()[1]["hlc"] > first


def test_pulled_stamps_move_the_clock_forward(make_field, app, api, world, tmp_path, sleeps):
    fast = make_field("w1b", wall_clock_ms=lambda: time.time_ns() // 1_000_000 + 120_000)
    h = fast.add_household("g1", address="stamped two minutes ahead")
    fast.sync()
    slow = make_field("w1")
    slow.sync()
    theirs = slow.household(h["id"])["hlc"]
    slow.edit_household(h["id"], members=1)
    assert slow.outbox()[0]["hlc"] > theirs
    slow.sync()
    assert slow.household(h["id"])["fields"]["members"] == 1  # a later edit wins


def test_a_change_that_may_have_been_sent_is_never_rewritten(make_field, app, sleeps):
    class Down(Wrapper):
        up = True

        def post(self, path, body, token=None):
            if path == "/sync" and not self.up:
                raise TransportError("no signal")
            return super().post(path, body, token)

    link = Down(FlaskTransport(app))
    client = make_field("w1", transport=link)
    h = client.add_household("g1")
    client.sync()
    client.edit_household(h["id"], members=1)
    link.up = False
    with pytest.raises(ServerUnavailable):
        client.sync()
    client.edit_household(h["id"], members=2)
    assert [c["fields"] for c in client.outbox()] == [{"members": 1}, {"members": 2}]
    link.up = True
    assert client.sync().applied == 2
    assert client.household(h["id"])["fields"]["members"] == 2


def test_an_acknowledged_create_is_a_known_version_before_it_is_pulled(make_field, app, sleeps):
    writer = make_field("w1b")
    for i in range(50):
        writer.add_household("g1", address=f"{i} 号")
    writer.sync()

    class DiesAfterFirst(Wrapper):
        up = True

        def post(self, path, body, token=None):
            if path == "/sync":
                if not self.up:
                    raise TransportError("no signal")
                self.up = False
            return super().post(path, body, token)

    link = DiesAfterFirst(FlaskTransport(app))
    client = make_field("w1", transport=link, page_limit=10)
    h = client.add_household("g1", address="mine")
    with pytest.raises(ServerUnavailable):
        client.sync()
    assert client.pending_count() == 0 and len(client.households()) < 51  # one page only
    assert client.household(h["id"])["version"] == 1  # known from the result, not pulled yet
    client.edit_household(h["id"], members=3)
    assert client.outbox()[0]["base"] == 1
    link.up = True
    link.__class__ = Wrapper  # signal is back for good
    summary = client.sync()
    assert (summary.applied, summary.conflict) == (1, 0)
    assert client.household(h["id"])["fields"]["members"] == 3
