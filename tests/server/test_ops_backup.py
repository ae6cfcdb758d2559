"""gridsync backup / restore: a consistent copy while the server takes writes,
and a restore that refuses anything it cannot vouch for."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from server.services import backup as ops
from server.storage.maintenance import FileDatabase, Maintenance
from tests.helpers import ApiClient
from tests.server.ops_support import HttpClient, earn_and_redeem, invoke, run_cli

pytestmark = pytest.mark.sqlite_only(
    reason="the SQLite file's online backup, file restore and --force; PostgreSQL's "
           "pg_dump backup and verified restore: tests/server/test_pg_backup.py")


def counts(db_path: Path) -> dict[str, int]:
    db = FileDatabase(str(db_path))
    try:
        return Maintenance(db).counts()
    finally:
        db.close()


class Traffic(threading.Thread):
    """Signed syncs (a log recorded, then verified: an earn entry) and redemptions
    against the live server, round after round, until stopped."""

    def __init__(self, api: ApiClient, card: str, shop_token: str):
        super().__init__(daemon=True)
        self.api, self.card, self.shop_token = api, card, shop_token
        self.worker, self.verifier = api.enroll("w1"), api.enroll("w1b")
        self.rounds = 0
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.moved = threading.Condition()

    def run(self) -> None:
        try:
            while not self.stop.is_set() and self.rounds < 80:
                earn_and_redeem(self.api, self.worker, self.verifier, shop_token=self.shop_token,
                                card=self.card, redeem=True)
                with self.moved:
                    self.rounds += 1
                    self.moved.notify_all()
        except BaseException as exc:  # reported by the test
            self.error = exc
            with self.moved:
                self.moved.notify_all()

    def wait_for_more(self, timeout: float = 5.0) -> None:
        with self.moved:
            target = self.rounds + 1
            self.moved.wait_for(lambda: self.rounds >= target or self.error is not None,
                                timeout)


@pytest.mark.timeout(60)
def test_backup_while_syncing_and_redeeming_restores_a_verified_ledger(
        live_server, data_dir, tmp_path):
    api = ApiClient(HttpClient(live_server.url), live_server.token)
    world = api.make_world()
    shop_token = api.enroll("shop1").token
    traffic = Traffic(api, world.cards["v1"], shop_token)
    earn_and_redeem(api, traffic.worker, traffic.verifier, shop_token=None, card=None,
                    redeem=False)
    traffic.start()
    traffic.wait_for_more()

    before = counts(data_dir / "gridsync.db")
    steps: list[tuple[int, int]] = []

    def progress(copied: int, total: int) -> None:
        steps.append((copied, total))
        if len(steps) <= 3:  # the server commits more rounds while the copy is under way
            traffic.wait_for_more()

    target = tmp_path / "backups" / "nightly.db"
    target.parent.mkdir()
    result = ops.backup(str(data_dir), str(target), pages=8, progress=progress)
    traffic.stop.set()
    traffic.join(20)
    assert traffic.error is None, traffic.error
    after = counts(data_dir / "gridsync.db")

    assert len(steps) > 3 and steps[-1][0] == steps[-1][1]
    assert target.exists() and not list(target.parent.glob(".*"))  # no temp file left
    snap = result["counts"]
    assert snap == counts(target)
    # The copy is one instant: no earlier than the start, missing what came after.
    assert before["entries"] <= snap["entries"] < after["entries"]
    assert snap["redemptions"] >= 1

    restored = tmp_path / "restored"
    out = run_cli("restore", "--from", str(target), "--data-dir", str(restored), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["counts"] == snap
    assert report["ledger"]["head_seq"] == result["ledger_head_seq"] == snap["entries"]
    assert report["secret"] == "missing"
    assert "secret" in out.stderr and "GRIDSYNC_SECRET" in out.stderr
    assert counts(restored / "gridsync.db") == snap

    verify = run_cli("ledger", "verify", "--data-dir", str(restored), "--workers", "1")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"ledger sound: {snap['entries']} entries" in verify.stdout

    # With the secret back in place the restored data dir can sign again.
    shutil.copy(data_dir / "secret.key", restored / "secret.key")
    assert ops.secret_status(str(restored)) == "ok"


@pytest.fixture
def small_ledger(world, api, data_dir):
    """A few earn and redeem entries made through the in-process app."""
    worker, verifier = api.enroll("w1"), api.enroll("w1b")
    shop = api.enroll("shop1").token
    for i in range(3):
        earn_and_redeem(api, worker, verifier, shop_token=shop, card=world.cards["v1"],
                        redeem=i > 0)
    return data_dir


def _backup(data_dir: Path, to: Path) -> dict:
    out = invoke("backup", "--data-dir", str(data_dir), "--to", str(to), "--json",
                  "--pages", "16")
    assert out.returncode == 0, out.stderr
    assert "backup: " in out.stderr and "pages" in out.stderr  # progress on stderr
    assert "GRIDSYNC_SECRET" in out.stderr
    return json.loads(out.stdout)


def test_restore_refuses_a_tampered_ledger(small_ledger, tmp_path):
    good = tmp_path / "good.db"
    summary = _backup(small_ledger, good)
    assert summary["counts"]["entries"] == 5 and summary["ledger_head_seq"] == 5

    # Both the signed body and the column, as an intruder would, and the balances.
    tampered = tmp_path / "tampered.db"
    shutil.copy(good, tampered)
    conn = sqlite3.connect(tampered)
    conn.execute("UPDATE entries SET amount = 1000, body = json_set(body, '$.amount', 1000) "
                 "WHERE seq = 2")
    conn.commit()
    conn.close()
    target = tmp_path / "new"
    out = invoke("restore", "--from", str(tampered), "--data-dir", str(target))
    assert out.returncode != 0
    assert "does not verify" in out.stderr and "seq 2" in out.stderr, out.stderr
    assert not (target / "gridsync.db").exists()
    assert not [p for p in target.iterdir()]  # no temp file left behind

    # Only the column (the signed body intact): caught as well.
    shutil.copy(good, tampered)
    conn = sqlite3.connect(tampered)
    conn.execute("UPDATE entries SET amount = amount + 1 WHERE seq = 3")
    conn.commit()
    conn.close()
    out = invoke("restore", "--from", str(tampered), "--data-dir", str(target))
    assert out.returncode != 0 and "seq 3" in out.stderr, out.stderr

    out = invoke("restore", "--from", str(good), "--data-dir", str(target))
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in target.iterdir()) == ["gridsync.db"]


def test_restore_refuses_to_overwrite_and_non_gridsync_files(small_ledger, tmp_path):
    backup = tmp_path / "b.db"
    _backup(small_ledger, backup)
    before = (small_ledger / "gridsync.db").stat().st_mtime_ns

    out = invoke("restore", "--from", str(backup), "--data-dir", str(small_ledger))
    assert out.returncode != 0 and "already holds a database" in out.stderr
    assert (small_ledger / "gridsync.db").stat().st_mtime_ns == before

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    for path in (junk, other, tmp_path / "missing.db"):
        out = invoke("restore", "--from", str(path), "--data-dir", str(tmp_path / "x"))
        assert out.returncode != 0, path
        assert "not a gridsync database" in out.stderr or "does not exist" in out.stderr
        assert not (tmp_path / "x" / "gridsync.db").exists()


def test_restore_force_keeps_the_replaced_database(small_ledger, tmp_path):
    backup = tmp_path / "b.db"
    _backup(small_ledger, backup)
    report = ops.restore(str(small_ledger), str(backup), force=True)
    replaced = Path(report["replaced"])
    assert replaced.exists() and replaced.name.startswith("gridsync.db.replaced-")
    assert counts(replaced) == counts(small_ledger / "gridsync.db") == report["counts"]
    assert report["secret"] == "ok"


def test_backup_errors_are_clear(tmp_path, data_dir):
    out = invoke("backup", "--data-dir", str(tmp_path / "nowhere"), "--to",
                  str(tmp_path / "b.db"))
    assert out.returncode != 0 and "no database" in out.stderr
    out = invoke("backup", "--data-dir", str(data_dir), "--to",
                  str(tmp_path / "no" / "such" / "dir.db"))
    assert out.returncode != 0 and "does not exist" in out.stderr


def test_backup_script_writes_a_dated_file_and_prunes_old_ones(data_dir, tmp_path):
    import os
    import subprocess

    from tests.helpers import gridsync_command

    root = Path(__file__).resolve().parents[2]
    backups = tmp_path / "backups"
    backups.mkdir()
    old = backups / "gridsync-20200101T000000Z.db"
    old.write_bytes(b"")
    os.utime(old, (time.time() - 40 * 86400,) * 2)
    env = {**os.environ, "GRIDSYNC_DATA_DIR": str(data_dir), "GRIDSYNC": gridsync_command()[0]}
    if len(gridsync_command()) > 1:
        pytest.skip("no gridsync script next to the interpreter")
    out = subprocess.run([str(root / "deploy" / "gridsync-backup.sh"), str(backups), "30"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    files = sorted(p.name for p in backups.iterdir())
    assert len(files) == 1 and files[0].startswith("gridsync-") and not old.exists()
    assert counts(backups / files[0])["people"] == 1
