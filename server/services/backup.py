"""Backup and restore of a data dir's database.

``backup`` copies the live database (the server may keep taking writes) into
a temporary file beside the target, checks it, fsyncs it and renames it into
place: a backup file is either complete or absent, and 0600 (``server.files``).
``restore`` copies a backup into a data dir only after proving it is a
gridsync database whose
ledger passes the audit of ``gridsync ledger verify`` (keys endorsed in a
chain and, with the secret, each one's sealed private half matching it;
hashes, links, signatures, debits and credits summing to zero, columns equal
to signed bodies, the Merkle tree, each cause paid once, the stored balances
equal to the replayed ones).

Neither copies the secret (``GRIDSYNC_SECRET`` or ``secret.key``) that
encrypts the ledger signing key: it is backed up once, separately, and must
be restored beside the database.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger import LedgerError

from ..files import private_dir, private_file, tighten_data_dir
from ..keystore import SecretMissing, Signer, load_secret
from ..storage import SqlStorage, open_storage
from ..storage.errors import SchemaTooNew, TreeAhead
from ..storage.maintenance import (
    FileDatabase,
    Maintenance,
    NotGridsync,
    copy_file_database,
    settle,
)
from ..storage.maintenance import backup as backup_pages
from .ledger_audit import AuditFailure, verify_database

DB_NAME = "gridsync.db"
SECRET_REMINDER = (
    "The ledger signing key inside the database is encrypted with the secret "
    "(GRIDSYNC_SECRET or <data dir>/secret.key), which is not in the backup: "
    "keep a copy of it apart from the backups, and restore it with the database.")


class BackupError(Exception):
    """A backup or restore could not be done; the message says why."""


class RestoreRefused(BackupError):
    """The restore was refused: the target or the backup is not acceptable."""


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_beside(target: Path, tag: str) -> Path:
    return target.with_name(f".{target.name}.{tag}-{os.getpid()}-{time.monotonic_ns()}")


def _remove(path: Path) -> None:
    for p in (path, Path(f"{path}-journal"), Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)


def backup_target(to: str) -> Path:
    """The file a backup is written to; BackupError when it cannot be."""
    target = Path(to)
    if target.is_dir():
        raise BackupError(f"{target} is a directory: give a file name")
    if not target.parent.is_dir():
        raise BackupError(f"directory {target.parent} does not exist")
    return target


def backup(data_dir: str, to: str, *, pages: int = 1024,
           progress: Callable[[int, int], None] | None = None) -> dict:
    """Back up ``<data_dir>/gridsync.db`` to ``to``; returns what the file holds."""
    source = Path(data_dir) / DB_NAME
    if not source.is_file():
        raise BackupError(f"no database at {source}: wrong --data-dir?")
    target = backup_target(to)
    tmp = temp_beside(target, "partial")
    started = time.monotonic()
    src = FileDatabase(str(source))
    try:
        private_file(tmp)  # 0600 before SQLite writes a page into it
        backup_pages(src, str(tmp), pages=pages, progress=progress)
        summary = _describe(str(tmp))
        fsync_file(tmp)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        _remove(tmp)
        raise
    finally:
        src.close()
    return {"path": str(target), "bytes": target.stat().st_size,
            "seconds": round(time.monotonic() - started, 3), **summary}


def _describe(path: str) -> dict:
    db = FileDatabase(path)
    try:
        m = Maintenance(db)
        version = m.check_is_gridsync()
        problems = m.integrity_problems()
        if problems:
            raise BackupError(f"the copy fails SQLite's check: {problems[0]}")
        head_seq, head_hash = SqlStorage(db).ledger.head()
        return {"schema_version": version, "counts": m.counts(), "ledger_head_seq": head_seq,
                "ledger_head_hash": head_hash}
    finally:
        db.close()


def restore(data_dir: str, source: str, *, force: bool = False,
            pinned: dict | None = None, saved: dict | None = None,
            saved_where: str = "") -> dict:
    """Copy a verified backup into ``<data_dir>/gridsync.db``.

    Refuses (RestoreRefused) when the data dir already holds a database and
    ``force`` is false, when ``source`` is not a gridsync database, or when its
    ledger does not verify: the full audit of ``gridsync ledger verify``,
    with the keys checked against the data dir's secret when it is there
    (each sealed private half must open and match), from the ``pinned``
    first key when given, and the entries extending the ``saved``
    checkpoint when given. With ``force`` the old database (and its
    -wal/-shm) is moved aside to ``gridsync.db.replaced-<time>``, never deleted.
    """
    target_dir = Path(data_dir)
    target = target_dir / DB_NAME
    existing = [p for p in (target, Path(f"{target}-wal")) if p.exists()]
    if existing and not force:
        raise RestoreRefused(
            f"{target_dir} already holds a database ({existing[0].name}); refusing to "
            "overwrite it. Restore into an empty data dir, or stop the server and pass --force "
            "(the old database is kept as gridsync.db.replaced-<time>).")
    if not Path(source).is_file():
        raise RestoreRefused(f"{source} does not exist or is not a file")
    if not target_dir.exists():
        private_dir(target_dir)
    tmp = temp_beside(target, "restore")
    try:
        try:
            private_file(tmp)
            copy_file_database(source, str(tmp))
        except NotGridsync as exc:
            raise RestoreRefused(f"{source} is not a gridsync database: {exc}") from None
        checked = _check_restorable(str(tmp), source, secret=secret_or_none(data_dir),
                                    pinned=pinned, saved=saved, saved_where=saved_where)
        _new_epoch(str(tmp))
        fsync_file(tmp)
        replaced = _move_aside(target) if existing else None
        os.replace(tmp, target)
        fsync_dir(target_dir)
    except BaseException:
        _remove(tmp)
        raise
    tighten_data_dir(target_dir)
    return {"path": str(target), "source": source, "replaced": replaced,
            "secret": secret_status(data_dir), **checked}


def _new_epoch(path: str) -> None:
    """A restored database starts a new history: devices' cursors from the old
    one (possibly ahead of the backup) get 410 and re-sync instead of skipping."""
    db = FileDatabase(path)
    try:
        with db.transaction():
            SqlStorage(db).records.renew_epoch()
    finally:
        db.close()


def secret_or_none(data_dir: str) -> bytes | None:
    try:
        return load_secret(data_dir)
    except SecretMissing:
        return None


def audit_restored(target: str, source: str, keys: list[str], *, secret: bytes | None,
                   pinned: dict | None, saved: dict | None, saved_where: str) -> dict:
    """The checks every restore makes of the copy it loaded, on either database: migrate
    it to this gridsync's schema and fill in its Merkle tree for entries stored before
    the tree existed (a tree holding more leaves than the chain, entries cut off, is
    refused), then the full audit of `gridsync ledger verify` (chain, signatures with
    the keys stored in the backup, double entry, columns against bodies, paid once,
    balances, ``--checkpoint``/``--keys``). The ledger's summary for the report."""
    store = open_storage(target)
    try:
        with store.transaction():
            store.ledger.catch_up_tree(store.ledger.head()[0])
    except TreeAhead as exc:
        raise RestoreRefused(f"the ledger in {source} does not verify: {exc}") from None
    finally:
        store.close()
    try:
        summary = verify_database(target, workers=1, secret=secret, pinned=pinned, saved=saved,
                                  saved_where=saved_where)
    except AuditFailure as exc:
        raise RestoreRefused(f"the ledger in {source} does not verify: {exc}") from None
    finally:
        gc.collect()  # the audit's entry reader holds a connection until collected
    return {"entries": summary.count, "head_seq": summary.head_seq,
            "head": summary.head_hash, "keys": keys}


