"""`gridsync field` made for the people who use it: households by a short id prefix or
their address, local times in the rules' time zone, volunteers and activities checked on
the phone before saving, dates and notes in `logs`, `conflicts`, readable errors printed
once, and a quick clear message when offline."""

from __future__ import annotations

import re
import time
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from client_sdk.errors import InvalidInput
from client_sdk.local import find_household, parse_when, show_when
from server.cli import main
from tests.helpers import free_port

ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def run(tmp_path):
    runner = CliRunner()
    env = {"GRIDSYNC_FIELD_DIR": str(tmp_path / "phone")}

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(main, ["field", *args], env=env)
        assert result.exit_code == code, (result.output, result.exception)
        assert "Traceback" not in result.output
        return result

    return invoke


def test_local_times_read_in_the_rules_time_zone():
    assert parse_when("2026-12-06 09:00", SHANGHAI) == "2026-12-06T01:00:00Z"
    assert parse_when("2026-12-06T09:05:30", SHANGHAI) == "2026-12-06T01:05:30Z"
    assert parse_when("2026-12-06T01:00:00Z", SHANGHAI) == "2026-12-06T01:00:00Z"
    assert parse_when("2026-12-06 00:30", SHANGHAI) == "2026-12-05T16:30:00Z"
    assert show_when("2026-12-05T16:30:00Z", SHANGHAI) == "2026-12-06 00:30 (16:30 UTC)"
    for bad in ("yesterday", "2026-13-01 09:00", "2026-12-06 25:00", "09:00"):
        with pytest.raises(InvalidInput, match="time|date"):
            parse_when(bad, SHANGHAI)


def test_households_by_prefix_or_address():
    ids = ("0193aaaa-0000-7000-8000-00000000a1b2", "0193aaab-0000-7000-8000-00000000c3d4",
           "0193bbbb-0000-7000-8000-00000000e5f6")
    addresses = ("幸福路 3 号 201", "幸福路 3 号 202", "和平街 8 号")
    rows = [{"id": i, "fields": {"address": a}} for i, a in zip(ids, addresses, strict=True)]
    assert find_household(rows, "0193bb") == rows[2]["id"]
    assert find_household(rows, "00c3d4") == rows[1]["id"]     # the short id lists show
    assert find_household(rows, "3 号 202") == rows[1]["id"]
    assert find_household(rows, "和平街") == rows[2]["id"]
    with pytest.raises(InvalidInput, match="2 households match '0193aa'"):
        find_household(rows, "0193aa")
    with pytest.raises(InvalidInput, match="2 households match '幸福路'"):
        find_household(rows, "幸福路")
    with pytest.raises(InvalidInput, match="no household on this phone matches"):
        find_household(rows, "zz")


def test_short_ids_local_times_checks_logs_and_conflicts(run, live_server, api, world,
                                                         make_live_field):
    api.ok(api.put("/rules", {"activities": {
        "elderly_care": {"points_per_hour": 10, "name": "助老服务"},
        "cleanup": {"points_per_hour": 6, "name": "环境清洁"}},
        "daily_cap": None, "timezone": "Asia/Shanghai"}))
    code = api.ok(api.post("/enrollments", {"person": "w1"}), 201)["code"]
    run("enroll", live_server.url, code)
    first = ID.search(run("household", "add", "--grid", "g1", "--address", "幸福路 3 号 201")
                      .stdout)[0]
    run("household", "add", "--grid", "g1", "--address", "和平街 8 号")
    run("sync")                                  # fetches the people and the rules too
    listed = run("households").stdout
    assert f"{first[-6:]}  g1  幸福路 3 号 201" in listed
    run("household", "edit", first[-6:], "--members", "2")
    run("visit", "--household", "和平街", "--outcome", "met", "--at", "2026-12-06 09:00")

    assert "v1  name of v1" in run("volunteers").stdout
    acts = run("activities").stdout
    assert "elderly_care  助老服务  10 points/hour" in acts and "Asia/Shanghai" in acts
    out = run("log-hours", "--volunteer", "nobody", "--activity", "cleanup", "--minutes", "60",
              code=1).output
    assert "no volunteer 'nobody'" in out and "v1 (name of v1)" in out
    out = run("log-hours", "--volunteer", "v1", "--activity", "gardening", "--minutes", "60",
              code=1).output
    assert "no activity 'gardening'" in out and "cleanup (环境清洁)" in out
    assert out.count("no activity") == 1         # the error is printed once
    assert '"fields"' not in out                 # readable, not JSON
    run("log-hours", "--volunteer", "v1", "--activity", "elderly_care", "--minutes", "90",
        "--started-at", "2026-12-06 09:30", "--note", "陪老人去医院")
    logs = run("logs").stdout
    assert ("2026-12-06 09:30 (01:30 UTC)  v1  助老服务  90 min  recorded  "
            "note: 陪老人去医院") in logs
    run("sync")
    assert "0 conflict(s)" in run("conflicts").stdout
    other = make_live_field("w1b")                # another phone edits the same field first
    other.sync()
    other.edit_household(first, members=5)
    run("household", "edit", "幸福路", "--members", "3")
    other.sync()
    assert "conflict 1" in run("sync").stdout
    listed = run("conflicts").stdout
    assert f"households {first}  members=3" in listed and "1 conflict(s)" in listed


def test_offline_says_so_quickly_once_and_keeps_the_changes(run, live_server, api, world):
    code = api.ok(api.post("/enrollments", {"person": "w1"}), 201)["code"]
    run("enroll", live_server.url, code)
    run("household", "add", "--grid", "g1", "--address", "幸福路 3 号 201")
    live_server.stop()
    started = time.monotonic()
    result = run("sync", code=1)
    took = time.monotonic() - started
    out = result.output
    assert took < 5, took                        # not 15 s of silence
    assert "cannot reach" in out and "offline" in out and "nothing was lost" in out
    assert out.count("cannot reach") == 1 and "HTTPConnectionPool" not in out
    assert "1 change(s) waiting to sync" in run("status").stdout


def test_unknown_server_name_is_reported_plainly(run):
    port = free_port()
    out = run("enroll", f"http://127.0.0.1:{port}", "ENR-AAAA-BBBB-CCCC-DDDD", code=1).output
    assert "cannot reach http://127.0.0.1" in out and "refused" in out


def test_enroll_help_example_keeps_its_line_break():
    out = CliRunner().invoke(main, ["field", "enroll", "--help"]).output
    assert "http://gridsync.local:8000 \\\n" in out and "ENR-K7Q2-M9XD-4TPA-X8WC --name" in out
