"""`gridsync ledger witness`: keeps a server's checkpoints outside it, co-checks
peers' and raises the alarm when the server's ledger stops extending them."""

from __future__ import annotations

import json

from click.testing import CliRunner

from server.cli import main
from tests.server.ledger_support import give
from tests.server.test_anchors_attacks import rollback_attack


def run(live_server, home, *peers):  # type: ignore[no-untyped-def]
    args = ["ledger", "witness", "--url", live_server.url, "--token", live_server.token,
            "--dir", str(home)]
    for peer in peers:
        args += ["--peer", str(peer)]
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_witness_keeps_checkpoints_and_catches_a_rollback(world, api, live_server, tmp_path):
    home, other = tmp_path / "street-office", tmp_path / "district"
    give(api, "volunteer:v1", 10)
    first = run(live_server, home)
    assert first.exit_code == 0, first.stderr
    assert "pinned the ledger's first key" in first.stderr
    assert "ledger at seq 1" in first.stdout and "first checkpoint kept" in first.stdout
    keys = json.loads((home / "keys.json").read_text())["keys"]
    assert keys[0]["key_id"] == "k1" and keys[0]["endorsement"] is None

    give(api, "volunteer:v1", 5)
    assert run(live_server, other).exit_code == 0  # a second witness, at seq 2
    give(api, "volunteer:v2", 7)
    second = run(live_server, home, other / "checkpoint.json")
    assert second.exit_code == 0, second.stderr
    assert "ledger at seq 3" in second.stdout and "extends seq 1" in second.stdout
    assert "1 peer checkpoint" in second.stdout
    assert sorted(p.name for p in (home / "history").iterdir()) == [
        "000000000001.json", "000000000003.json"]

    kept = (home / "checkpoint.json").read_text()
    rollback_attack(live_server.data_dir, careful=True)  # the newest entry cut off, tree fixed
    alarm = run(live_server, home)
    assert alarm.exit_code == 1
    assert alarm.stderr.startswith("ALERT: the server's ledger does not extend the saved "
                                   "checkpoint")
    assert "rolled back" in alarm.stderr
    assert (home / "checkpoint.json").read_text() == kept  # nothing overwritten
    # The district's witness, behind at seq 2, is still extended: only a peer's
    # newer checkpoint (co-checking) lets it see the cut.
    assert run(live_server, other).exit_code == 0
    assert run(live_server, other, home / "checkpoint.json").exit_code == 1
