"""Private files whatever the umask: the data dir 0700; the database, its -wal and
-shm, the secret and backups 0600; after `gridsync init` (what `make serve` runs first),
a server start, `gridsync backup` and `gridsync restore`, and a data dir an older
version left 0755/0644 is tightened at the next start."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest
from click.testing import CliRunner

from server import create_app
from server.bootstrap import initialise
from server.cli import main
from tests.conftest import ON_POSTGRES
from tests.helpers import ApiClient, gridsync_command


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask(monkeypatch):
    monkeypatch.delenv("GRIDSYNC_SECRET", raising=False)
    old = os.umask(0)
    yield
    os.umask(old)


def assert_private(data_dir):
    """On PostgreSQL the data dir holds the secret only; on SQLite the database too."""
    assert mode(data_dir) == 0o700
    present = [n for n in ("gridsync.db", "gridsync.db-wal", "gridsync.db-shm", "secret.key")
               if (data_dir / n).exists()]
    assert ({"secret.key"} if ON_POSTGRES else {"gridsync.db", "secret.key"}) <= set(present)
    assert {n: mode(data_dir / n) for n in present} == {n: 0o600 for n in present}


def test_init_serve_backup_and_restore_make_private_files_under_umask_0(
        tmp_path, open_umask, other_database):
    data_dir = tmp_path / "data"
    token = initialise(str(data_dir))["token"]
    app = create_app({"DATA_DIR": str(data_dir), "TESTING": True})
    api = ApiClient(app.test_client(), token)
    api.ok(api.post("/grids", {"id": "c1", "name": "c1", "parent": None}), 201)  # a write
    if not ON_POSTGRES:
        assert (data_dir / "gridsync.db-wal").exists() and (data_dir / "gridsync.db-shm").exists()
    assert_private(data_dir)
    backup = tmp_path / "backups" / "b.db"
    backup.parent.mkdir()
    out = CliRunner().invoke(main, ["backup", "--data-dir", str(data_dir), "--to", str(backup),
                                    "--quiet"])
    assert out.exit_code == 0, out.output
    assert mode(backup) == 0o600
    restored = tmp_path / "restored"
    out = CliRunner().invoke(main, ["restore", "--data-dir", str(restored), "--from",
                                    str(backup)], env=other_database)
    assert out.exit_code == 0, out.output
    restored.mkdir(exist_ok=True)  # (made by the restore into a SQLite file)
    (restored / "secret.key").write_bytes((data_dir / "secret.key").read_bytes())
    url = other_database.get("GRIDSYNC_DATABASE_URL")
    create_app({"DATA_DIR": str(restored), "TESTING": True,     # the server starts on it
                **({"DATABASE_URL": url} if url else {})})
    assert_private(restored)


def test_gridsync_init_as_make_serve_runs_it_under_umask_0(tmp_path, open_umask):
    data_dir = tmp_path / "fresh"
    env = {k: v for k, v in os.environ.items() if k != "GRIDSYNC_SECRET"}
    subprocess.run([*gridsync_command(), "init", "--data-dir", str(data_dir), "--if-needed"],
                   check=True, capture_output=True, env=env, timeout=120)
    assert_private(data_dir)


def test_a_data_dir_left_world_readable_is_tightened_at_start(data_dir):
    os.chmod(data_dir, 0o755)
    for name in ("gridsync.db", "secret.key"):
        if (data_dir / name).exists():
            os.chmod(data_dir / name, 0o644)
    create_app({"DATA_DIR": str(data_dir), "TESTING": True})
    assert_private(data_dir)
