"""Disk full under a real gunicorn, on both databases: the SQLite data dir, or the
PostgreSQL database's tablespace (its tables and indexes; the cluster's WAL and catalog
stay on the ordinary disk, as a full data volume), lives on a small tmpfs; a filler file
takes all but a little of it, then syncs (households with 4,000-character notes) and
redemptions go on until the disk is full, and then on a completely full disk. Every
failure must be a JSON 503 ``unavailable`` (or 413), never a 500 or a traceback, and the
server stays up. Afterwards nothing is half-written (every acknowledged change stored
once, every acknowledged redemption with its one redeem entry, `gridsync ledger verify`
passes), and once the filler is deleted the next sync and redemption succeed without a
restart.

What is read while the disk is full is read through a connection opened before it filled:
a NEW PostgreSQL connection to a database on a full disk may fail to start ("could not
write init file": the backend rewrites the relation-cache init file in the database's
directory whenever a catalog change has invalidated it, autovacuum's included), an
effect of the full disk and not of gridsync. The test removes that file once the disk is
full, so that case happens every run instead of now and then, and `gridsync ledger
verify` (a new connection) checks the chain written while the disk was full once the
filler is deleted, before anything else is written.

Needs root and a permitted ``mount -t tmpfs`` (and, on PostgreSQL, the throwaway cluster
on this machine); skipped otherwise."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
import requests

from client_sdk import FieldClient, FieldClientError, HttpTransport, RetryPolicy
from tests.conftest import BOTH_BACKENDS
from tests.helpers import gridsync_command

pytestmark = BOTH_BACKENDS

DISK_MB = 8
SLACK_BYTES = 192 * 1024
"""What the filler leaves free before the syncs start."""
NOTES = "满" * 1000 + "disk full " * 300  # 4,000 characters, ~6 kB of UTF-8


def _mount_tmpfs(path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("disk-full test needs root to mount a size-limited tmpfs")
    try:
        out = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}M", "tmpfs",
                              str(path)], capture_output=True, text=True, timeout=20)
    except FileNotFoundError:
        pytest.skip("disk-full test needs the mount command")
    if out.returncode != 0:
        pytest.skip(f"mount -t tmpfs is not permitted here: {out.stderr.strip()}")


def _unmount(path: Path) -> None:
    from server.state import close_all

    close_all()  # the in-process app of the `api` fixture keeps a connection open
    out = subprocess.run(["umount", str(path)], capture_output=True, text=True, timeout=20)
    if out.returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, text=True, timeout=20)


@pytest.fixture
def disk() -> Path:
    """An 8 MB tmpfs, in a directory of /tmp the database server's user can reach."""
    path = Path(tempfile.mkdtemp(prefix="gridsync-disk-"))
    path.chmod(0o755)
    try:
        _mount_tmpfs(path)
        yield path
        _unmount(path)
    finally:
        path.rmdir()


