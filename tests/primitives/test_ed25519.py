"""Ed25519 keys and the cached verification both sync and ledger use."""

from __future__ import annotations

import pytest

from primitives import ed25519
from primitives.b64url import b64url_encode


def test_sign_verify_and_seed() -> None:
    key = ed25519.PrivateKey.from_seed(bytes(range(32)))
    again = ed25519.PrivateKey.from_seed(key.private_bytes())
    assert again.public_key == key.public_key and "public_key" in repr(key)
    ed25519.verify(key.public_key, b"data", key.sign(b"data"))
    with pytest.raises(ValueError):
        ed25519.PrivateKey.from_seed(b"short")


@pytest.mark.parametrize("case", ["other data", "other key", "short sig", "bad key", "31 bytes"])
def test_every_failure_is_a_signature_error(case: str) -> None:
    key = ed25519.PrivateKey.generate()
    public, data, sig = key.public_key, b"data", key.sign(b"data")
    public, data, sig = {
        "other data": (public, b"date", sig),
        "other key": (ed25519.PrivateKey.generate().public_key, data, sig),
        "short sig": (public, data, sig[:40]),
        "bad key": ("not a key", data, sig),
        "31 bytes": (b64url_encode(b"\x01" * 31), data, sig),
    }[case]
    with pytest.raises(ed25519.SignatureError):
        ed25519.verify(public, data, sig)


def test_public_keys_are_cached() -> None:
    key = ed25519.PrivateKey.generate()
    ed25519.public_key.cache_clear()
    for _ in range(3):
        ed25519.verify(key.public_key, b"x", key.sign(b"x"))
    assert ed25519.public_key.cache_info().hits == 2


def test_encrypted_pem_round_trip() -> None:
    key = ed25519.PrivateKey.generate()
    pem = key.to_encrypted_pem(b"pw")
    assert ed25519.PrivateKey.from_encrypted_pem(pem, b"pw").public_key == key.public_key
    with pytest.raises(ValueError):
        ed25519.PrivateKey.from_encrypted_pem(pem, b"wrong")
