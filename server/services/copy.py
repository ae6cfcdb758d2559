"""``gridsync copy``: a community's SQLite data dir into a PostgreSQL database, verified.

After the rows are copied (server/storage/copy.py) the target is audited like
``gridsync ledger verify`` (every hash, link, signature, balance and cause)
and its checkpoint (head seq, head hash, Merkle root of every entry) must be
identical to the source's: the district starts from exactly the community's
history, and devices carry on with the cursors they hold.
"""

from __future__ import annotations

from pathlib import Path

from ..config import DB_FILE
from ..keystore import SecretMissing, load_secret
from ..storage import open_storage
from ..storage.connection import Database
from ..storage.copy import CopyRefused, Progress, copy_database
from ..storage.postgres import is_postgres_url
from .anchor_audit import checkpoint_of
from .ledger_audit import AuditFailure, verify_database


def copy(data_dir: str, target_url: str, *, workers: int = 2,
         progress: Progress | None = None) -> dict:
    """Copy, audit, compare; returns rows per table and the shared checkpoint."""
    source_path = Path(data_dir) / DB_FILE
    if not source_path.exists():
        raise CopyRefused(f"no gridsync database in {data_dir}")
    if not is_postgres_url(target_url):
        raise CopyRefused("--to must be a postgresql:// URL")
    try:
        secret = load_secret(data_dir)
    except SecretMissing as exc:
        raise CopyRefused(str(exc)) from None
    source = open_storage(str(source_path), migrate_schema=False)
    target = open_storage(target_url)
    try:
        assert isinstance(source.db, Database)
        rows = copy_database(source.db, target.db, progress)  # type: ignore[arg-type]
        with source.snapshot():
            before = checkpoint_of(source)
        after = checkpoint_of(target)
    finally:
        source.close()
        target.close()
    try:
        summary = verify_database(target_url, workers=workers, secret=secret)
    except AuditFailure as exc:
        raise CopyRefused(f"the copy does not verify: {exc}") from None
    if before != after:
        raise CopyRefused(f"the copy's checkpoint {after} differs from the source's {before}")
    return {"rows": rows, "checkpoint": after, "entries": summary.count}

