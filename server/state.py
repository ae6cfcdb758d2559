"""Per-process access to storage and the ledger signer.

Each worker process (and thread) keeps one SQLite connection, opened lazily
the first time a request needs it.
"""

from __future__ import annotations

import threading

from flask import current_app

from .config import settings
from .keystore import Signer, login_pepper
from .storage import Storage, open_storage

_local = threading.local()


def storage() -> Storage:
    path = settings().database
    cache: dict[str, Storage] = getattr(_local, "stores", None) or {}
    _local.stores = cache
    store = cache.get(path)
    if store is None:
        store = cache[path] = open_storage(path, migrate_schema=False)  # type: ignore[assignment]
    return store  # type: ignore[return-value]


def signer() -> Signer:
    """The ledger signer ``create_app`` built for this app."""
    return current_app.extensions["gridsync.signer"]


def pepper() -> bytes:
    """This data dir's login pepper (``server.keystore.login_pepper``), cached."""
    data_dir = settings().data_dir
    cache: dict[str, bytes] = getattr(_local, "peppers", None) or {}
    _local.peppers = cache
    if data_dir not in cache:
        cache[data_dir] = login_pepper(data_dir)
    return cache[data_dir]


def close_all() -> None:
    for store in (getattr(_local, "stores", None) or {}).values():
        store.close()
    _local.stores = {}
