"""Interrupted syncs: answers lost after the server committed, a link that dies mid-pull,
and a real server process killed mid-sync. Every change lands exactly once."""

from __future__ import annotations

import threading
import time

import pytest

from client_sdk import FlaskTransport, ServerUnavailable, TransportError
from tests.client.client_support import DropResponses, Wrapper
from tests.client.conftest import local_records, server_db, server_records


def record_day(client, households=20):
    made = []
    for i in range(households):
        h = client.add_household("g1", address=f"幸福路 {i} 号", members=i % 5)
        client.record_visit(h["id"], "met", needs=["送药"] if i % 2 else ())
        made.append(h["id"])
    return made


def assert_exactly_once(client, data_dir, households):
    server = server_records(data_dir, "households")
    assert set(households) <= set(server)
    assert all(server[h]["version"] == 1 for h in households)
    with server_db(data_dir) as conn:
        ops = conn.execute("SELECT status, count(*) FROM ops WHERE device = ? GROUP BY status",
                           (client.device_id,)).fetchall()
    assert dict(ops) == {"applied": 2 * len(households)}
    assert client.pending_count() == 0 and client.rejected() == []
    assert local_records(client, "households") == server
    assert local_records(client, "visits") == server_records(data_dir, "visits")


@pytest.mark.parametrize("drops", [1, 3])
def test_answer_lost_after_commit_is_resent_and_deduplicated(make_field, app, data_dir,
                                                             sleeps, drops):
    link = DropResponses(FlaskTransport(app), drops=drops)
    client = make_field("w1", transport=link, batch_size=15)
    households = record_day(client)
    summary = client.sync()
    assert link.dropped == drops and len(sleeps) == drops
    # The first batch was committed `drops` times over: the resends came back duplicate.
    assert summary.duplicate == 15 and summary.applied == 40 - 15
    assert_exactly_once(client, data_dir, households)


def test_sync_cut_off_mid_pull_resumes_from_the_last_stored_page(make_field, app, sleeps):
    writer = make_field("w1", batch_size=500)
    record_day(writer, households=120)
    writer.sync()

    class DiesAfter(Wrapper):
        alive = 4

        def post(self, path, body, token=None):
            if path == "/sync":
                if self.alive == 0:
                    raise TransportError("no signal")
                self.alive -= 1
            return super().post(path, body, token)

    link = DiesAfter(FlaskTransport(app))
    reader = make_field("w1b", transport=link, page_limit=25)
    with pytest.raises(ServerUnavailable, match="unreachable after 6 attempts"):
        reader.sync()
    # Four pages arrived before the link died; each was stored with its cursor.
    stored = reader.store.count_records()
    assert stored == 100 and reader.store.get("cursor") is not None
    link.alive = 100
    sent_before = len(link.posts)
    summary = reader.sync()
    assert summary.pulled == 240 + 3 - 100  # households, visits, people
    assert len(link.posts) - sent_before == summary.pages == 6
    assert len(reader.households()) == 120 and len(reader.visits()) == 120


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_live_server_down_after_commit_then_restarted(make_live_field, live_server,
                                                      data_dir, sleeps, how):
    sleeps.hook = lambda _: live_server.proc is None and live_server.start()
    client = make_live_field(
        "w1", wrap=lambda t: DropResponses(t, drops=1, after=getattr(live_server, how)),
        batch_size=100)
    households = record_day(client, households=125)
    summary = client.sync()
    assert live_server.proc is not None and len(sleeps) >= 1
    assert summary.duplicate == 100 and summary.applied == 150
    assert_exactly_once(client, data_dir, households)


def test_live_server_killed_while_a_request_is_in_flight(make_live_field, live_server,
                                                         data_dir, sleeps):
    sleeps.hook = lambda _: live_server.proc is None and live_server.start()

    class KillsDuringSecondPush(Wrapper):
        def post(self, path, body, token=None):
            if path == "/sync" and body["changes"] and len(self.posts) == 1:
                threading.Timer(0.02, live_server.kill).start()
            return super().post(path, body, token)

    client = make_live_field("w1", wrap=KillsDuringSecondPush, batch_size=500)
    households = record_day(client, households=1000)
    started = time.monotonic()
    summary = client.sync()
    # Whether the killed request had committed or not, the outcome is the same.
    assert len(sleeps) >= 1, "the kill did not interrupt the sync"
    assert summary.applied + summary.duplicate == 2000 and summary.rejected == 0
    assert time.monotonic() - started < 120
    assert_exactly_once(client, data_dir, households)
