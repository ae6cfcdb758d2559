"""Whole-database operations: online backup, identification, row counts.

``backup`` copies the live database with SQLite's online backup API while
the server keeps writing. It holds one read transaction on the source for
the whole copy, so every page comes from the same snapshot (WAL: writers
are not blocked, and the copy never restarts because of them); the copy is
the database as it was at one instant.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from .connection import BUSY_TIMEOUT_MS, Database
from .errors import SchemaTooNew, StorageError
from .migrations import LATEST

# Tables a gridsync database must have (schema 1 onwards).
REQUIRED_TABLES = ("grids", "people", "devices", "tokens", "signing_keys", "records", "ops",
                   "entries", "balances")
# Tables whose row counts a backup or restore reports, in this order.
COUNTED_TABLES = ("grids", "shops", "people", "devices", "tokens", "catalog", "records", "ops",
                  "conflicts", "entries", "redemptions", "signing_keys")

Progress = Callable[[int, int], None]


class NotGridsync(StorageError):
    """The file is not a SQLite database, or not one gridsync made."""


def backup(src: Database, dest_path: str, *, pages: int = 1024,
           progress: Progress | None = None) -> None:
    """Copy ``src`` into the file ``dest_path`` (replacing its content), ``pages``
    pages a step, calling ``progress(copied, total)`` after each step.

    The copy is left in rollback-journal mode: one self-contained file, readable
    without -wal/-shm companions (the server switches it back to WAL on open).
    """
    dest = sqlite3.connect(dest_path, isolation_level=None)
    try:
        with src.snapshot():
            # Start the read transaction now: every later step reads this snapshot.
            src.scalar("SELECT count(*) FROM sqlite_master")

            def step(status: int, remaining: int, total: int) -> None:
                if progress is not None:
                    progress(total - remaining, total)

            src.conn.backup(dest, pages=pages, progress=step)
        dest.execute("PRAGMA journal_mode = DELETE")
        dest.execute("PRAGMA synchronous = FULL")
    finally:
        dest.close()


def copy_file_database(src_path: str, dest_path: str) -> None:
    """Copy a database file (read-only, WAL companions honoured) into a new
    file with the backup API; raises NotGridsync if it is not SQLite at all."""
    if not Path(src_path).is_file():
        raise NotGridsync(f"{src_path} does not exist or is not a file")
    try:
        src = sqlite3.connect(f"file:{Path(src_path).resolve()}?mode=ro", uri=True,
                              isolation_level=None)
    except sqlite3.Error as exc:
        raise NotGridsync(f"cannot be opened as SQLite ({exc})") from None
    try:
        dest = sqlite3.connect(dest_path, isolation_level=None)
        try:
            src.execute("SELECT count(*) FROM sqlite_master").fetchone()
            src.backup(dest)
            dest.execute("PRAGMA journal_mode = DELETE")
        finally:
            dest.close()
    except sqlite3.DatabaseError as exc:
        raise NotGridsync(f"not a SQLite file ({exc})") from None
    finally:
        src.close()


def settle(path: str) -> None:
    """Leave a database file self-contained: rollback-journal mode, its -wal
    checkpointed into it and -wal/-shm removed. No other connection may be open."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        if str(mode).lower() != "delete":
            raise StorageError(f"{path} is still in use (journal mode {mode})")
    finally:
        conn.close()


class FileDatabase(Database):
    """A ``Database`` on a file the server is not using (a backup, a restore in
    progress): opened as it is, without switching it to WAL."""

    def __init__(self, path: str):
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._depth = 0
        self._lock = threading.RLock()


class Maintenance:
    """Read-only whole-database questions about one ``Database``."""

    def __init__(self, db: Database):
        self.db = db

    def schema_version(self) -> int:
        return int(self.db.scalar("PRAGMA user_version"))

    def tables(self) -> set[str]:
        return {r[0] for r in self.db.query(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}

    def check_is_gridsync(self) -> int:
        """Raise NotGridsync / SchemaTooNew unless this is a gridsync database
        this version can run; returns its schema version."""
        try:
            version = self.schema_version()
            tables = self.tables()
        except sqlite3.DatabaseError as exc:
            raise NotGridsync(f"not a SQLite file ({exc})") from None
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if version < 1 or missing:
            raise NotGridsync(
                f"schema version {version}, missing tables: {', '.join(missing) or 'none'}")
        if version > LATEST:
            raise SchemaTooNew(version, LATEST)
        return version

    def integrity_problems(self) -> list[str]:
        """SQLite's own page-level check; [] when the file is sound."""
        rows = [str(r[0]) for r in self.db.query("PRAGMA quick_check")]
        return [] if rows == ["ok"] else rows[:10]

    def counts(self) -> dict[str, int]:
        present = self.tables()
        return {t: int(self.db.scalar(f'SELECT count(*) FROM "{t}"'))
                for t in COUNTED_TABLES if t in present}
