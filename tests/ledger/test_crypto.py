"""Keys at rest, base64url and signatures."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import (
    KeyDecryptionError,
    LedgerError,
    SigningKey,
    VerificationError,
    b64url_decode,
    b64url_encode,
    verify_signature,
)


def test_encrypted_pem_round_trip() -> None:
    key = SigningKey.generate()
    pem = key.to_encrypted_pem(b"correct horse")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    again = SigningKey.from_encrypted_pem(pem, b"correct horse")
    assert again.public_key == key.public_key
    verify_signature(key.public_key, b"hello", again.sign(b"hello"))


def test_wrong_passphrase() -> None:
    pem = SigningKey.generate().to_encrypted_pem(b"correct horse")
    with pytest.raises(KeyDecryptionError) as info:
        SigningKey.from_encrypted_pem(pem, b"battery staple")
    assert "passphrase" in str(info.value)


def test_damaged_or_unencrypted_pem() -> None:
    pem = SigningKey.generate().to_encrypted_pem(b"pw")
    with pytest.raises(KeyDecryptionError):
        SigningKey.from_encrypted_pem(pem[:60] + pem[80:], b"pw")
    plain = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(KeyDecryptionError, match="not encrypted"):
        SigningKey.from_encrypted_pem(plain, b"pw")


def test_no_empty_passphrase() -> None:
    with pytest.raises(LedgerError):
        SigningKey.generate().to_encrypted_pem(b"")


def test_seed_must_be_32_bytes() -> None:
    with pytest.raises(LedgerError):
        SigningKey.from_seed(b"\x01" * 31)


def test_b64url_decode_raises_ledger_error() -> None:
    assert b64url_decode(b64url_encode(b"\x00\xff")) == b"\x00\xff"
    with pytest.raises(LedgerError):
        b64url_decode("AA==")


def test_verify_signature_failures() -> None:
    key = SigningKey.generate()
    sig = key.sign(b"data")
    verify_signature(key.public_key, b"data", sig)
    for public, data, signature in [
        (key.public_key, b"date", sig),
        (SigningKey.generate().public_key, b"data", sig),
        (key.public_key, b"data", sig[:40]),
        ("not a key", b"data", sig),
        (b64url_encode(b"\x01" * 31), b"data", sig),
    ]:
        with pytest.raises(VerificationError) as info:
            verify_signature(public, data, signature)
        assert (info.value.reason, info.value.seq) == ("signature", None)
