"""Test helpers: an API client with tokens, a standard small world, signed devices."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync.crypto import DeviceKey
from sync.hlc import HybridClock
from sync.signing import enrolment_proof, sign_change

RULES = {"activities": {"elderly_care": {"points_per_hour": 10},
                        "cleanup": {"points_per_hour": 6}},
         "daily_cap": None, "timezone": "Asia/Shanghai"}


def uuid7() -> str:
    """A time-ordered lowercase UUID (v7 layout is enough for tests)."""
    return str(uuid.uuid4())


class ApiClient:
    """Flask test client (or anything with the same methods) plus a bearer token."""

    def __init__(self, client: Any, token: str):
        self.client, self.token = client, token

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def get(self, path: str, token: str | None = None, **kw: Any) -> Any:
        return self.client.get("/api/v1" + path, headers=self.headers(token), **kw)

    def post(self, path: str, body: Any = None, token: str | None = None, **kw: Any) -> Any:
        return self.client.post("/api/v1" + path, json=body, headers=self.headers(token), **kw)

    def put(self, path: str, body: Any = None, token: str | None = None) -> Any:
        return self.client.put("/api/v1" + path, json=body, headers=self.headers(token))

    def patch(self, path: str, body: Any = None, token: str | None = None) -> Any:
        return self.client.patch("/api/v1" + path, json=body, headers=self.headers(token))

    def ok(self, resp: Any, status: int = 200) -> Any:
        assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
        return resp.get_json()

    def person(self, id: str, role: str, grids: list[str], **extra: Any) -> dict:
        body = {"id": id, "name": f"name of {id}", "role": role, "grids": grids, **extra}
        return self.ok(self.post("/people", body), 201)

    def enroll(self, person: str, name: str = "phone") -> Device:
        code = self.ok(self.post("/enrollments", {"person": person}), 201)["code"]
        key = DeviceKey.generate()
        body = {"code": code, "public_key": key.public_key, "name": name,
                "proof": enrolment_proof(code, key)}
        out = self.ok(self.client.post("/api/v1/devices/enroll", json=body), 201)
        return Device(api=self, key=key, id=out["device_id"], token=out["token"],
                      person=person, clock=HybridClock(out["device_id"]))

    def make_world(self) -> World:
        for grid in ({"id": "c1", "name": "社区一", "parent": None},
                     {"id": "g1", "name": "一网格", "parent": "c1"},
                     {"id": "g1a", "name": "一网格甲", "parent": "g1"},
                     {"id": "g2", "name": "二网格", "parent": "c1"}):
            self.ok(self.post("/grids", grid), 201)
        self.ok(self.post("/shops", {"id": "s1", "name": "积分超市", "community": "c1"}), 201)
        self.ok(self.put("/rules", RULES))
        self.person("w1", "worker", ["g1"])
        self.person("w1b", "worker", ["g1"])
        self.person("w2", "worker", ["g2"])
        self.person("v1", "volunteer", ["g1"])
        self.person("v2", "volunteer", ["g2"])
        self.person("shop1", "shop", [], shop="s1")
        card = self.ok(self.post("/people/v1/card"), 201)["card"]
        self.ok(self.put("/shops/s1/catalog/rice", {"name": "大米 5kg", "price": 30, "stock": 5}))
        self.ok(self.put("/shops/s1/catalog/soap", {"name": "肥皂", "price": 4, "stock": 100}))
        return World(api=self, cards={"v1": card})


@dataclass
class Device:
    """An enrolled device that signs changes with its own key and clock."""

    api: ApiClient
    key: DeviceKey
    id: str
    token: str
    person: str
    clock: HybridClock
    cursor: str | None = None

    def change(self, collection: str, fields: dict, *, id: str | None = None,
               base: int | None = None, deleted: bool = False, op: str | None = None,
               hlc: str | None = None) -> dict:
        unsigned = {"op": op or uuid7(), "collection": collection, "id": id or uuid7(),
                    "hlc": hlc or self.clock.send(), "base": base, "fields": fields,
                    "deleted": deleted}
        return sign_change(unsigned, self.key)

    def sync(self, changes: list[dict] | None = None, *, cursor: Any = "keep",
             limit: int | None = None, status: int = 200) -> dict:
        body: dict[str, Any] = {"cursor": self.cursor if cursor == "keep" else cursor,
                                "changes": changes or []}
        if limit is not None:
            body["limit"] = limit
        resp = self.api.post("/sync", body, token=self.token)
        out = self.api.ok(resp, status)
        if status == 200:
            self.cursor = out["cursor"]
        return out

    def pull_all(self, *, fresh: bool = False) -> dict[tuple[str, str], dict]:
        """Sync until has_more is false; returns the records seen, evictions applied.

        ``fresh`` starts from a null cursor, so every record in scope is returned.
        """
        seen: dict[tuple[str, str], dict] = {}
        if fresh:
            self.cursor = None
        while True:
            out = self.sync()
            for rec in out["changes"]:
                seen[(rec["collection"], rec["id"])] = rec
            for ev in out["evict"]:
                seen.pop((ev["collection"], ev["id"]), None)
            if not out["has_more"]:
                return seen


@dataclass
class World:
    api: ApiClient
    cards: dict[str, str] = field(default_factory=dict)


def issue_token(data_dir: Any, person: str) -> str:
    """A plain API token (no device) for a person, as `gridsync token issue` makes."""
    from server.config import database_target
    from server.services.access import issue_token as _issue
    from server.storage import open_storage

    store = open_storage(database_target(str(data_dir)))
    try:
        return _issue(store, person)[1]
    finally:
        store.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gridsync_command() -> list[str]:
    """The installed `gridsync` script next to this interpreter, else `python -c`."""
    script = Path(sys.executable).with_name("gridsync")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from server.cli import main; main()"]


class LiveServer:
    """`gridsync serve` (gunicorn) in a subprocess on a free port of 127.0.0.1.

    ``start()`` waits (bounded) until /api/v1/health answers 200; ``stop()``
    sends SIGTERM and waits for a clean exit; ``kill()`` is a crash (SIGKILL to
    the whole process group). The port stays the same across restarts, so
    clients holding ``url`` reconnect to the new process.
    """

    def __init__(self, data_dir: Any, token: str, *, workers: int = 2,
                 env: dict[str, str] | None = None, start_timeout: float = 30.0):
        self.data_dir = Path(data_dir)
        self.token = token
        self.workers = workers
        self.env = env or {}
        self.start_timeout = start_timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = self.url + "/api/v1"
        self.log_path = self.data_dir.parent / f"serve-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> LiveServer:
        import requests

        if self.proc is not None and self.proc.poll() is None:
            return self
        cmd = [*gridsync_command(), "serve", "--data-dir", str(self.data_dir),
               "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, **self.env},
                                         start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gridsync serve exited with {self.proc.returncode}:\n"
                                   + self.log()[-4000:])
            try:
                if requests.get(self.api_url + "/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"gridsync serve not up after {self.start_timeout}s:\n"
                           + self.log()[-4000:])

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait; returns the exit status (None if it was not running)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
                raise RuntimeError(
                    "gridsync serve ignored SIGTERM:\n" + self.log()[-4000:]) from None
        return proc.returncode

    def kill(self) -> None:
        """SIGKILL the master and its workers at once (a crash, no clean-up)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: children of the master process (Linux /proc)."""
        if self.proc is None:
            return []
        pids: list[int] = []
        for task in Path(f"/proc/{self.proc.pid}/task").glob("*/children"):
            pids += [int(p) for p in task.read_text().split()]
        return pids


def db_dump(data_dir: Any, *, skip: tuple[str, ...] = ("rate_limits",)) -> dict[str, list]:
    """Every row of every table (sorted), read with a separate connection: compare a
    dump taken before a failing request with one taken after to prove nothing changed."""
    db = RawDb(data_dir)
    try:
        if db.postgres:
            listed = db.execute("SELECT table_name FROM information_schema.tables "
                                "WHERE table_schema = current_schema() "
                                "AND table_type = 'BASE TABLE'")
        else:
            listed = db.execute("SELECT name FROM sqlite_master "
                                "WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        tables = [r[0] for r in listed]
        return {t: sorted(repr(tuple(row)) for row in db.execute(f'SELECT * FROM "{t}"'))
                for t in tables if t not in skip}
    finally:
        db.close()


def add_second_community(api: ApiClient) -> None:
    """Beside make_world's c1: community c2 with grid h1, shop s2 (staff shop2), worker w3,
    volunteer v3, and a second shop s1b in c1 (staff shop1b); plus auditor a1."""
    api.ok(api.post("/grids", {"id": "c2", "name": "社区二", "parent": None}), 201)
    api.ok(api.post("/grids", {"id": "h1", "name": "二社区一网格", "parent": "c2"}), 201)
    api.ok(api.post("/shops", {"id": "s2", "name": "二社区超市", "community": "c2"}), 201)
    api.ok(api.post("/shops", {"id": "s1b", "name": "一社区二号店", "community": "c1"}), 201)
    api.person("shop2", "shop", [], shop="s2")
    api.person("shop1b", "shop", [], shop="s1b")
    api.person("w3", "worker", ["h1"])
    api.person("v3", "volunteer", ["h1"])
    api.person("a1", "auditor", [])


def make_tokens(api: ApiClient, data_dir: Any) -> dict[str, str]:
    """After make_world: add_second_community, then a token per person (see the
    ``tokens`` fixture)."""
    add_second_community(api)
    out = {"admin": api.token, "a1": issue_token(data_dir, "a1")}
    for person in ("w1", "w2", "v1", "v2", "shop1", "shop1b", "shop2", "w3", "v3"):
        out[person] = api.enroll(person).token
    return out


def api_error(resp: Any, status: int, code: str) -> dict:
    """Assert a JSON error answer with this status and code; returns its ``error`` object."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    assert resp.mimetype == "application/json"
    err = resp.get_json()["error"]
    assert err["code"] == code, err
    assert isinstance(err["message"], str) and err["message"]
    return err


