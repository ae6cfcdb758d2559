"""Docs are tested: CLI help has examples, every error code is documented, and the
README's curl walk-through runs as written against a real `gridsync serve`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from server.cli import main
from server.errors import ALL_ERRORS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PROTOCOL = ROOT / "docs" / "protocol.md"
SYNC_REJECTIONS = ("validation", "bad_signature", "forbidden", "unknown_record", "immutable",
                   "locked", "stale", "clock_skew", "id_reused")


def commands(cmd=main, path=()):
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.commands):
            yield from commands(cmd.commands[name], (*path, name))


COMMANDS = [" ".join(path) for path, _ in commands()]


@pytest.mark.parametrize("command", COMMANDS, ids=[c or "gridsync" for c in COMMANDS])
def test_every_command_has_help_with_an_example(command):
    result = CliRunner().invoke(main, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`gridsync {command} --help` has no example"


@pytest.mark.parametrize("code", sorted({e.code for e in ALL_ERRORS} | {"internal"}
                                        | set(SYNC_REJECTIONS)))
def test_every_error_code_is_in_protocol_md(code):
    assert f"`{code}`" in PROTOCOL.read_text(encoding="utf-8")


def test_error_table_states_each_status():
    text = PROTOCOL.read_text(encoding="utf-8")
    for err in ALL_ERRORS:
        assert re.search(rf"\|\s*{err.status}\s*\|\s*`{err.code}`", text), err.code


def test_protocol_md_has_the_sync_and_ledger_sections():
    headings = re.findall(r"(?m)^## (.+)$", PROTOCOL.read_text(encoding="utf-8"))
    for name in ("Conventions", "Authentication", "Errors", "Health and discovery (no token)",
                 "Administration (admin token)", "Devices", "Sync", "Ledger and points"):
        assert name in headings, name


def test_readme_opens_with_make_serve_and_make_test():
    first, second = README.read_text(encoding="utf-8").splitlines()[:2]
    assert first.startswith("make serve ") and "127.0.0.1:8000" in first
    assert second.startswith("make test ")


def readme_blocks():
    text = README.read_text(encoding="utf-8")
    walk = re.search(r"<!-- walkthrough -->\s*```sh\n(.*?)```\s*<!-- /walkthrough -->", text,
                     re.S)
    after = re.search(r"```sh\n(CODE=.*?)```", text[walk.end():], re.S)
    return walk.group(1), after.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_walkthrough_runs_as_written(live_server, tmp_path):
    walk, device = readme_blocks()
    assert "TOKEN='paste the admin token here'" in walk
    script = (walk.replace("'paste the admin token here'", f"'{live_server.token}'")
              .replace("http://127.0.0.1:8000", live_server.url))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True,
                         text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    answers = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    assert len(answers) == script.count("\ncurl ")
    *good, last = answers
    assert all("error" not in a for a in good), good
    assert last["error"]["code"] == "validation"
    assert good[0] == {"protocol": 1, "status": "ok", "version": good[0]["version"]}
    code = next(a["code"] for a in answers if "code" in a and "expires_at" in a)

    # The second block: the device enrols with the reference client, records, syncs.
    preamble = script.split("\n\n")[0]
    device_script = (device.replace("ENR-VQ19-4Q8Y-01FV-7FVG", code)
                     .replace("http://127.0.0.1:8000", live_server.url)
                     .replace("~/gridsync-phone", str(tmp_path / "phone"))
                     .replace(".venv/bin/gridsync", "gridsync"))
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", preamble + "\n" + device_script],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    devices = json.loads(out.stdout.strip().splitlines()[-1])["devices"]
    assert [(d["person"], d["name"], d["applied"]) for d in devices] == [
        ("p-wang", "王芳的手机", 1)]


# Built from parts so that this file does not name them itself.
OUTSIDE = ("PROTOCOL" + ".md", "DESIGN" + ".md", ".." + "/shared")


def test_the_repository_stands_alone():
    """Nothing in the repository cites a file its users cannot open: docs/protocol.md is
    the contract, docs/design.md the design."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: cannot list the committed files")
    found = []
    for name in listed.stdout.decode().split("\0"):
        path = ROOT / name
        if not name or not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        found += [f"{name}: {word}" for word in OUTSIDE if word in text]
    assert not found, "\n".join(found)
    for doc in ("protocol.md", "design.md"):
        assert (ROOT / "docs" / doc).is_file()


def test_every_setting_is_in_the_readme_table():
    """The README's settings table lists every field of server.config.Settings."""
    import dataclasses

    from server.config import Settings

    text = README.read_text(encoding="utf-8")
    missing = [f.name for f in dataclasses.fields(Settings)
               if f"| `GRIDSYNC_{f.name.upper()}` |" not in text]
    assert not missing, missing
