"""Backup and verified restore when the database is PostgreSQL.

``backup`` writes one ``pg_dump`` custom-format file, the database as it was
at one instant (a snapshot exported from the transaction that also reads the
counts, the ledger head and the Merkle root it reports), written beside the
target, read back by ``pg_restore --list``, fsynced and renamed into place,
0600 from its creation, like a SQLite backup. ``restore`` puts a dump into a
database that holds no tables (``pg_restore`` in one transaction), then
refuses it exactly as a SQLite restore refuses a file (server/services/backup.py):
not a gridsync database, from a newer gridsync, no ledger key, or a ledger
failing the audit of ``gridsync ledger verify`` (keys against the data dir's
secret, every hash, link, signature, balance and cause, the Merkle tree, a
witness's checkpoint). A refused copy is dropped again, so no server can
start on it. Neither copies the secret, which stays in the data dir or
``GRIDSYNC_SECRET``, backed up apart.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..files import private_file
from ..storage import SqlStorage, open_storage
from ..storage import pg_dump as pg
from ..storage.errors import SchemaTooNew
from ..storage.maintenance import NotGridsync
from ..storage.postgres import PgDatabase
from .anchor_audit import checkpoint_of
from .backup import (
    BackupError,
    RestoreRefused,
    audit_restored,
    backup_target,
    fsync_dir,
    fsync_file,
    gridsync_schema,
    ledger_key_ids,
    secret_or_none,
    secret_status_for,
    temp_beside,
)


def _maintenance(store: SqlStorage) -> pg.PgMaintenance:
    assert isinstance(store.db, PgDatabase)
    return pg.PgMaintenance(store.db)


def backup(url: str, to: str, *, bindir: str | None = None) -> dict:
    """pg_dump the database at ``url`` into the file ``to``; returns what the file holds."""
    target = backup_target(to)
    try:
        pg.find_tool("pg_dump", bindir)
        pg.find_tool("pg_restore", bindir)
    except pg.ToolMissing as exc:
        raise BackupError(str(exc)) from None
    tmp = temp_beside(target, "partial")
    started = time.monotonic()
    store = open_storage(url, migrate_schema=False)
    try:
        private_file(tmp)  # 0600 before pg_dump writes a byte into it
        m = _maintenance(store)
        with store.snapshot():
            try:
                version = m.check_is_gridsync()
            except (NotGridsync, SchemaTooNew) as exc:
                raise BackupError(f"the database is not one this gridsync can back up: "
                                  f"{exc}") from None
            pg.dump(url, m.export_snapshot(), str(tmp), bindir)
            counts = m.counts()
            checkpoint = checkpoint_of(store)
        pg.check_listable(str(tmp), bindir)
        fsync_file(tmp)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except pg.ToolFailed as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(str(exc)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        store.close()
    return {"path": str(target), "bytes": target.stat().st_size,
            "seconds": round(time.monotonic() - started, 3), "schema_version": version,
            "counts": counts, "ledger_head_seq": checkpoint["seq"],
            "ledger_head_hash": checkpoint["head"], "checkpoint": checkpoint}


def restore(url: str, source: str, *, data_dir: str, pinned: dict | None = None,
            saved: dict | None = None, saved_where: str = "", bindir: str | None = None
            ) -> dict:
    """pg_restore the dump ``source`` into the empty database at ``url`` and verify it
    (see the module's docstring); a refused copy is dropped again (RestoreRefused)."""
    if not Path(source).is_file():
        raise RestoreRefused(f"{source} does not exist or is not a file")
    if not pg.is_dump_file(source):
        raise RestoreRefused(
            f"{source} is not a pg_dump custom-format file (a SQLite backup? restore it "
            "into a data dir without --database-url, then `gridsync copy` it into PostgreSQL)")
    try:
        pg.find_tool("pg_restore", bindir)
    except pg.ToolMissing as exc:
        raise BackupError(str(exc)) from None
    store = open_storage(url, migrate_schema=False)
    m = _maintenance(store)
    try:
        present = m.user_objects()
        if present:
            raise RestoreRefused(
                f"the target database already holds tables ({', '.join(present)}, …); "
                "refusing to restore over them. Restore into a new, empty database "
                "(createdb -O gridsync <name>), then point GRIDSYNC_DATABASE_URL at it.")
        try:
            pg.restore(url, source, bindir)
        except pg.ToolFailed as exc:  # one transaction: the target is still empty
            raise RestoreRefused(f"{source} could not be restored: {exc}") from None
        try:
            checked = _check_restored(store, m, url, source, secret=secret_or_none(data_dir),
                                      pinned=pinned, saved=saved, saved_where=saved_where)
        except BaseException:
            m.clear()
            raise
        secret = secret_status_for(data_dir, store)
    finally:
        store.close()
    return {"path": pg.describe(url), "source": source, "replaced": None,
            "secret": secret, **checked}


def _check_restored(store: SqlStorage, m: pg.PgMaintenance, url: str, source: str, *,
                    secret: bytes | None, pinned: dict | None, saved: dict | None,
                    saved_where: str) -> dict:
    version = gridsync_schema(m, source)
    keys = ledger_key_ids(store, source)
    counts = m.counts()
    ledger = audit_restored(url, source, keys, secret=secret, pinned=pinned, saved=saved,
                            saved_where=saved_where)
    with store.transaction():
        # A new history: cursors devices hold from the old one get 410 and re-sync.
        store.records.renew_epoch()
    return {"schema_version": version, "counts": counts, "checkpoint": checkpoint_of(store),
            "ledger": ledger}