def api_validation(resp: Any, *fields: str) -> dict:
    """Assert a 400 ``validation`` answer whose ``fields`` name (at least) these fields."""
    err = api_error(resp, 400, "validation")
    assert isinstance(err.get("fields"), dict), err
    for name in fields:
        assert name in err["fields"], (name, err)
    return err


class RawDb:
    """A direct connection to a test's database, whichever backend (``?`` placeholders,
    rows by position or column name), for tests that look behind the API or tamper."""

    def __init__(self, data_dir: Any, env: dict[str, str] | None = None):
        from server.config import database_target
        from server.storage.postgres import is_postgres_url

        self.target = database_target(str(data_dir), (env or {}).get("GRIDSYNC_DATABASE_URL"))
        self.postgres = is_postgres_url(self.target)
        self.conn: Any  # a psycopg or a sqlite3 connection
        if self.postgres:
            import psycopg

            from server.storage.postgres import _row_factory

            self.conn = psycopg.connect(self.target, autocommit=True,
                                        row_factory=_row_factory)
        else:
            import sqlite3

            self.conn = sqlite3.connect(self.target, isolation_level=None)
            self.conn.row_factory = sqlite3.Row

    def execute(self, sql: str, params: Any = ()) -> Any:
        if self.postgres:
            from server.storage.postgres import translate

            return self.conn.execute(translate(sql), params or None)
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> Any:
        if self.postgres:
            from server.storage.postgres import translate

            with self.conn.cursor() as cur:
                cur.executemany(translate(sql), list(rows))
            return None
        return self.conn.executemany(sql, rows)

    def scalar(self, sql: str, params: Any = ()) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def set_schema_version(self, version: int) -> None:
        """Stamp the database as migrated to ``version`` (a newer or older gridsync's)."""
        if self.postgres:
            self.execute("UPDATE schema_version SET version = ?", (version,))
        else:
            self.execute(f"PRAGMA user_version = {int(version)}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> RawDb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def raw_db(data_dir: Any, env: dict[str, str] | None = None) -> RawDb:
    """``data_dir``'s database (``env``: an ``other_database`` environment it was made in)."""
    return RawDb(data_dir, env)


def purge_after_cursor_check(monkeypatch: Any, data_dir: Any) -> list[int]:
    """The next sync's cursor check is followed, before anything else of that sync, by a
    tombstone purge (180 days) committed through another connection of ``data_dir``'s
    database: a retention job on another worker or host. Returns the list that then
    holds how many tombstones it purged."""
    from server.config import database_target
    from server.services import retention
    from server.services.sync import cursors
    from server.storage import open_storage

    purged: list[int] = []
    check = cursors.check

    def check_then_purge(*args: Any, **kwargs: Any) -> Any:
        cursor = check(*args, **kwargs)
        if not purged:
            other = open_storage(database_target(str(data_dir)), migrate_schema=False)
            try:
                purged.append(retention.purge_tombstones(other, 180))
            finally:
                other.close()
        return cursor

    monkeypatch.setattr(cursors, "check", check_then_purge)
    return purged


def age_tombstones(data_dir: Any) -> None:
    """Every tombstone of ``data_dir``'s database past any retention window."""
    with raw_db(data_dir) as db:
        db.execute("UPDATE records SET updated_at = '2000-01-01T00:00:00.000Z' "
                   "WHERE deleted = 1")
