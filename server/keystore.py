"""The ledger signing key, encrypted at rest.

The private key is stored in the database as PKCS#8 PEM encrypted with a
secret taken from ``GRIDSYNC_SECRET`` or, failing that, from
``<data dir>/secret.key`` (generated at init with mode 0600). The decrypted
key lives only in memory and is never logged.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ledger.crypto import SigningKey

from . import clock
from .storage import Storage

SECRET_FILE = "secret.key"


class SecretMissing(Exception):
    """Neither GRIDSYNC_SECRET nor the data dir's secret file is available."""


def secret_path(data_dir: str) -> Path:
    return Path(data_dir) / SECRET_FILE


def ensure_secret(data_dir: str) -> None:
    """Create the secret file (0600) unless GRIDSYNC_SECRET is set or it exists."""
    if os.environ.get("GRIDSYNC_SECRET"):
        return
    path = secret_path(data_dir)
    if path.exists():
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(32))


def load_secret(data_dir: str) -> bytes:
    env = os.environ.get("GRIDSYNC_SECRET")
    if env:
        return env.encode()
    path = secret_path(data_dir)
    if not path.exists():
        raise SecretMissing(
            f"no GRIDSYNC_SECRET and no {path}: cannot decrypt the ledger key")
    return path.read_text().strip().encode()


def next_key_id(store: Storage) -> str:
    return f"k{len(store.ledger.keys()) + 1}"


def create_key(store: Storage, data_dir: str) -> str:
    """Generate a new signing key, store it encrypted, retire the others; returns key id."""
    key = SigningKey.generate()
    pem = key.to_encrypted_pem(load_secret(data_dir))
    with store.transaction():
        key_id = next_key_id(store)
        now = clock.iso()
        store.ledger.add_key(key_id=key_id, public_key=key.public_key, encrypted_private=pem,
                             at=now)
        store.ledger.retire_keys(now, except_key=key_id)
    return key_id


class Signer:
    """Caches the decrypted active key; reloads when another process rotated it."""

    def __init__(self, data_dir: str):
        self.data_dir = data_dir
        self._key_id: str | None = None
        self._key: SigningKey | None = None

    def active(self, store: Storage) -> tuple[str, SigningKey]:
        row = store.ledger.active_key()
        if row is None:
            raise SecretMissing("no ledger signing key: run `gridsync init`")
        if row["key_id"] != self._key_id:
            self._key = SigningKey.from_encrypted_pem(
                bytes(row["encrypted_private"]), load_secret(self.data_dir))
            self._key_id = row["key_id"]
        return self._key_id, self._key  # type: ignore[return-value]
