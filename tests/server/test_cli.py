"""The `gridsync` command line: init, token issue/revoke, errors as messages."""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest
from click.testing import CliRunner

from ledger import KeyDecryptionError, SigningKey
from server import create_app
from server.cli import main
from server.keystore import secret_path
from tests.helpers import ApiClient, gridsync_command, raw_db
from tests.server.ops_support import run_cli


def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    monkeypatch.delenv("GRIDSYNC_SECRET", raising=False)
    return tmp_path / "data"


def api_for(data_dir, token):
    return ApiClient(create_app({"DATA_DIR": str(data_dir), "TESTING": True}).test_client(),
                     token)


def test_init_prints_the_admin_token_once(fresh):
    first = run("init", "--data-dir", fresh)
    assert first.exit_code == 0, first.output
    assert "shown only this once" in first.output
    token = [line.strip() for line in first.output.splitlines() if "." in line.strip()
             and " " not in line.strip()][-1]
    api = api_for(fresh, token)
    assert api.get("/grids").status_code == 200

    again = run("init", "--data-dir", fresh)
    assert again.exit_code == 0
    assert "already initialised" in again.output and "nothing changed" in again.output
    assert token not in again.output and "token" not in again.output.lower()
    quiet = run("init", "--data-dir", fresh, "--if-needed")
    assert (quiet.exit_code, quiet.output) == (0, "")
    # Still one key, one token: nothing changed.
    db = raw_db(fresh)
    assert db.scalar("SELECT count(*) FROM signing_keys") == 1
    assert db.scalar("SELECT count(*) FROM tokens") == 1
    db.close()


def test_init_json(fresh):
    out = run("init", "--data-dir", fresh, "--json")
    assert out.exit_code == 0
    data = json.loads(out.output)
    assert data["initialised"] is True and data["admin_person"] == "admin"
    assert data["key_id"] == "k1" and data["token"].startswith(data["token_id"] + ".")
    admin = api_for(fresh, data["token"])
    assert admin.get("/grids").status_code == 200
    assert admin.ok(admin.get("/people/admin"))["name"] == "管理员"   # read on every page
    again = json.loads(run("init", "--data-dir", fresh, "--json").output)
    assert again["initialised"] is False and "token" not in again


def test_secret_file_is_private_and_the_ledger_key_encrypted(fresh):
    run("init", "--data-dir", fresh)
    mode = stat.S_IMODE(os.stat(secret_path(str(fresh))).st_mode)
    assert mode == 0o600
    db = raw_db(fresh)
    if not db.postgres:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pem = bytes(db.scalar("SELECT encrypted_private FROM signing_keys"))
    public = db.scalar("SELECT public_key FROM signing_keys")
    db.close()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    key = SigningKey.from_encrypted_pem(pem, secret_path(str(fresh)).read_text().strip().encode())
    assert key.public_key == public
    raw = key._key.private_bytes_raw()
    assert len(raw) == 32
    if not db.postgres:  # the SQLite file's bytes (PostgreSQL's: the column read above)
        stored = b"".join(p.read_bytes() for p in fresh.iterdir()
                          if p.name.startswith("gridsync.db"))
        assert raw not in stored
        assert b"BEGIN PRIVATE KEY" not in stored
    with pytest.raises(KeyDecryptionError):
        SigningKey.from_encrypted_pem(pem, b"wrong secret")


def test_init_with_gridsync_secret_writes_no_secret_file(fresh):
    out = run("init", "--data-dir", fresh, env={"GRIDSYNC_SECRET": "from-the-environment"})
    assert out.exit_code == 0
    assert not secret_path(str(fresh)).exists()
    db = raw_db(fresh)
    pem = bytes(db.scalar("SELECT encrypted_private FROM signing_keys"))
    db.close()
    SigningKey.from_encrypted_pem(pem, b"from-the-environment")


