"""Per-process access to storage and the ledger signer.

Each worker process (and thread) keeps one SQLite connection, opened lazily
the first time a request needs it. Its WAL checkpoints run after a response has
been sent (``init_app``), not inside the commit of whichever request crosses
SQLite's threshold.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, Response, current_app

from .config import settings
from .keystore import Signer, login_pepper
from .storage import BackendError, Storage, open_storage

log = logging.getLogger(__name__)

_local = threading.local()


def storage() -> Storage:
    path = settings().database
    cache: dict[str, Storage] = getattr(_local, "stores", None) or {}
    _local.stores = cache
    if path not in cache:
        opened = open_storage(path, migrate_schema=False)
        opened.defer_checkpoints()
        cache[path] = opened
    return cache[path]


def _checkpoint_after_response(resp: Response) -> Response:
    """after_request hook: when this thread's connection has a checkpoint due, run it once
    the response is sent (gunicorn closes the response after writing its last byte)."""
    stores: dict[str, Storage] = getattr(_local, "stores", None) or {}
    store = stores.get(settings().database)  # never opens one
    if store is not None and store.checkpoint_due():
        resp.call_on_close(lambda: _checkpoint(store))
    return resp


def _checkpoint(store: Storage) -> None:
    try:
        store.checkpoint()
    except BackendError as exc:  # the response is gone: a later one tries again
        log.warning("WAL checkpoint after a response failed: %s", exc)


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


def init_app(app: Flask) -> None:
    app.after_request(_checkpoint_after_response)
