"""Ed25519 keys and signatures, unpadded base64url: the only module importing ``cryptography``."""

from __future__ import annotations

import base64
import binascii
import functools

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .errors import ChangeRejected

_KEY_BYTES = 32
_SIG_BYTES = 64


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url of ``data``."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url; ``ValueError`` on anything else.

    Only the canonical spelling is accepted (no padding, no ``+``/``/``, no
    stray bits in the last character), so one byte string has one text form.
    """
    if not isinstance(text, str) or not text.isascii() or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error as exc:
        raise ValueError("not unpadded base64url") from exc
    if b64url_encode(raw) != text:
        raise ValueError("not canonical unpadded base64url")
    return raw


class DeviceKey:
    """A device's Ed25519 signing key."""

    def __init__(self, private_key: Ed25519PrivateKey):
        self._key = private_key
        raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._public_key = b64url_encode(raw)

    @classmethod
    def generate(cls) -> DeviceKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> DeviceKey:
        """Load the raw 32-byte private key (as kept in the client's 0600 key file)."""
        if len(raw) != _KEY_BYTES:
            raise ValueError("an Ed25519 private key is 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    @classmethod
    def from_seed(cls, seed: bytes) -> DeviceKey:
        """Derive the key from a 32-byte seed (the test vectors' ``private_seed_hex``).

        Ed25519's raw private key *is* its seed, so this is ``from_private_bytes``
        under the name the vectors use.
        """
        return cls.from_private_bytes(seed)

    def private_bytes(self) -> bytes:
        """The raw 32-byte private key, for the client's key file."""
        return self._key.private_bytes_raw()

    @property
    def public_key(self) -> str:
        """The public key as unpadded base64url."""
        return self._public_key

    def sign(self, data: bytes) -> str:
        """Ed25519 signature over ``data``, as unpadded base64url."""
        return b64url_encode(self._key.sign(data))


@functools.lru_cache(maxsize=4096)
def _public_key(public_key_b64: str) -> Ed25519PublicKey:
    # Cached: the server verifies thousands of changes per request from a few keys.
    raw = b64url_decode(public_key_b64)
    if len(raw) != _KEY_BYTES:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def verify(public_key_b64: str, data: bytes, sig_b64: str) -> None:
    """Check an Ed25519 signature; ``ChangeRejected("bad_signature")`` on any failure."""
    try:
        key = _public_key(public_key_b64)
        sig = b64url_decode(sig_b64)
        if len(sig) != _SIG_BYTES:
            raise ValueError("an Ed25519 signature is 64 bytes")
        key.verify(sig, data)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise ChangeRejected("bad_signature", "signature does not verify") from exc