def test_token_issue_for_admin_and_auditor(data_dir, api):
    api.person("aud", "auditor", [])
    for person, status in (("admin", 200), ("aud", 403)):
        out = run("token", "issue", "--data-dir", data_dir, "--person", person)
        assert out.exit_code == 0, out.output
        token = out.stdout.strip().splitlines()[-1]
        assert "token id: " + token.split(".")[0] in out.output
        assert api.get("/grids", token=token).status_code == status   # the token authenticates
        assert api.get("/devices", token=token).status_code == status


@pytest.mark.parametrize(("person", "message"), [
    ("w1", "is a worker"), ("v1", "is a volunteer"), ("shop1", "is a shop"),
    ("nobody", "no such person")])
def test_token_issue_refuses_others_with_a_message(data_dir, world, person, message):
    out = run("token", "issue", "--data-dir", data_dir, "--person", person)
    assert out.exit_code != 0
    assert message in out.output and "Traceback" not in out.output
    db = raw_db(data_dir)
    assert db.scalar("SELECT count(*) FROM tokens WHERE person = ?", (person,)) == 0
    db.close()


def test_token_revoke(data_dir, api):
    token = run("token", "issue", "--data-dir", data_dir, "--person", "admin").stdout.split()[-1]
    token_id = token.split(".")[0]
    assert api.get("/grids", token=token).status_code == 200
    out = run("token", "revoke", "--data-dir", data_dir, token_id)
    assert out.exit_code == 0 and f"revoked {token_id}" in out.output
    assert api.get("/grids", token=token).status_code == 401
    again = run("token", "revoke", "--data-dir", data_dir, token_id)
    assert again.exit_code != 0 and "no active token" in again.output
    unknown = run("token", "revoke", "--data-dir", data_dir, "tnothere")
    assert unknown.exit_code != 0 and "no active token" in unknown.output


def test_token_commands_need_an_initialised_data_dir(tmp_path):
    out = run("token", "issue", "--data-dir", tmp_path / "none", "--person", "admin")
    assert out.exit_code != 0 and "not initialised" in out.output
    assert not (tmp_path / "none" / "gridsync.db").exists()


def test_data_dir_from_the_environment(fresh):
    out = run("init", "--json", env={"GRIDSYNC_DATA_DIR": str(fresh)})
    assert out.exit_code == 0, out.output
    assert fresh.joinpath("secret.key").exists()      # the data dir named there
    db = raw_db(fresh)
    assert db.scalar("SELECT count(*) FROM signing_keys") == 1
    db.close()


def test_a_newer_schema_is_a_message_not_a_traceback(data_dir, tmp_path):
    db = raw_db(data_dir)
    db.set_schema_version(999)
    db.close()
    for args in (["init"], ["token", "issue", "--person", "admin"], ["serve"],
                 ["ledger", "verify"], ["backup", "--to", str(tmp_path / "b.db")]):
        out = CliRunner().invoke(main, [*args, "--data-dir", str(data_dir)])
        assert out.exit_code != 0, args
        assert "newer than this gridsync" in out.output, (args, out.output)
        assert not isinstance(out.exception, RuntimeError), args


def test_installed_script_runs(tmp_path):
    out = subprocess.run([*gridsync_command(), "--version"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and "version" in out.stdout


@pytest.mark.parametrize(("url", "says"), [
    ("postgresql://u:pa%zzss@127.0.0.1:1/db", "the PostgreSQL URL cannot be read"),
    ("postgresql://u:hunter2@127.0.0.1:1/db", "Connection refused"),
])
def test_a_bad_or_unreachable_postgresql_url_is_one_clear_message_at_once(fresh, url, says):
    """Not 30 s of the pool's retries, each logging libpq's message (which quotes a badly
    escaped password), then "pool initialization incomplete"."""
    out = run_cli("init", "--data-dir", str(fresh), "--database-url", url, timeout=25)
    assert out.returncode == 1, out
    assert says in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert "zzss" not in out.stdout + out.stderr and "hunter2" not in out.stdout + out.stderr
    assert "pool" not in out.stderr
