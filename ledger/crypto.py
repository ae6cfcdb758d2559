"""Ed25519 keys and base64url: the only module that imports `cryptography`.

Public keys and signatures travel as unpadded base64url of the raw bytes
(PROTOCOL, Conventions). Private keys are stored encrypted at rest as PKCS8
PEM. Nothing here puts key material into a message or a repr.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from .errors import KeyDecryptionError, LedgerError, VerificationError

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict inverse of `b64url_encode`.

    Rejects padding, characters outside the url-safe alphabet and encodings
    with non-zero spare bits, so one byte string has exactly one text form
    (a signature cannot be re-spelled into a second valid-looking string).
    """
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise LedgerError("not unpadded base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:
        raise LedgerError("not canonical base64url")
    return data


class SigningKey:
    """An Ed25519 private key (the server's ledger key or a test key)."""

    __slots__ = ("_key",)

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed32: bytes) -> SigningKey:
        """The key whose 32-byte private seed is `seed32` (RFC 8032)."""
        if not isinstance(seed32, bytes) or len(seed32) != 32:
            raise LedgerError("an Ed25519 seed is exactly 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed32))

    @property
    def public_key(self) -> str:
        """base64url of the raw 32-byte public key."""
        raw = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return b64url_encode(raw)

    def sign(self, data: bytes) -> str:
        """base64url Ed25519 signature over `data`."""
        return b64url_encode(self._key.sign(data))

    def to_encrypted_pem(self, passphrase: bytes) -> bytes:
        """PKCS8 PEM encrypted with the best scheme `cryptography` offers."""
        if not passphrase:
            raise LedgerError("a key is never stored without a passphrase")
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase),
        )

    @classmethod
    def from_encrypted_pem(cls, pem: bytes, passphrase: bytes) -> SigningKey:
        """Open a key written by `to_encrypted_pem`.

        Raises KeyDecryptionError for a wrong passphrase, a damaged file or a
        file that is not encrypted; LedgerError if it holds another key type.
        """
        try:
            key = serialization.load_pem_private_key(pem, password=passphrase)
        except TypeError:
            raise KeyDecryptionError("key file is not encrypted") from None
        except ValueError:
            raise KeyDecryptionError("wrong passphrase or damaged key file") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise LedgerError("key file does not hold an Ed25519 key")
        return cls(key)

    def __repr__(self) -> str:
        return f"SigningKey(public_key={self.public_key!r})"


def check_public_key(public_key_b64: str) -> None:
    """Raise LedgerError unless `public_key_b64` is a usable Ed25519 public key."""
    _load_public(public_key_b64)


def verify_signature(public_key_b64: str, data: bytes, sig_b64: str) -> None:
    """Raise VerificationError(reason="signature") unless `sig_b64` signs `data`.

    The error carries no seq: callers place it with `VerificationError.with_seq`.
    """
    try:
        public = _load_public(public_key_b64)
        sig = b64url_decode(sig_b64)
    except LedgerError as exc:
        raise VerificationError("signature", detail=str(exc)) from None
    try:
        public.verify(sig, data)
    except InvalidSignature:
        raise VerificationError("signature") from None


@lru_cache(maxsize=64)
def _load_public(public_key_b64: str) -> Ed25519PublicKey:
    # Cached: a chain is verified against a handful of keys, millions of times.
    raw = b64url_decode(public_key_b64)
    if len(raw) != 32:
        raise LedgerError("an Ed25519 public key is exactly 32 bytes")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise LedgerError("not an Ed25519 public key") from None