@pytest.fixture
def database_url(backend, request, monkeypatch, disk):
    """Overrides conftest's: on PostgreSQL a migrated database whose tablespace is on the
    tmpfs (also in GRIDSYNC_DATABASE_URL for the commands and the server); None on SQLite,
    whose data dir goes on the tmpfs."""
    monkeypatch.delenv("GRIDSYNC_DATABASE_URL", raising=False)
    if backend != "postgresql":
        yield None
        return
    import psycopg

    from server.storage.postgres import close_pools

    cluster = request.getfixturevalue("pg_cluster")
    if not cluster.local:
        pytest.skip("the tablespace must be on this machine's tmpfs: needs the throwaway "
                    "cluster, not a GRIDSYNC_TEST_DATABASE_URL server")
    owner = pwd.getpwnam("postgres")
    space = disk / "tablespace"
    space.mkdir(mode=0o700)
    os.chown(space, owner.pw_uid, owner.pw_gid)
    name = f"gridsync_full_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLESPACE {name} LOCATION '{space}'")
    url = cluster.create_database(migrated=True, tablespace=name)
    monkeypatch.setenv("GRIDSYNC_DATABASE_URL", url)
    try:
        yield url
    finally:
        close_pools(url)
        cluster.drop_database(url)
        with psycopg.connect(cluster.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP TABLESPACE IF EXISTS {name}")


@pytest.fixture
def data_dir(tmp_path, monkeypatch, disk, database_url):
    """Overrides conftest's: made by `gridsync init`; on the tmpfs for SQLite."""
    monkeypatch.delenv("GRIDSYNC_SECRET", raising=False)
    path = disk / "data" if database_url is None else tmp_path / "data"
    target = ["--database-url", database_url] if database_url else []
    out = subprocess.run([*gridsync_command(), "init", "--data-dir", str(path), "--json",
                          *target], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    path.joinpath("admin-token").write_text(json.loads(out.stdout)["token"])
    return path


def _fill(path: Path, leave: int) -> None:
    """Append to ``path`` until at most ``leave`` bytes are free (or the disk is full)."""
    chunk = b"\0" * (64 * 1024)
    with open(path, "ab", buffering=0) as f:
        while True:
            free = shutil.disk_usage(path.parent).free
            if free <= leave:
                break
            try:
                f.write(chunk[:max(4096, min(len(chunk), free - leave))])
            except OSError:
                break
    assert shutil.disk_usage(path.parent).free <= leave + 4096


class Recording:
    """HttpTransport keeping every answer to a POST: (path, request body, status,
    content type, answer body)."""

    def __init__(self, inner):
        self.inner, self.answers = inner, []

    def post(self, path, body, token=None):
        status, headers, data = answer = self.inner.post(path, body, token)
        self.answers.append((path, body, status, headers.get("content-type", ""), data))
        return answer

    def get(self, path, token=None, params=None):
        return self.inner.get(path, token, params)

    def acked_ops(self) -> dict[str, dict]:
        return {r["op"]: r for path, _, status, _, data in self.answers
                if path == "/sync" and status == 200 for r in data["results"]}

    def redemptions(self, *statuses: int) -> set[str]:
        return {body["id"] for path, body, status, _, _ in self.answers
                if path == "/redemptions" and status in statuses}


def _forget_relcache_init_file(disk: Path, filler: Path) -> None:
    """PostgreSQL: remove the database's relation-cache init file from the full tablespace
    and fill the space it held, so the next new connection to the database needs to write
    it and cannot (PostgreSQL removes the file itself whenever a catalog change
    invalidates it; it is a cache, rebuilt by the first connection with room to)."""
    databases = [p for p in disk.glob("tablespace/PG_*/*") if p.is_dir()]
    assert databases, "the database's directory is not where this test expects it"
    for path in databases:  # gone already if a catalog change invalidated it meanwhile
        path.joinpath("pg_internal.init").unlink(missing_ok=True)
    _fill(filler, 0)


class Stored:
    """What the database under test holds. SQLite: the file, or a consistent copy made
    by ``copy`` through the backup API (which only reads the full disk; reading the live
    file could need to write its -shm). PostgreSQL: the live database through one
    connection opened here, so make this before the disk fills (reading needs no space
    in the tablespace, but a new connection may: the module's docstring)."""

    def __init__(self, data_dir: Path, url: str | None):
        self.url, self.data_dir = url, data_dir
        self.conn = None
        if url is not None:
            import psycopg

            self.conn = psycopg.connect(url, autocommit=True)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()

    def copy(self, copy_dir: Path) -> None:
        """SQLite: read from here on a consistent copy of the file made now, in
        ``copy_dir``; PostgreSQL: nothing to do (the live database is read)."""
        if self.url is None:
            copy_dir.mkdir()
            src = sqlite3.connect(f"file:{self.data_dir / 'gridsync.db'}?mode=ro", uri=True)
            dst = sqlite3.connect(str(copy_dir / "gridsync.db"))
            try:
                src.backup(dst)
            finally:
                src.close()
                dst.close()
            self.data_dir = copy_dir

    def rows(self, sql: str) -> list[tuple]:
        if self.conn is not None:
            return [tuple(r) for r in self.conn.execute(sql).fetchall()]
        conn = sqlite3.connect(str(self.data_dir / "gridsync.db"))
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def head(self) -> str:
        """What `verify` says of the ledger as it is now read."""
        [(count,)] = self.rows("SELECT count(*) FROM entries")
        [(head,)] = self.rows("SELECT hash FROM entries ORDER BY seq DESC LIMIT 1")
        return f"{count} entries, head {head}"

    def verify(self) -> str:
        """`gridsync ledger verify` on this database, in a new process and connection."""
        target = ["--database-url", self.url] if self.url else []
        out = subprocess.run([*gridsync_command(), "ledger", "verify", "--data-dir",
                              str(self.data_dir), *target],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout.strip()


@pytest.fixture
def open_stored(data_dir, database_url):
    """Makes a Stored of the database under test, closed at the end of the test."""
    opened: list[Stored] = []

    def open_() -> Stored:
        opened.append(Stored(data_dir, database_url))
        return opened[-1]

    yield open_
    for stored in opened:
        stored.close()


def _check_stored(stored: Stored, worker_net: Recording, shop_net: Recording, *,
                  exact: bool) -> dict:
    """Acknowledged changes and redemptions are stored once, whole; with ``exact``
    (read while the disk is full) nothing else from these devices is."""
    ops = {r[0]: (r[1], r[2], r[3]) for r in stored.rows(
        "SELECT op, status, version, record FROM ops")}
    states = {r[0]: (r[1], json.loads(r[2])) for r in stored.rows(
        "SELECT id, version, state FROM records WHERE collection = 'households'")}
    redemptions = {r[0] for r in stored.rows("SELECT id FROM redemptions")}
    redeems = [r[0] for r in stored.rows("SELECT ref FROM entries WHERE kind = 'redeem'")]
    balances = dict(stored.rows("SELECT account, balance FROM balances"))
    stock = stored.rows("SELECT stock FROM catalog WHERE sku = 'soap'")[0][0]
    acked = worker_net.acked_ops()
    assert acked
    for op, result in acked.items():
        assert result["status"] == "applied", result
        status, version, record = ops[op]
        assert (status, version) == ("applied", result["version"]), op
        assert states[record][0] >= version
        assert states[record][1]["fields"]["notes"] == NOTES  # whole, not cut short
    # ops.op is UNIQUE and records are keyed by id: stored at most once by the schema.
    if exact:  # no change stored that its device was not told about
        assert {op for op in ops if op in _sent_ops(worker_net)} == set(acked)
    done = shop_net.redemptions(200, 201)
    assert done and done <= redemptions
    assert sorted(redeems) == sorted(f"redemption:{r}" for r in redemptions)  # one each
    if exact:
        assert redemptions == done
    assert sum(balances.values()) == 0
    assert balances["volunteer:v1"] == 100_000 - 4 * len(redemptions)
    assert stock == 10_000 - len(redemptions)
    return {"ops": len(acked), "redemptions": len(redemptions)}


def _sent_ops(net: Recording) -> set[str]:
    return {c["op"] for path, body, _, _, _ in net.answers if path == "/sync"
            for c in body.get("changes", [])}


@pytest.mark.timeout(120)
def test_disk_full_answers_503_writes_nothing_half_and_recovers(
        make_live_server, api, world, data_dir, database_url, disk, tmp_path, open_stored):
    live_server = make_live_server(start=False)
    live_server.log_path = tmp_path / "serve.log"  # off the tmpfs: the log is not under test
    live_server.start()
    master = live_server.proc.pid
    api.ok(api.post("/ledger/adjustments", {"id": "0190f0c0-0000-4000-8000-00000000d001",
                                            "account": "volunteer:v1", "amount": 100_000,
                                            "reason": "disk full test"}), 201)
    api.ok(api.put("/shops/s1/catalog/soap", {"name": "肥皂", "price": 4, "stock": 10_000}))
    once = RetryPolicy(attempts=1)  # every request answered as it is, no retry
    clients = {}
    for person in ("w1", "shop1"):
        code = api.ok(api.post("/enrollments", {"person": person}), 201)["code"]
        net = Recording(HttpTransport(live_server.url, timeout=(2.0, 30.0)))
        client = FieldClient(tmp_path / f"disk-{person}", net, retry=once)
        client.enroll(live_server.url, code, person)
        clients[person] = (client, net)
    worker, wnet = clients["w1"]
    shop, snet = clients["shop1"]
    households: list[str] = []
    redemption_ids = iter(range(1, 10_000))

    def round_(n: int, label: str) -> tuple[bool, int | None]:
        """n households with long notes, a sync, a redemption: (synced, redeem status)."""
        for i in range(n):
            households.append(worker.add_household("g1", address=f"满盘路 {label}-{i} 号",
                                                   members=3, notes=NOTES)["id"])
        try:
            worker.sync()
            synced = True
        except FieldClientError:
            synced = False
        body = {"id": f"0190f0c0-0000-4000-8000-{next(redemption_ids):012d}",
                "volunteer": "v1", "card": world.cards["v1"],
                "items": [{"sku": "soap", "qty": 1}]}
        try:
            status = shop.call("POST", "/redemptions", body)[0]
        except FieldClientError as exc:
            status = getattr(exc, "status", None)
        return synced, status

    assert round_(3, "before") == (True, 201)
    while_full = open_stored()  # connected now, before the disk fills: see Stored
    filler = disk / "filler"
    _fill(filler, SLACK_BYTES)
    outcomes = []
    for step in range(60):  # until both kinds of request have failed a few times
        outcomes.append(round_(4, f"low{step}"))
        if sum(not s for s, _ in outcomes) >= 3 and sum(r == 503 for _, r in outcomes) >= 3:
            break
    _fill(filler, 0)  # and now not one byte left
    full = len(outcomes)
    for step in range(40):  # a few rows may still fit in pages PostgreSQL already has
        outcomes.append(round_(2, f"full{step}"))
        if step >= 3 and not any(s or r == 201 for s, r in outcomes[-2:]):
            break
    assert not any(s or r == 201 for s, r in outcomes[-2:]), outcomes[full:]
    assert shutil.disk_usage(disk).free < 64 * 1024

    # Every failure is a clear JSON 503 (or 413); the server is up and still reads.
    failures = [(path, status, ctype, data) for path, _, status, ctype, data
                in wnet.answers + snet.answers if status not in (200, 201)]
    assert len([f for f in failures if f[0] == "/sync"]) >= 3, outcomes
    assert len([f for f in failures if f[0] == "/redemptions"]) >= 3, outcomes
    for path, status, ctype, data in failures:
        assert status in (503, 413), (path, status, data)
        assert ctype.startswith("application/json"), (path, status, ctype)
        assert data["error"]["code"] == ("unavailable" if status == 503 else "too_large")
    assert live_server.proc.poll() is None
    assert requests.get(live_server.api_url + "/health", timeout=5).status_code == 200
    log = live_server.log()
    assert "Traceback" not in log and "was sent SIG" not in log, log[-4000:]

    # Nothing half-written: read while the disk is full, with no new connection.
    if database_url is not None:
        _forget_relcache_init_file(disk, filler)
    while_full.copy(tmp_path / "copy")
    during = _check_stored(while_full, wnet, snet, exact=True)
    head_while_full = while_full.head()

    # Space returns: the chain written while it was full verifies, and the next sync and
    # redemption go through, same server, no restart.
    filler.unlink()
    assert while_full.verify() == f"ledger sound: {head_while_full}"
    assert round_(1, "after") == (True, 201)
    assert worker.pending_count() == 0
    assert live_server.proc.poll() is None and live_server.proc.pid == master
    live_server.stop()
    stored = open_stored()
    after = _check_stored(stored, wnet, snet, exact=True)
    arrived = {r[0] for r in stored.rows(
        "SELECT id FROM records WHERE collection = 'households'")}
    assert set(households) <= arrived  # every household recorded on the phone arrived
    messages = sorted({f"{p} {s} {d['error']['message']}" for p, s, _, d in failures})
    print(f"disk full: rounds (synced, redeem status) {outcomes}; {len(failures)} failures: "
          f"{messages}; acknowledged while full {during}, after {after}; {stored.verify()}")
