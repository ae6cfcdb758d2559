"""The ledger's signing key and signature checks, on the one Ed25519 module
(``primitives.ed25519``), with the ledger's errors.

Public keys and signatures travel as unpadded base64url of the raw bytes
(docs/protocol.md, Conventions). Private keys are stored encrypted at rest
as PKCS8 PEM. Nothing here puts key material into a message or a repr.
"""

from __future__ import annotations

from typing import Self

from primitives import ed25519
from primitives.b64url import b64url_decode as _b64url_decode
from primitives.b64url import b64url_encode

from .errors import KeyDecryptionError, LedgerError, VerificationError

__all__ = ["SigningKey", "b64url_decode", "b64url_encode", "check_public_key",
           "verify_signature"]


def b64url_decode(text: str) -> bytes:
    """``primitives.b64url.b64url_decode`` raising LedgerError."""
    try:
        return _b64url_decode(text)
    except ValueError as exc:
        raise LedgerError(str(exc)) from None


class SigningKey(ed25519.PrivateKey):
    """An Ed25519 private key (the server's ledger key or a test key)."""

    __slots__ = ()

    @classmethod
    def from_seed(cls, seed32: bytes) -> Self:
        """The key whose 32-byte private seed is `seed32` (RFC 8032)."""
        try:
            return super().from_seed(seed32)
        except ValueError as exc:
            raise LedgerError(str(exc)) from None

    def to_encrypted_pem(self, passphrase: bytes) -> bytes:
        """PKCS8 PEM encrypted with the best scheme `cryptography` offers."""
        try:
            return super().to_encrypted_pem(passphrase)
        except ValueError as exc:
            raise LedgerError(str(exc)) from None

    @classmethod
    def from_encrypted_pem(cls, pem: bytes, passphrase: bytes) -> Self:
        """Open a key written by `to_encrypted_pem`.

        Raises KeyDecryptionError for a wrong passphrase, a damaged file or a
        file that is not encrypted; LedgerError if it holds another key type.
        """
        try:
            return super().from_encrypted_pem(pem, passphrase)
        except TypeError:
            raise KeyDecryptionError("key file is not encrypted") from None
        except ed25519.WrongKeyType as exc:
            raise LedgerError(str(exc)) from None
        except ValueError:
            raise KeyDecryptionError("wrong passphrase or damaged key file") from None


def check_public_key(public_key_b64: str) -> None:
    """Raise LedgerError unless `public_key_b64` is a usable Ed25519 public key."""
    try:
        ed25519.public_key(public_key_b64)
    except (ValueError, TypeError) as exc:
        raise LedgerError(str(exc)) from None


def verify_signature(public_key_b64: str, data: bytes, sig_b64: str) -> None:
    """Raise VerificationError(reason="signature") unless `sig_b64` signs `data`.

    The error carries no seq: callers place it with `VerificationError.with_seq`.
    """
    try:
        ed25519.verify(public_key_b64, data, sig_b64)
    except ed25519.SignatureError as exc:
        detail = None if str(exc) == ed25519.NOT_VERIFIED else str(exc)
        raise VerificationError("signature", detail=detail) from None
