"""The ledger signing key, encrypted at rest.

The private key is stored in the database as PKCS#8 PEM encrypted with a
secret taken from ``GRIDSYNC_SECRET`` or, failing that, from
``<data dir>/secret.key`` (generated at init with mode 0600). The decrypted
key lives only in memory and is never logged. The same secret yields the
pepper of web login hashes (``login_pepper``).

Every key after the first is endorsed by the key before it (docs/protocol.md,
Anchors): whoever can write the database but lacks the secret can neither
seal a key of their own (its private half would not open) nor endorse one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from ledger import LedgerError, endorse
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


LOGIN_PEPPER_PURPOSE = b"gridsync web login pepper v1"


def login_pepper(data_dir: str) -> bytes:
    """The key web login secrets (PINs, passwords) are HMAC-ed with before scrypt:
    HMAC-SHA256(secret, "gridsync web login pepper v1"), a key of its own derived
    from the server secret, so a copy of the database alone cannot be brute-forced
    (``server.services.web_auth``)."""
    return hmac.new(load_secret(data_dir), LOGIN_PEPPER_PURPOSE, hashlib.sha256).digest()


def next_key_id(store: Storage) -> str:
    return f"k{len(store.ledger.keys()) + 1}"


class SealedKeyMismatch(LedgerError):
    """A stored key's private half does not open with the secret, or is not
    the private half of the public key stored beside it."""


def open_sealed(row: dict, secret: bytes) -> SigningKey:
    """The private key sealed in a ``signing_keys`` row, checked against the
    row's public key; SealedKeyMismatch when it does not open or match."""
    try:
        key = SigningKey.from_encrypted_pem(bytes(row["encrypted_private"]), secret)
    except LedgerError:
        raise SealedKeyMismatch(
            f"key {row['key_id']}: its sealed private half does not open with this data dir's "
            "secret, so this server never made it") from None
    if key.public_key != row["public_key"]:
        raise SealedKeyMismatch(
            f"key {row['key_id']}: its public key is not the public half of its sealed "
            "private key")
    return key


def check_sealed_keys(store: Storage, secret: bytes) -> None:
    """SealedKeyMismatch for the first stored key whose sealed private half
    does not open with ``secret`` or does not match its public key."""
    for row in store.ledger.sealed_keys():
        open_sealed(row, secret)


def create_key(store: Storage, data_dir: str) -> str:
    """Generate a new signing key, store it encrypted and endorsed by the
    active key (the first key has no endorsement), retire the others;
    returns its key id. SealedKeyMismatch if the active key cannot endorse."""
    key = SigningKey.generate()
    secret = load_secret(data_dir)
    pem = key.to_encrypted_pem(secret)
    with store.transaction():
        key_id = next_key_id(store)
        now = clock.iso()
        active = store.ledger.active_key()
        endorsement = None
        if active is not None:
            endorsement = endorse({"key_id": key_id, "public_key": key.public_key,
                                   "created_at": now}, open_sealed(active, secret))
        store.ledger.add_key(key_id=key_id, public_key=key.public_key, encrypted_private=pem,
                             at=now, endorsement=endorsement)
        store.ledger.retire_keys(now, except_key=key_id)
    return key_id


def endorse_existing(store: Storage, data_dir: str) -> list[str]:
    """Endorse keys made before endorsements existed, each with its sealed
    predecessor; returns the key ids endorsed. A predecessor that does not
    open (or match) is left alone: verifiers then report the break."""
    with store.transaction():
        rows = store.ledger.sealed_keys()
        pending = [(prev, row) for prev, row in zip(rows, rows[1:], strict=False)
                   if row["endorsement"] is None]
        if not pending:
            return []
        secret = load_secret(data_dir)
        done = []
        for prev, row in pending:
            try:
                by = open_sealed(prev, secret)
            except SealedKeyMismatch:
                continue
            store.ledger.set_endorsement(row["key_id"], endorse(row, by))
            done.append(row["key_id"])
    return done


class Signer:
    """Caches the decrypted active key; reloads when another process rotated it."""

    def __init__(self, data_dir: str):
        self.data_dir = data_dir
        self._cached: tuple[str, SigningKey] | None = None
        """(key id, its private key): one tuple, so threads never pair one with another."""

    def active(self, store: Storage) -> tuple[str, SigningKey]:
        row = store.ledger.active_key()
        return self.key(store, None if row is None else row["key_id"])

    def key(self, store: Storage, key_id: str | None) -> tuple[str, SigningKey]:
        """``key_id`` (the active key's id, as the caller read it under the write
        lock) and its private key: decrypted once, again only when the id changes."""
        cached = self._cached
        if cached is not None and cached[0] == key_id:
            return cached
        sealed = None if key_id is None else store.ledger.sealed_key(key_id)
        if key_id is None or sealed is None:
            raise SecretMissing("no ledger signing key: run `gridsync init`")
        self._cached = key_id, SigningKey.from_encrypted_pem(sealed, load_secret(self.data_dir))
        return self._cached
