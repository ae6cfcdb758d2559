"""`gridsync backup` and `gridsync restore` when the database is PostgreSQL: a pg_dump of
one snapshot, restored only into an empty database and verified there like a SQLite
restore; a tampered ledger row or dump is refused with its reason and dropped again."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import psycopg
import pytest

from server.storage import pg_dump
from tests.helpers import RawDb
from tests.server.ledger_support import entries, give
from tests.server.ops_support import earn_and_redeem, run_cli

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@pytest.fixture
def ledger(world, api, data_dir):
    """A world with a few entries of each kind: adjustments, earns, a redemption."""
    shop = api.enroll("shop1").token
    give(api, "volunteer:v1", 50)
    worker, verifier = api.enroll("w1"), api.enroll("w1b")
    earn_and_redeem(api, worker, verifier, shop_token=shop, card=world.cards["v1"], redeem=True)
    earn_and_redeem(api, worker, verifier, shop_token=None, card=None, redeem=False)
    return entries(data_dir)


@pytest.fixture
def empty_database(pg_cluster):
    """A new database with nothing in it (createdb), dropped after the test."""
    from server.storage.postgres import close_pools

    url = pg_cluster.create_database("gridsync_restore")
    yield url
    close_pools()
    pg_cluster.drop_database(url)


def backup(data_dir, to, *extra):
    return run_cli("backup", "--data-dir", str(data_dir), "--to", str(to), "--json", *extra)


def restore(data_dir, source, url, *extra):
    return run_cli("restore", "--data-dir", str(data_dir), "--from", str(source),
                   "--database-url", url, "--json", *extra, timeout=120)


def tables(url):
    with psycopg.connect(url, autocommit=True) as conn:
        return [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")]


def epoch(url):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT value FROM settings WHERE key = 'epoch'").fetchone()[0]


def test_backup_then_restore_into_a_new_database_verifies_with_the_same_checkpoint(
        ledger, data_dir, database_url, tmp_path, empty_database):
    target = tmp_path / "backups" / "district.dump"
    target.parent.mkdir()
    out = backup(data_dir, target)
    assert out.returncode == 0, out.stderr
    made = json.loads(out.stdout)
    assert pg_dump.is_dump_file(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert list(target.parent.iterdir()) == [target]  # no partial file left beside it
    assert made["ledger_head_seq"] == len(ledger) == made["checkpoint"]["seq"]
    assert made["counts"]["entries"] == len(ledger)
    assert "secret" in out.stderr  # the reminder: the secret is not in the backup

    out = restore(data_dir, target, empty_database)
    assert out.returncode == 0, out.stderr
    done = json.loads(out.stdout)
    assert done["checkpoint"] == made["checkpoint"]  # seq, head hash and Merkle root
    assert done["ledger"]["entries"] == len(ledger)
    assert done["counts"] == made["counts"]
    assert done["secret"] == "ok"
    assert done["path"] == f"database {empty_database.rpartition('/')[2]} on 127.0.0.1:" \
        f"{empty_database.rpartition(':')[2].partition('/')[0]}"
    verified = run_cli("ledger", "verify", "--data-dir", str(data_dir),
                       "--database-url", empty_database)
    assert verified.returncode == 0 and "ledger sound" in verified.stdout, verified

    # The restored database is a new history: cursors from the old one are refused.
    assert epoch(empty_database) != epoch(database_url)

    again = restore(data_dir, target, empty_database)
    assert again.returncode == 1
    assert "already holds tables" in again.stderr and "empty database" in again.stderr


def with_secrets(url: str) -> str:
    """``url`` with a password and an sslpassword (the test cluster trusts local users,
    and libpq uses an sslpassword only for an encrypted client key: both are inert)."""
    return url + ("&" if "?" in url else "?") + "password=hunter2-pw&sslpassword=s3cret-ssl"


def test_the_url_secrets_never_reach_the_tools_command_line(
        ledger, data_dir, database_url, tmp_path, empty_database):
    """Any user sees every process's argv in ps: the password goes in PGPASSWORD and the
    sslpassword in a service file only this user can read, gone when the tool is done."""
    real = Path(pg_dump.find_tool("pg_dump")).parent
    bindir, seen = tmp_path / "bin", tmp_path / "seen.txt"
    bindir.mkdir()
    for tool in ("pg_dump", "pg_restore"):     # the real tools, their argv written down
        (bindir / tool).write_text(
            f'#!/bin/sh\nprintf "argv %s\\n" "$*" >> {seen}\n'
            f'printf "password %s\\nfile %s\\n" "$PGPASSWORD" "$PGSERVICEFILE" >> {seen}\n'
            f'[ -z "$PGSERVICEFILE" ] || {{ stat -c "mode %a" "$(dirname "$PGSERVICEFILE")";'
            f' cat "$PGSERVICEFILE"; }} >> {seen}\n'
            f'exec {real}/{tool} "$@"\n')
        (bindir / tool).chmod(0o700)

    target = tmp_path / "secret.dump"
    out = backup(data_dir, target, "--database-url", with_secrets(database_url),
                 "--pg-bin", str(bindir))
    assert out.returncode == 0, out.stderr
    out = restore(data_dir, target, with_secrets(empty_database), "--pg-bin", str(bindir))
    assert out.returncode == 0, out.stderr

    lines = seen.read_text().splitlines()
    argvs = [line for line in lines if line.startswith("argv ")]
    assert len(argvs) >= 2 and any("--snapshot=" in a for a in argvs)
    assert not [a for a in argvs if "hunter2" in a or "s3cret" in a], argvs
    assert lines.count("password hunter2-pw") == len([a for a in argvs if "--dbname=" in a])
    assert "sslpassword=s3cret-ssl" in lines and "mode 700" in lines
    files = {line[5:] for line in lines if line.startswith("file /")}
    assert files and not [f for f in files if Path(f).exists()]   # removed after each run


def test_a_tampered_ledger_row_is_refused_and_the_copy_dropped(
        ledger, data_dir, tmp_path, empty_database):
    raw = RawDb(data_dir)
    try:
        raw.execute("UPDATE entries SET amount = amount + 1 WHERE seq = 2")
    finally:
        raw.close()
    target = tmp_path / "tampered.dump"
    assert backup(data_dir, target).returncode == 0
    out = restore(data_dir, target, empty_database)
    assert out.returncode == 1
    assert "does not verify" in out.stderr and "seq 2" in out.stderr, out.stderr
    assert tables(empty_database) == []  # nothing left for a server to start on


def test_a_tampered_dump_is_refused_with_its_reason(ledger, data_dir, database_url, tmp_path,
                                                    empty_database):
    # An uncompressed dump, so a hash in it can be changed in place (same length).
    plain = tmp_path / "plain.dump"
    subprocess.run([pg_dump.find_tool("pg_dump"), "--format=custom", "--compress=0",
                    f"--file={plain}", f"--dbname={database_url}"], check=True)
    data = plain.read_bytes()
    victim = ledger[1]["hash"].encode()
    forged = victim[:-1] + (b"0" if victim[-1:] != b"0" else b"1")
    assert data.count(victim) >= 1
    plain.write_bytes(data.replace(victim, forged))
    out = restore(data_dir, plain, empty_database)
    assert out.returncode == 1
    assert "does not verify" in out.stderr, out.stderr
    assert tables(empty_database) == []


def test_clear_messages_for_what_cannot_be_done(ledger, data_dir, tmp_path, empty_database):
    out = run_cli("backup", "--data-dir", str(data_dir), "--to", str(tmp_path / "h.dump"))
    assert out.returncode == 0, out.stderr
    assert f"Checkpoint: seq {len(ledger)}, head {ledger[-1]['hash']}, root " in out.stdout

    out = backup(data_dir, tmp_path / "x.dump", "--pg-bin", str(tmp_path))
    assert out.returncode == 1
    assert "pg_dump not found" in out.stderr and "Traceback" not in out.stderr
    assert not list(tmp_path.glob("*x.dump*"))

    sqlite_file = tmp_path / "old.db"
    sqlite_file.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    out = restore(data_dir, sqlite_file, empty_database)
    assert out.returncode == 1 and "not a pg_dump custom-format file" in out.stderr

    out = restore(data_dir, tmp_path / "missing.dump", empty_database, "--force")
    assert out.returncode == 2 and "--force" in out.stderr


def test_restore_checks_a_witness_checkpoint_and_pinned_keys(ledger, api, data_dir, tmp_path,
                                                             pg_cluster):
    """--checkpoint and --keys hold on PostgreSQL as on SQLite: a dump that extends what a
    witness kept restores; an older one (entries cut off since) is refused as rolled back."""
    (tmp_path / "keys.json").write_text(json.dumps(api.ok(api.get("/ledger/keys"))))
    old = tmp_path / "old.dump"
    assert backup(data_dir, old).returncode == 0
    give(api, "volunteer:v1", 5)
    (tmp_path / "checkpoint.json").write_text(json.dumps(api.ok(api.get("/ledger/checkpoint"))))
    anchors = ["--checkpoint", str(tmp_path / "checkpoint.json"),
               "--keys", str(tmp_path / "keys.json")]
    new = tmp_path / "new.dump"
    assert backup(data_dir, new).returncode == 0
    first, second = (pg_cluster.create_database("gridsync_restore") for _ in range(2))
    try:
        out = restore(data_dir, new, first, *anchors)
        assert out.returncode == 0, out.stderr
        out = restore(data_dir, old, second, *anchors)
        assert out.returncode == 1 and "rolled back" in out.stderr, out.stderr
        assert tables(second) == []
    finally:
        from server.storage.postgres import close_pools

        close_pools()
        for url in (first, second):
            pg_cluster.drop_database(url)
