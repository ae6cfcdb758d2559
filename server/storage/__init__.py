"""Storage behind one interface.

``open_storage(path)`` returns a ``Storage`` (the Protocol in ``interface.py``)
whose parts each own one area's SQL: ``directory`` (grids, shops, people,
catalog, rules), ``access`` (tokens, devices, enrolment), ``records`` (sync),
``cases`` (the case index, history, report codes, receipts), ``ledger``, ``audit``
and ``web``. Services call these methods inside
``storage.transaction()``; nothing outside this package writes SQL. Every
backend must pass ``tests/server/test_storage_contract.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .access import AccessStore
from .case_audit import CaseAuditStore
from .cases import CaseStore
from .connection import Database
from .directory import DirectoryStore
from .errors import (
    BackendError,
    Conflict,
    Missing,
    SchemaNotCurrent,
    SchemaTooNew,
    StorageError,
)
from .fielddata import FieldDataStore, ensure_search_index
from .imports import ImportStore
from .interface import Storage
from .ledger import LedgerStore
from .ledger_audit import LedgerAuditStore
from .migrations import LATEST, current_version, migrate
from .postgres import PgDatabase, is_postgres_url
from .records import RecordStore
from .web import WebStore

__all__ = ["Storage", "SqlStorage", "open_storage", "open_current", "BackendError", "Conflict",
           "Missing", "SchemaNotCurrent", "SchemaTooNew", "StorageError", "LATEST"]


class SqlStorage:
    """The parts over one ``Database`` connection."""

    def __init__(self, db: Database):
        self.db = db
        self.directory = DirectoryStore(db)
        self.access = AccessStore(db)
        self.records = RecordStore(db)
        self.cases = CaseStore(db)
        self.case_audit = CaseAuditStore(db)
        self.ledger = LedgerStore(db)
        self.audit = LedgerAuditStore(db)
        self.web = WebStore(db)
        self.fielddata = FieldDataStore(db)
        self.imports = ImportStore(db)

    @contextmanager
    def transaction(self, *, deferred: bool = False) -> Iterator[SqlStorage]:
        with self.db.transaction(deferred=deferred):
            yield self

    @property
    def late_lock(self) -> bool:
        """Whether ``transaction(deferred=True)`` really defers the write lock (PostgreSQL:
        other hosts' writers run meanwhile; SQLite holds it from BEGIN IMMEDIATE)."""
        return bool(self.db.sql.name == "postgresql")

    def lock_writes(self) -> None:
        self.db.lock_writes()

    def lock_device(self, device: str) -> None:
        self.db.lock_device(device)

    @contextmanager
    def savepoint(self) -> Iterator[SqlStorage]:
        with self.db.savepoint():
            yield self

    @contextmanager
    def relaxed_durability(self) -> Iterator[SqlStorage]:
        """Commits inside may skip the fsync (nothing a device was promised)."""
        with self.db.relaxed_durability():
            yield self

    @contextmanager
    def snapshot(self) -> Iterator[SqlStorage]:
        with self.db.snapshot():
            yield self

    def defer_checkpoints(self) -> None:
        """SQLite: checkpoint the WAL after responses (``checkpoint``), not in a commit."""
        self.db.defer_checkpoints()

    def checkpoint_due(self) -> bool:
        return self.db.checkpoint_due()

    def checkpoint(self) -> tuple[int, int, int]:
        return self.db.checkpoint()

    def readable(self) -> bool:
        """True when the database answers a trivial query (health check)."""
        return self.db.scalar("SELECT count(*) FROM grids") is not None

    def close(self) -> None:
        self.db.close()


def open_storage(path: str, *, migrate_schema: bool = True) -> SqlStorage:
    """The SQLite file at ``path``, or the PostgreSQL database a ``postgresql://`` URL names."""
    db: Any = PgDatabase(path) if is_postgres_url(path) else Database(path)
    if migrate_schema:
        migrate(db)
        if db.sql.name == "sqlite":  # its FTS5 index (PostgreSQL: pg_trgm, migration 9)
            ensure_search_index(db)
    return SqlStorage(db)


def open_current(path: str) -> SqlStorage:
    """The database at ``path`` opened to be read as it is, never migrated (a ledger
    audit): ``SchemaNotCurrent`` unless its schema is this gridsync's."""
    store = open_storage(path, migrate_schema=False)
    version = current_version(store.db)
    if version != LATEST:
        store.close()
        raise (SchemaTooNew if version > LATEST else SchemaNotCurrent)(version, LATEST)
    return store
