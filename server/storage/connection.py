"""SQLite connections: pragmas, one-statement access, explicit transactions.

All SQL goes through ``Database.execute`` / ``executemany`` / ``query`` so a
tracer sees every statement. Connections run in autocommit mode and
transactions are explicit: ``with db.transaction():`` issues
``BEGIN IMMEDIATE`` so several gunicorn workers serialize on the write lock
(and on the ledger's chain head) instead of failing with SQLITE_BUSY later.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .errors import BackendError

BUSY_TIMEOUT_MS = 10_000


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    _use_wal(conn)
    # A change acknowledged to a device must survive a power cut.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL (persistent), retrying while another process does the same.

    Changing the journal mode of a new file does not wait on busy_timeout: two workers
    opening one new database at once would otherwise fail with "database is locked".
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextmanager
def driver_errors() -> Iterator[None]:
    """Turn the driver's errors into BackendError (the one storage error for them)."""
    try:
        yield
    except sqlite3.Error as exc:
        raise BackendError(exc) from exc


class Database:
    """One SQLite connection with explicit, re-entrant transactions."""

    def __init__(self, path: str):
        self.path = path
        with driver_errors():
            self.conn = connect(path)
        self._depth = 0
        self._lock = threading.RLock()

    def execute(self, sql: str, params: Sequence[Any] | dict = ()) -> sqlite3.Cursor:
        with driver_errors():
            return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        with driver_errors():
            return self.conn.executemany(sql, rows)

    def query(self, sql: str, params: Sequence[Any] | dict = ()) -> list[sqlite3.Row]:
        with driver_errors():
            return self.conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] | dict = ()) -> sqlite3.Row | None:
        with driver_errors():
            return self.conn.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: Sequence[Any] | dict = ()) -> Any:
        with driver_errors():
            row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """BEGIN IMMEDIATE … COMMIT; nested uses join the outer transaction."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            self._depth = 0
            self.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[Database]:
        """A read transaction: every query inside sees one consistent state."""
        with self._lock:
            if self._depth:
                yield self
                return
            self.execute("BEGIN")
            self._depth = 1
            try:
                yield self
            finally:
                self._depth = 0
                self.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()
