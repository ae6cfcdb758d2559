"""First-run initialisation of a data dir: database, ledger key, first admin."""

from __future__ import annotations

from pathlib import Path

from . import clock
from .config import database_target
from .files import prepare_data_dir
from .keystore import create_key, ensure_secret
from .services.access import issue_token
from .storage import open_storage
from .storage.postgres import is_postgres_url

ADMIN_ID = "admin"


def is_initialised(data_dir: str, database_url: str | None = None) -> bool:
    target = database_target(data_dir, database_url)
    if not is_postgres_url(target) and not Path(target).exists():
        return False
    store = open_storage(target)
    try:
        return bool(store.ledger.keys())
    finally:
        store.close()


def initialise(data_dir: str, database_url: str | None = None) -> dict:
    """Create everything a new data dir (and its database, the data dir's SQLite
    file or ``database_url``) needs; returns the admin token (shown once)."""
    # 0700 dir, and a 0600 database file when it is the data dir's SQLite file
    prepare_data_dir(data_dir, database=database_url is None)
    ensure_secret(data_dir)
    store = open_storage(database_target(data_dir, database_url))
    try:
        key_id = create_key(store, data_dir)
        with store.transaction():
            if store.directory.person(ADMIN_ID) is None:
                store.directory.add_person(id=ADMIN_ID, name="管理员", role="admin",
                                           grids=[], shop=None, community=None, at=clock.iso())
        token_id, token = issue_token(store, ADMIN_ID)
        public_key = store.ledger.keys()[0]["public_key"]
    finally:
        store.close()
    return {"data_dir": data_dir, "admin_person": ADMIN_ID, "token_id": token_id,
            "token": token, "key_id": key_id,
            "ledger_key": {"key_id": key_id, "public_key": public_key}}
