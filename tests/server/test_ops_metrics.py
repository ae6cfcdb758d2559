"""GET /metrics in-process: admin only, figures from the database, bounded labels."""

from __future__ import annotations

import os

import pytest
from prometheus_client.parser import text_string_to_metric_families

from server.metrics import (
    MULTIPROC_ENV,
    default_multiprocess_dir,
    discard_multiprocess_dir,
    prepare_multiprocess_dir,
)
from tests.server.ops_support import earn_and_redeem


def values(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_for_admins_only(client, api, world):
    worker = api.enroll("w1")
    assert client.get("/metrics").status_code == 401
    resp = client.get("/metrics", headers={"Authorization": f"Bearer {worker.token}"})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    assert resp.headers["X-Request-Id"]


def test_metrics_from_the_database(client, api, world):
    worker, verifier = api.enroll("w1"), api.enroll("w1b")
    shop = api.enroll("shop1").token
    earn_and_redeem(api, worker, verifier, shop_token=shop, card=world.cards["v1"], redeem=True)
    client.open("/api/v1/grids", method="BREW")  # an odd method: one bounded label
    resp = client.get("/metrics", headers=api.headers())
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    got = values(resp.get_data(as_text=True))
    assert got[("gridsync_ledger_entries_total", (("kind", "earn"),))] == 1
    assert got[("gridsync_ledger_entries_total", (("kind", "redeem"),))] == 1
    assert got[("gridsync_ledger_head_seq", ())] == 2
    assert got[("gridsync_points_outstanding", ())] == 10 - 4  # earned 10, soap costs 4
    assert got[("gridsync_sync_changes_total", (("code", ""), ("status", "applied")))] == 2
    assert got[("gridsync_devices", (("state", "active"),))] == 3
    assert got[("gridsync_devices_seen_last_day", ())] == 2  # the shop terminal never syncs
    assert got[("gridsync_records", (("collection", "service_logs"),))] == 1
    assert got[("gridsync_conflicts_open", ())] == 0
    methods = {dict(labels).get("method") for (name, labels) in got
               if name == "gridsync_http_requests_total"}
    assert "BREW" not in methods and "other" in methods


def test_multiprocess_dir_defaults_to_memory_not_the_data_dir(tmp_path, monkeypatch):
    """The workers' mmap'd counter files must not share the data dir's disk: a page
    first touched on a full filesystem is a SIGBUS (tests/reliability/test_disk_full.py)."""
    monkeypatch.setenv(MULTIPROC_ENV, "")  # so that undo removes what prepare sets
    monkeypatch.delenv(MULTIPROC_ENV)
    monkeypatch.setenv("RUNTIME_DIRECTORY", str(tmp_path / "run"))  # systemd's
    assert default_multiprocess_dir("data") == tmp_path / "run" / "prometheus"
    monkeypatch.delenv("RUNTIME_DIRECTORY")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    one, two = default_multiprocess_dir("data"), default_multiprocess_dir(str(tmp_path / "x"))
    assert one.parent == tmp_path and one != two  # one dir per data dir
    assert default_multiprocess_dir(os.path.abspath("data")) == one

    one.mkdir(mode=0o700)
    one.joinpath("counter_1.db").write_bytes(b"stale")
    assert prepare_multiprocess_dir("data") == str(one) == os.environ[MULTIPROC_ENV]
    assert not one.joinpath("counter_1.db").exists()  # emptied of the last run's files
    discard_multiprocess_dir("data")
    assert not one.exists()


def test_multiprocess_dir_refuses_a_default_path_it_does_not_own(tmp_path, monkeypatch):
    """In /dev/shm or /tmp the default path is guessable: a symlink planted there must
    not make the master delete *.db files elsewhere."""
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    monkeypatch.delenv("RUNTIME_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    victim = tmp_path / "victim"
    victim.mkdir()
    victim.joinpath("gridsync.db").write_bytes(b"precious")
    default_multiprocess_dir("data").symlink_to(victim)
    with pytest.raises(RuntimeError, match="not a private directory"):
        prepare_multiprocess_dir("data")
    assert victim.joinpath("gridsync.db").read_bytes() == b"precious"
