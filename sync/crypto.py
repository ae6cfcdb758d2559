"""Device keys and change signatures, on the one Ed25519 module (``primitives.ed25519``)."""

from __future__ import annotations

from primitives.b64url import b64url_decode, b64url_encode
from primitives.ed25519 import KEY_BYTES, PrivateKey, SignatureError, public_key
from primitives.ed25519 import verify as _verify

from .errors import ChangeRejected

__all__ = ["DeviceKey", "b64url_decode", "b64url_encode", "check_public_key", "verify"]


class DeviceKey(PrivateKey):
    """A device's Ed25519 signing key."""

    __slots__ = ()

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> DeviceKey:
        """Load the raw 32-byte private key (as kept in the client's 0600 key file)."""
        if len(raw) != KEY_BYTES:
            raise ValueError("an Ed25519 private key is 32 bytes")
        return cls.from_seed(raw)


def verify(public_key_b64: str, data: bytes, sig_b64: str) -> None:
    """Check an Ed25519 signature; ``ChangeRejected("bad_signature")`` on any failure."""
    try:
        _verify(public_key_b64, data, sig_b64)
    except SignatureError as exc:
        raise ChangeRejected("bad_signature", "signature does not verify") from exc


def check_public_key(public_key_b64: str) -> None:
    """``ValueError`` (saying why) unless this is a usable Ed25519 public key: unpadded
    base64url of 32 bytes that canonically encode a point not of small order
    (``primitives.weak_keys``). A signature by a weak key proves nothing: none verifies."""
    public_key(public_key_b64)