def gridsync_schema(m: Any, source: str) -> int:
    """The copy's schema version (either database's maintenance); refused when the copy
    is not gridsync's or is newer than this gridsync."""
    try:
        return int(m.check_is_gridsync())
    except NotGridsync as exc:
        raise RestoreRefused(f"{source} is not a gridsync database: {exc}") from None
    except SchemaTooNew as exc:
        raise RestoreRefused(str(exc)) from None


def ledger_key_ids(store: Any, source: str) -> list[str]:
    """The copy's ledger keys; a copy with none was never initialised."""
    keys = [k["key_id"] for k in store.ledger.keys()]
    if not keys:
        raise RestoreRefused(f"{source} holds no ledger key: not an initialised gridsync "
                             "database")
    return keys


def _check_restorable(path: str, source: str, *, secret: bytes | None,
                      pinned: dict | None, saved: dict | None, saved_where: str) -> dict:
    db = FileDatabase(path)
    try:
        m = Maintenance(db)
        version = gridsync_schema(m, source)
        problems = m.integrity_problems()
        if problems:
            raise RestoreRefused(f"{source} is damaged (SQLite check: {problems[0]})")
        keys = ledger_key_ids(SqlStorage(db), source)
        counts = m.counts()
    finally:
        db.close()
    ledger = audit_restored(path, source, keys, secret=secret, pinned=pinned, saved=saved,
                            saved_where=saved_where)
    settle(path)  # the audit opened it in WAL mode: one plain file again
    return {"schema_version": version, "counts": counts, "ledger": ledger}


def _move_aside(target: Path) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    aside = target.with_name(f"{target.name}.replaced-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        old = Path(f"{target}{suffix}")
        if old.exists():
            os.replace(old, Path(f"{aside}{suffix}"))
    return str(aside)


def secret_status(data_dir: str) -> str:
    """"ok" when the secret available to ``data_dir`` decrypts the active ledger
    key of its database, "missing" when there is none, "wrong" when it does not."""
    db = FileDatabase(str(Path(data_dir) / DB_NAME))
    try:
        return secret_status_for(data_dir, SqlStorage(db))
    finally:
        db.close()


def secret_status_for(data_dir: str, store: SqlStorage) -> str:
    """``secret_status`` of the secret available to ``data_dir`` against ``store``'s keys."""
    try:
        Signer(data_dir).active(store)
    except SecretMissing:
        return "missing"
    except LedgerError:
        return "wrong"
    return "ok"
