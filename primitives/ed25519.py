"""Ed25519 keys and signatures: the only module in the repository importing ``cryptography``
for them.

Public keys and signatures travel as unpadded base64url of the raw bytes
(docs/protocol.md, Conventions). Every failure is a ``ValueError`` (a
``SignatureError`` for a signature that does not verify); ``sync`` and
``ledger`` turn it into their own error types. Nothing here puts key
material into a message or a repr.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from .b64url import b64url_decode, b64url_encode
from .weak_keys import weakness

KEY_BYTES = 32
SIG_BYTES = 64


NOT_VERIFIED = "signature does not verify"


class SignatureError(ValueError):
    """A signature, or the key or encoding it comes with, does not verify."""


class WrongKeyType(ValueError):
    """A key file holds a key that is not Ed25519."""


class PrivateKey:
    """An Ed25519 private key (a device's key, the server's ledger key, a test key)."""

    __slots__ = ("_key", "_public")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._public = b64url_encode(raw)

    @classmethod
    def generate(cls) -> Self:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed32: bytes) -> Self:
        """The key whose raw 32-byte private seed is ``seed32`` (RFC 8032)."""
        if not isinstance(seed32, bytes) or len(seed32) != KEY_BYTES:
            raise ValueError("an Ed25519 seed is exactly 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed32))

    def private_bytes(self) -> bytes:
        """The raw 32-byte private seed (kept only in 0600 or encrypted files)."""
        return self._key.private_bytes_raw()

    @property
    def public_key(self) -> str:
        """base64url of the raw 32-byte public key."""
        return self._public

    def sign(self, data: bytes) -> str:
        """base64url Ed25519 signature over ``data``."""
        return b64url_encode(self._key.sign(data))

    def to_encrypted_pem(self, passphrase: bytes) -> bytes:
        """PKCS8 PEM encrypted with the best scheme ``cryptography`` offers."""
        if not passphrase:
            raise ValueError("a key is never stored without a passphrase")
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase),
        )

    @classmethod
    def from_encrypted_pem(cls, pem: bytes, passphrase: bytes) -> Self:
        """Open a key written by ``to_encrypted_pem``.

        ``TypeError`` for a file that is not encrypted, ``ValueError`` for a
        wrong passphrase, a damaged file or another key type.
        """
        key = serialization.load_pem_private_key(pem, password=passphrase)
        if not isinstance(key, Ed25519PrivateKey):
            raise WrongKeyType("key file does not hold an Ed25519 key")
        return cls(key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(public_key={self.public_key!r})"


@lru_cache(maxsize=4096)
def public_key(public_key_b64: str) -> Ed25519PublicKey:
    """The public key behind ``public_key_b64``; ``ValueError`` if it is none.

    Cached: the server checks thousands of changes per request from a few
    device keys, and a chain is verified against a handful of keys. Weak keys
    (small order, non-canonical: ``primitives.weak_keys``) are refused.
    """
    raw = b64url_decode(public_key_b64)
    if len(raw) != KEY_BYTES:
        raise ValueError("an Ed25519 public key is exactly 32 bytes")
    reason = weakness(raw)
    if reason is not None:  # the identity etc.: a fixed signature would verify anything
        raise ValueError(f"weak public key: {reason}")
    return Ed25519PublicKey.from_public_bytes(raw)


def verify(public_key_b64: str, data: bytes, sig_b64: str) -> None:
    """Return if ``sig_b64`` is the key's signature over ``data``; raise
    ``SignatureError`` (saying why: ``NOT_VERIFIED`` or what is malformed) on any failure."""
    try:
        key = public_key(public_key_b64)
        sig = b64url_decode(sig_b64)
    except (ValueError, TypeError) as exc:
        raise SignatureError(str(exc)) from None
    if len(sig) != SIG_BYTES:
        raise SignatureError("an Ed25519 signature is 64 bytes")
    try:
        key.verify(sig, data)
    except InvalidSignature:
        raise SignatureError(NOT_VERIFIED) from None
