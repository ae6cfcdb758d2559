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

from .dialect import SQLITE
from .errors import BUSY, INTEGRITY, OTHER, UNAVAILABLE, BackendError

BUSY_TIMEOUT_MS = 10_000

CHECKPOINT_INTERVAL_S = 1.0
"""A request connection checkpoints the WAL after a response, at most this often (and
only after it committed a write): ``Database.defer_checkpoints``."""
SAFETY_AUTOCHECKPOINT_PAGES = 10_000
"""The WAL size (pages; 40 MB at 4 KiB) at which a request connection's commit still
checkpoints by itself: the bound on the WAL if no checkpoint runs after responses."""


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


# Primary result codes (the low byte of sqlite_errorcode): https://sqlite.org/rescode.html
_KINDS = {5: BUSY, 6: BUSY,                                   # SQLITE_BUSY, SQLITE_LOCKED
          3: UNAVAILABLE, 8: UNAVAILABLE, 10: UNAVAILABLE,    # PERM, READONLY, IOERR
          13: UNAVAILABLE, 14: UNAVAILABLE,                   # FULL, CANTOPEN
          19: INTEGRITY}                                      # CONSTRAINT


def classify(exc: sqlite3.Error) -> str:
    code = getattr(exc, "sqlite_errorcode", None)
    return OTHER if code is None else _KINDS.get(code & 0xFF, OTHER)


def wrapped(exc: sqlite3.Error) -> BackendError:
    """The driver's error as BackendError (the one storage error for them)."""
    return BackendError(exc, classify(exc))


@contextmanager
def driver_errors() -> Iterator[None]:
    """Turn the driver's errors into BackendError inside the block."""
    try:
        yield
    except sqlite3.Error as exc:
        raise wrapped(exc) from exc


class Database:
    """One SQLite connection with explicit, re-entrant transactions."""

    sql = SQLITE
    write_serial = 0
    """Odd inside a write transaction, even outside; moves on when one begins
    and when it ends, so each transaction has a value of its own: what a store
    read under the write lock is keyed on it (``LedgerStore``'s head)."""

    def __init__(self, path: str):
        self.path = path
        with driver_errors():
            self.conn = connect(path)
        self._depth = 0
        self._lock = threading.RLock()
        self.deferred_checkpoints = False
        self._wrote = False  # a write committed since the last checkpoint
        self._checkpointed = 0.0  # time.monotonic() of the last one

    # The statements catch the driver's errors themselves rather than in ``driver_errors``:
    # a context manager costs about 1 µs a statement, on every statement the server runs.
    def execute(self, sql: str, params: Sequence[Any] | dict = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise wrapped(exc) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        try:
            return self.conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise wrapped(exc) from exc

    def query(self, sql: str, params: Sequence[Any] | dict = ()) -> list[sqlite3.Row]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise wrapped(exc) from exc

    def tuples(self, sql: str, params: Sequence[Any] | dict = ()) -> list[tuple]:
        """``query`` as plain tuples (no ``sqlite3.Row`` per row: for big pages)."""
        with driver_errors():
            cursor = self.conn.cursor()
            cursor.row_factory = None
            return cursor.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] | dict = ()) -> sqlite3.Row | None:
        try:
            return self.conn.execute(sql, params).fetchone()
        except sqlite3.Error as exc:
            raise wrapped(exc) from exc

    def scalar(self, sql: str, params: Sequence[Any] | dict = ()) -> Any:
        try:
            row = self.conn.execute(sql, params).fetchone()
        except sqlite3.Error as exc:
            raise wrapped(exc) from exc
        return None if row is None else row[0]

    def lock_timeout_ms(self, ms: int) -> None:
        """How long a write waits for another writer's lock before failing busy."""
        self.execute(f"PRAGMA busy_timeout = {int(ms)}")

    @contextmanager
    def transaction(self, *, deferred: bool = False) -> Iterator[Database]:
        """BEGIN IMMEDIATE … COMMIT; nested uses join the outer transaction.

        ``deferred`` changes nothing here: SQLite takes its one write lock at BEGIN
        IMMEDIATE, and one host's writers have nothing to overlap (PostgreSQL's
        ``transaction(deferred=True)`` takes it at ``lock_writes()``)."""
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
            self.write_serial += 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                self.write_serial += 1
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            self._depth = 0
            self.write_serial += 1
            self.execute("COMMIT")
            self._wrote = True

    def lock_writes(self) -> None:
        """The write lock is held from BEGIN IMMEDIATE: nothing to take."""

    def lock_device(self, device: str) -> None:
        """BEGIN IMMEDIATE already runs every write transaction one at a time."""

    @contextmanager
    def savepoint(self) -> Iterator[Database]:
        """Inside a transaction: what runs inside is undone if it raises, kept if not."""
        self.execute("SAVEPOINT gridsync_attempt")
        try:
            yield self
        except BaseException:
            self.write_serial += 2 * (self.write_serial & 1)  # what was read inside is undone
            self.execute("ROLLBACK TO SAVEPOINT gridsync_attempt")
            self.execute("RELEASE SAVEPOINT gridsync_attempt")
            raise
        self.execute("RELEASE SAVEPOINT gridsync_attempt")

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

    @contextmanager
    def relaxed_durability(self) -> Iterator[Database]:
        """synchronous=NORMAL for what runs inside (nothing a device was promised)."""
        self.execute("PRAGMA synchronous = NORMAL")
        try:
            yield self
        finally:
            self.execute("PRAGMA synchronous = FULL")

    def defer_checkpoints(self) -> None:
        """Checkpoint the WAL when ``checkpoint_due`` says, after a response, rather than
        inside the commit that crosses SQLite's 1,000 pages (which made one request in
        about sixty pay ~3 ms of CPU and the database file's fsync). The commit's own
        fsync of the WAL is what makes a change durable; a checkpoint only copies
        committed pages into the database file, so moving it loses nothing. A commit
        still checkpoints by itself past ``SAFETY_AUTOCHECKPOINT_PAGES``, so the WAL stays
        bounded whatever happens to the checkpoints after responses."""
        self.execute(f"PRAGMA wal_autocheckpoint = {SAFETY_AUTOCHECKPOINT_PAGES}")
        self.deferred_checkpoints = True

    def checkpoint_due(self) -> bool:
        """A write was committed here since the last checkpoint, at least
        ``CHECKPOINT_INTERVAL_S`` ago (only for a connection that defers them)."""
        return (self.deferred_checkpoints and self._wrote and not self._depth
                and time.monotonic() - self._checkpointed >= CHECKPOINT_INTERVAL_S)

    def checkpoint(self) -> tuple[int, int, int]:
        """A passive checkpoint: copies what no reader still needs from the WAL into the
        database file, waiting for no one (SQLite's own autocheckpoint is one too).
        (busy, frames in the WAL, frames checkpointed), as ``PRAGMA wal_checkpoint``."""
        self._wrote, self._checkpointed = False, time.monotonic()
        row = self.one("PRAGMA wal_checkpoint(PASSIVE)")
        return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)

    def user_version(self) -> int:
        return int(self.scalar("PRAGMA user_version"))

    def set_user_version(self, version: int) -> None:
        self.execute(f"PRAGMA user_version = {int(version)}")

    def close(self) -> None:
        self.conn.close()
