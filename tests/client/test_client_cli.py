"""`gridsync field` against a real `gridsync serve`: enrol, record, sync, status."""

from __future__ import annotations

import json
import re

import click
import pytest
from click.testing import CliRunner

from client_sdk.cli import field
from server.cli import main
from tests.helpers import free_port

ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def run(tmp_path):
    runner = CliRunner()
    env = {"GRIDSYNC_FIELD_DIR": str(tmp_path / "phone")}

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(main, ["field", *args], env=env)
        assert result.exit_code == code, (result.output, result.exception)
        return result

    return invoke


def test_cli_walk_through_against_a_live_server(run, live_server, api, world, make_live_field):
    seeder = make_live_field("w1b")
    for i in range(600):  # more than one page for the phone's first pull
        seeder.add_household("g1", address=f"和平街 {i} 号")
    assert seeder.sync().applied == 600

    code = api.ok(api.post("/enrollments", {"person": "w1"}), 201)["code"]
    out = run("enroll", live_server.url, code, "--name", "王芳的手机").stdout
    assert re.match(r"enrolled device dev_\w+ for w1 \(worker, grids g1\)", out)

    out = run("household", "add", "--grid", "g1", "--address", "幸福路 3 号 201",
              "--head-name", "张三", "--members", "3", "--tag", "独居老人").stdout
    household = ID.search(out)[0]
    assert "1 change(s) waiting to sync" in out
    run("household", "edit", household, "--members", "4", "--phone", "13800000000")
    run("visit", "--household", household, "--outcome", "met", "--need", "送药",
        "--hazard", "飞线充电", "--note", "老人独居，需每周回访")
    run("log-hours", "--volunteer", "v1", "--activity", "cleanup", "--minutes", "60",
        "--started-at", "2026-11-20T01:30:00Z")
    run("log-hours", "--volunteer", "v2", "--activity", "cleanup", "--minutes", "60")

    before = json.loads(run("status", "--json").stdout)
    assert before["pending"] == 4 and before["last_sync"] is None and before["cursor"] is None

    result = run("sync")
    assert result.stdout.strip().splitlines()[-1] == (
        "applied 3, duplicate 0, conflict 0, rejected 1, pulled 606")
    assert "sync: page 2" in result.stderr  # progress on a long sync
    assert "see `gridsync field status`" in result.stderr

    status = json.loads(run("status", "--json").stdout)
    assert status["pending"] == 0 and status["cursor"]
    assert status["last_sync"]["applied"] == 3 and status["last_sync"]["at"].endswith("Z")
    (rejected,) = status["rejected"]
    assert (rejected["code"], rejected["message"]) == ("forbidden",
                                                        "volunteer is not in your grids")
    text = run("status").stdout
    assert f"{rejected['op']}  service_logs {rejected['id']}: forbidden" in text
    run("dismiss", rejected["op"])
    assert json.loads(run("status", "--json").stdout)["rejected"] == []

    listed = json.loads(run("households", "--json").stdout)["households"]
    mine = next(h for h in listed if h["id"] == household)
    assert mine["fields"] == {"grid": "g1", "address": "幸福路 3 号 201", "head_name": "张三",
                              "members": 4, "tags": ["独居老人"], "phone": "13800000000"}
    assert (mine["version"], mine["pending"]) == (1, 0) and len(listed) == 601
    assert "601 household(s)" in run("households").stdout
    assert "2026-11-20 09:30 (01:30 UTC)  v1  cleanup  60 min  recorded" in run("logs").stdout


def test_cli_errors_are_clear_and_non_zero(run, tmp_path):
    out = run("status", code=1).output
    assert "not enrolled" in out and "gridsync field --dir DIR enroll URL CODE" in out
    assert "Traceback" not in out
    out = run("--attempts", "2", "enroll", f"http://127.0.0.1:{free_port()}", "CODE",
              code=1).output
    assert "Error: enrol: cannot reach http://127.0.0.1:" in out and "offline" in out
    assert not (tmp_path / "phone" / "device.key").exists()


def test_cli_bad_input_and_unknown_records(run, live_server, api, world):
    code = api.ok(api.post("/enrollments", {"person": "w1"}), 201)["code"]
    run("enroll", live_server.url, code)
    assert "Invalid value for '--members'" in run("household", "add", "--grid", "g1",
                                                 "--members", "-1", code=2).output
    out = run("visit", "--household", "0193a1b2-0000-7000-8000-000000000001",
              "--outcome", "met", code=1).output
    assert "no household on this phone matches '0193a1b2-0000-7000-8000-000000000001'" in out
    out = run("log-hours", "--volunteer", "v1", "--activity", "cleanup", "--minutes", "900",
              code=1).output
    assert "minutes" in out and "Traceback" not in out
    live_server.stop()
    out = run("--attempts", "1", "sync", code=1).output
    assert "cannot reach" in out and "nothing was lost" in out


def commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))


@pytest.mark.parametrize("path", [(), *commands(field)], ids=lambda p: " ".join(p) or "field")
def test_every_command_has_help_with_an_example(path):
    result = CliRunner().invoke(main, ["field", *path, "--help"])
    assert result.exit_code == 0 and "Example:" in result.output
