"""PostgreSQL connections (psycopg 3 with a psycopg_pool pool), same surface as ``Database``.

Stores write their SQL once, with SQLite's ``?`` and ``:name`` placeholders;
``PgDatabase`` rewrites them to psycopg's ``%s`` / ``%(name)s`` (outside
string literals, cached per statement). The few constructs that differ
between the two databases are asked of ``db.sql`` (``server/storage/dialect.py``).

Isolation, the same guarantees as the SQLite path (docs/operations.md):

- ``transaction()`` is ``BEGIN`` (READ COMMITTED) followed by
  ``pg_advisory_xact_lock(WRITE_LOCK)`` (``transaction(deferred=True)``: at the
  caller's ``lock_writes()``, after its work that needs no current head, e.g. a
  push's merge checked afterwards, services/sync/push.py): write transactions from every
  process on every app host run one at a time, exactly as SQLite's
  ``BEGIN IMMEDIATE`` makes them. Each statement after the lock sees every
  commit made before it, so the ledger head, balances and stock read inside
  are current; change seqs are handed out in commit order (a pull never
  skips a record committed late), and the chain cannot fork.
- An advisory lock, not a row lock: measured against ``SELECT ... FOR UPDATE`` on
  a one-row table (bench/pg_contention.py) the two are equal within noise, and
  the advisory lock needs no table before the first migration and writes no
  row version per lock. The ledger's head row cannot be the lock: at READ
  COMMITTED a writer that waited on it gets the old head back, and change seqs
  need the same order as ledger seqs (docs/operations.md, Isolation).
- ``snapshot()`` is ``BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY``: a
  pull page and the audit read one consistent state without blocking writers.
- Statements outside both run in autocommit on a pooled connection.

Errors are classified from SQLSTATE where they are wrapped.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from .dialect import POSTGRESQL
from .errors import BUSY, INTEGRITY, OTHER, UNAVAILABLE, UNSTORABLE, BackendError

WRITE_LOCK = 0x67726964  # "grid": the one advisory lock every write transaction takes
DEVICE_LOCK = 0x64657669  # "devi": with a device's hash, its pushes' lock (lock_device)
POOL_SIZE = int(os.environ.get("GRIDSYNC_DATABASE_POOL", "4"))
LOCK_TIMEOUT_MS = 10_000  # like SQLite's busy timeout


def is_postgres_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def classify(exc: psycopg.Error) -> str:
    state = getattr(exc, "sqlstate", None) or ""
    if state.startswith("23"):
        return INTEGRITY
    if state in ("40001", "40P01", "55P03", "57014"):  # serialization, deadlock, lock, timeout
        return BUSY
    if (isinstance(exc, psycopg.OperationalError) or state.startswith(("08", "53", "57P"))
            or state == "25006"):  # connection, resources (disk full), shutdown, read-only
        return UNAVAILABLE
    return OTHER


@contextmanager
def driver_errors() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise BackendError(exc, classify(exc)) from exc


# --- placeholders -----------------------------------------------------------
_TOKENS = re.compile(r"'(?:[^']|'')*'|\?|(?<![:\w]):([A-Za-z_]\w*)|%")
_translated: dict[str, str] = {}


def translate(sql: str) -> str:
    """SQLite placeholders to psycopg's; string literals and ``::`` casts kept, every
    literal ``%`` doubled (statements always go with a parameter list, maybe empty)."""
    out = _translated.get(sql)
    if out is None:
        def sub(m: re.Match[str]) -> str:
            token = m.group(0)
            if token == "?":
                return "%s"
            if token == "%":
                return "%%"
            if m.group(1):
                return f"%({m.group(1)})s"
            return token.replace("%", "%%")  # a string literal: kept, but for psycopg's %
        out = _translated[sql] = _TOKENS.sub(sub, sql)
    return out


# --- rows -------------------------------------------------------------------
class Row(tuple):
    """A row readable by position and by column name, like ``sqlite3.Row``."""

    _names: tuple[str, ...]
    _index: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: psycopg.Cursor[Any]) -> Any:
    names = tuple(c.name for c in cursor.description or ())
    cls = type("Row", (Row,), {"_names": names, "_index": {n: i for i, n in enumerate(names)},
                               "__slots__": ()})
    return cls


class Result:
    """What ``execute`` returns: the rows (already fetched) and the row count."""

    def __init__(self, rows: list[Row], rowcount: int):
        self.rows, self.rowcount = rows, rowcount

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def fetchone(self) -> Row | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Row]:
        return self.rows


# --- pools ------------------------------------------------------------------
_pools: dict[tuple[int, str], ConnectionPool] = {}
_pools_lock = threading.Lock()


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.autocommit = True
    conn.row_factory = _row_factory
    conn.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
    conn.execute("SET TIME ZONE 'UTC'")
    # psycopg prepares a statement from its fifth run, and PostgreSQL may then switch to a
    # generic plan, which cannot see that a word's trigrams are rare or that a list of ids
    # is short: it scans every household or record (a phone search went from 3 to 27 ms
    # from the tenth search on, an import batch's look-up of 2,000 records from 10 ms to
    # 1.4 s). Every statement here is short and planned in well under a millisecond, so
    # each is planned for its own arguments, on every connection.
    conn.execute("SET plan_cache_mode = force_custom_plan")


UNREADABLE_URL = ("the PostgreSQL URL cannot be read (its text is not shown: it may hold a "
                  "password); write @ : / % # ? in a user name or password as %40 %3A %2F "
                  "%25 %23 %3F")


def _connect_once(url: str) -> None:
    """Parse ``url`` and connect once, so a bad URL or an unreachable server is one clear
    error now. The pool would instead retry in the background for 30 s, logging libpq's
    message each time (which, for a bad percent-escape, quotes the password), and end in
    "pool initialization incomplete"."""
    try:
        conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise BackendError(ValueError(UNREADABLE_URL), UNAVAILABLE) from None
    with driver_errors():
        psycopg.connect(url, connect_timeout=10).close()


def pool_for(url: str) -> ConnectionPool:
    """One pool per process and URL (a pool never crosses a fork)."""
    key = (os.getpid(), url)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            _connect_once(url)
            with driver_errors():
                pool = ConnectionPool(url, min_size=1, max_size=max(POOL_SIZE, 1),
                                      configure=_configure, open=True, timeout=30,
                                      kwargs={"connect_timeout": 10})
                pool.wait(timeout=30)
            _pools[key] = pool
    return pool


def close_pools(url: str | None = None) -> None:
    """Close this process's pools (only ``url``'s when given: others stay usable)."""
    with _pools_lock:
        for key, pool in list(_pools.items()):
            if url is None or key[1] == url:
                if key[0] == os.getpid():
                    pool.close()
                del _pools[key]


def _holds_nul(params: Any, many: bool) -> bool:
    rows = params if many else [params]
    for row in rows:
        values = row.values() if isinstance(row, dict) else row
        if any(isinstance(v, str) and "\x00" in v for v in values or ()):
            return True
    return False


class PgDatabase:
    """Statements on pooled connections; a transaction pins one connection."""

    sql = POSTGRESQL
    write_serial = 0
    """As ``Database.write_serial``: odd inside a write transaction once it holds the write
    lock (a deferred one from ``lock_writes()``), even outside; a new odd value after a
    savepoint is undone."""
    write_lock: tuple[str, tuple] = ("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
    """The statement every write transaction begins with (bench/pg_contention.py swaps in
    a row lock to measure the two against each other)."""

    def __init__(self, url: str):
        self.path = url
        self.pool = pool_for(url)
        self._conn: psycopg.Connection[Any] | None = None
        self._depth = 0
        self._relaxed = False
        self._lock_timeout: int | None = None
        self._locked = False  # this transaction holds the write lock
        self._lock = threading.RLock()

    # --- statements ---------------------------------------------------------
    def _run(self, conn: psycopg.Connection[Any], sql: str, params: Any, many: bool,
             binary: bool = False) -> Result:
        with conn.cursor(binary=binary) as cur:
            if many:
                cur.executemany(translate(sql), params)
                return Result([], cur.rowcount)
            cur.execute(translate(sql), params if params else ())
            rows = cur.fetchall() if cur.description is not None else []
            return Result(rows, cur.rowcount)

    def _statement(self, sql: str, params: Any = (), many: bool = False,
                   binary: bool = False) -> Result:
        try:
            with driver_errors():
                if self._conn is not None:
                    return self._run(self._conn, sql, params, many, binary)
                with self.pool.connection() as conn:
                    return self._run(conn, sql, params, many, binary)
        except BackendError as exc:
            # psycopg refuses a NUL in text before sending it (no SQLSTATE): found in the
            # values, only on this failure path, so a statement costs nothing more.
            if isinstance(exc.original, psycopg.DataError) and _holds_nul(params, many):
                raise BackendError(exc.original, UNSTORABLE) from exc.original
            raise

    def execute(self, sql: str, params: Sequence[Any] | dict = ()) -> Result:
        return self._statement(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any] | dict]) -> Result:
        rows = list(rows)
        if not rows:
            return Result([], 0)
        return self._statement(sql, rows, many=True)

    def query(self, sql: str, params: Sequence[Any] | dict = ()) -> list[Row]:
        return self._statement(sql, params).rows

    def tuples(self, sql: str, params: Sequence[Any] | dict = ()) -> list[Row]:
        """``query`` (its rows are tuples already) with the results in binary format: a
        pulled page's views (bytea) come as they are stored, not as hex text twice their
        size to be decoded (a 50,000-household pull: half the client's CPU)."""
        return self._statement(sql, params, binary=True).rows

    def one(self, sql: str, params: Sequence[Any] | dict = ()) -> Row | None:
        return self._statement(sql, params).fetchone()

    def scalar(self, sql: str, params: Sequence[Any] | dict = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    def lock_timeout_ms(self, ms: int) -> None:
        """How long a write waits for another writer's lock before failing busy."""
        self._lock_timeout = int(ms)

    # --- transactions -------------------------------------------------------
    @contextmanager
    def _pinned(self, begin: str, write: bool, deferred: bool = False) -> Iterator[PgDatabase]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    if write and not deferred:
                        self.lock_writes()  # a locking transaction inside a deferred one
                    yield self
                finally:
                    self._depth -= 1
                return
            with self.pool.connection() as conn:
                self._conn, self._depth, self._locked = conn, 1, False
                try:
                    with driver_errors():
                        conn.execute(begin)
                        if self._lock_timeout is not None:
                            conn.execute(f"SET LOCAL lock_timeout = {self._lock_timeout}")
                        if write and self._relaxed:
                            conn.execute("SET LOCAL synchronous_commit = off")
                    if write and not deferred:
                        self.lock_writes()
                    yield self
                except BaseException:
                    self._conn, self._depth, self._locked = None, 0, False
                    self.write_serial += self.write_serial & 1
                    try:
                        conn.execute("ROLLBACK")
                    except psycopg.Error:
                        pass  # the connection is gone; the pool discards it
                    raise
                self._conn, self._depth, self._locked = None, 0, False
                self.write_serial += self.write_serial & 1
                with driver_errors():
                    conn.execute("COMMIT")

    def transaction(self, *, deferred: bool = False) -> Any:
        """BEGIN + the write lock … COMMIT; nested uses join the outer transaction.

        ``deferred``: BEGIN only; the caller takes the lock with ``lock_writes()`` before
        its first statement that needs the current head (seqs, balances, a state it
        merges into), so the work before it overlaps other writers. A transaction
        nested in it without ``deferred`` takes the lock on entry."""
        return self._pinned("BEGIN", write=True, deferred=deferred)

    def lock_writes(self) -> None:
        """Take the write lock (held until the transaction ends), if not held yet. From
        here on every statement sees every commit made before, and no other write
        transaction gets past its own lock until this one commits."""
        if self._conn is None:
            raise RuntimeError("lock_writes() outside a write transaction")
        if not self._locked:
            with driver_errors():
                self._conn.execute(*self.write_lock)
            self._locked = True
            self.write_serial += 1 + (self.write_serial & 1)  # a new odd value

    def lock_device(self, device: str) -> None:
        """One device's deferred pushes one at a time (a transaction-level advisory lock
        in the two-key space, apart from WRITE_LOCK's; a savepoint's undo keeps it).

        Without it a retry sent through another host while its original was sent back
        (stale under the write lock) claimed the op rows the undo had freed; the
        original, applying again under the write lock, waited on those rows while the
        retry waited on the lock: a deadlock PostgreSQL broke after 1 s by failing one
        of them or any writer queued behind, with every host's writers waiting."""
        if self._conn is None:
            raise RuntimeError("lock_device() outside a write transaction")
        with driver_errors():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                               (DEVICE_LOCK, device))

    @contextmanager
    def savepoint(self) -> Iterator[PgDatabase]:
        """Inside a transaction: what runs inside is undone if it raises (the
        transaction goes on), kept if not. A write lock taken inside counts as not
        taken after an undo (``lock_writes()`` takes it again: it may have gone)."""
        conn, locked = self._conn, self._locked
        if conn is None:
            raise RuntimeError("savepoint() outside a transaction")
        with driver_errors():
            conn.execute("SAVEPOINT gridsync_attempt")
        try:
            yield self
        except BaseException:
            self._locked = locked
            self.write_serial += 2 * (self.write_serial & 1)  # what was read inside is undone
            with driver_errors():
                conn.execute("ROLLBACK TO SAVEPOINT gridsync_attempt")
                conn.execute("RELEASE SAVEPOINT gridsync_attempt")
            raise
        with driver_errors():
            conn.execute("RELEASE SAVEPOINT gridsync_attempt")

    def snapshot(self) -> Any:
        """A read transaction: every query inside sees one consistent state."""
        return self._pinned("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", write=False)

    # PostgreSQL's checkpointer process does what ``Database`` checkpoints after responses.
    def defer_checkpoints(self) -> None:
        """Nothing to defer: no app host checkpoints PostgreSQL."""

    def checkpoint_due(self) -> bool:
        return False

    def checkpoint(self) -> tuple[int, int, int]:
        return (0, 0, 0)

    @contextmanager
    def relaxed_durability(self) -> Iterator[PgDatabase]:
        """Transactions inside commit without waiting for the WAL flush."""
        self._relaxed = True
        try:
            yield self
        finally:
            self._relaxed = False

    # --- schema version -----------------------------------------------------
    def user_version(self) -> int:
        self.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        value = self.scalar("SELECT max(version) FROM schema_version")
        return int(value or 0)

    def set_user_version(self, version: int) -> None:
        self.execute("DELETE FROM schema_version")
        self.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    def close(self) -> None:
        """The pool stays open for the process's other users; nothing is held here."""
        self._conn = None
