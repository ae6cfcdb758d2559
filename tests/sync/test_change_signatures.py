"""Canonical form, Ed25519 keys, change signatures and enrolment proofs against protocol-v1."""

from __future__ import annotations

import hashlib

import pytest

from primitives.canonical import canonical
from sync.crypto import DeviceKey, verify
from sync.errors import ChangeRejected
from sync.signing import (
    enrolment_proof,
    sign_change,
    unsigned_form,
    verify_change,
    verify_enrolment_proof,
)
from tests.sync.sync_support import load_vectors

V = load_vectors("protocol-v1.json")
KEY = DeviceKey.from_seed(bytes.fromhex(V["device_key"]["private_seed_hex"]))
PUBLIC = V["device_key"]["public_key"]
UNSIGNED = V["change"]["unsigned"]


def signed() -> dict:
    return {**UNSIGNED, "sig": V["change"]["sig"]}


def test_device_key_from_seed_matches_vector():
    assert KEY.public_key == PUBLIC
    assert KEY.private_bytes() == bytes.fromhex(V["device_key"]["private_seed_hex"])


def test_private_bytes_round_trip_and_generate():
    key = DeviceKey.generate()
    again = DeviceKey.from_private_bytes(key.private_bytes())
    assert again.public_key == key.public_key
    assert len(key.private_bytes()) == 32
    assert DeviceKey.generate().public_key != key.public_key
    with pytest.raises(ValueError):
        DeviceKey.from_private_bytes(b"short")


def test_canonical_bytes_and_hash_match_vector():
    data = canonical(UNSIGNED)
    assert data == V["change"]["canonical_utf8"].encode("utf-8")
    assert hashlib.sha256(data).hexdigest() == V["change"]["canonical_sha256"]


def test_canonical_rules_hash_matches_vector():
    assert hashlib.sha256(canonical(V["rules"]["object"])).hexdigest() == V["rules"]["hash"]


def test_sign_change_reproduces_vector_signature():
    result = sign_change(UNSIGNED, KEY)
    assert result["sig"] == V["change"]["sig"]
    assert unsigned_form(result) == UNSIGNED
    assert result is not UNSIGNED and "sig" not in UNSIGNED
    # An old signature in the input is replaced, not signed over.
    assert sign_change({**UNSIGNED, "sig": "old"}, KEY)["sig"] == V["change"]["sig"]


def test_verify_change_accepts_vector():
    verify_change(signed(), PUBLIC)


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda c: c.pop("sig"), id="missing sig"),
        pytest.param(lambda c: c.update(sig=None), id="null sig"),
        pytest.param(lambda c: c.update(sig=12), id="int sig"),
        pytest.param(lambda c: c.update(sig=""), id="empty sig"),
        pytest.param(lambda c: c.update(sig=c["sig"] + "="), id="padded sig"),
        pytest.param(lambda c: c.update(sig=c["sig"][:-2]), id="short sig"),
        pytest.param(lambda c: c.update(sig="é" * 86), id="non-ascii sig"),
        pytest.param(lambda c: c.update(base=1), id="tampered envelope"),
        pytest.param(lambda c: c.update(fields={**c["fields"], "notes": "x"}), id="tampered field"),
        pytest.param(lambda c: c.update(extra=True), id="added key"),
        pytest.param(lambda c: c.update(notes="\ud800"), id="unencodable"),
        pytest.param(lambda c: c.update(x=float("inf")), id="infinity"),
    ],
)
def test_verify_change_rejects(mutate):
    change = signed()
    mutate(change)
    with pytest.raises(ChangeRejected) as info:
        verify_change(change, PUBLIC)
    assert info.value.code == "bad_signature"


@pytest.mark.parametrize(
    "public_key",
    [DeviceKey.generate().public_key, "", "abc", PUBLIC + "A", PUBLIC + "=", None, 5],
)
def test_verify_change_rejects_wrong_or_garbage_key(public_key):
    with pytest.raises(ChangeRejected) as info:
        verify_change(signed(), public_key)
    assert info.value.code == "bad_signature"


def test_enrolment_proof_matches_vector():
    code, proof = V["enrolment_proof"]["code"], V["enrolment_proof"]["proof"]
    assert enrolment_proof(code, KEY) == proof
    verify_enrolment_proof(code, PUBLIC, proof)
    for args in [(code + "X", PUBLIC, proof), (code, PUBLIC, proof[:-1]), (None, PUBLIC, proof)]:
        with pytest.raises(ChangeRejected):
            verify_enrolment_proof(*args)


def test_verify_raises_change_rejected_only():
    with pytest.raises(ChangeRejected):
        verify(PUBLIC, b"data", KEY.sign(b"other"))
    verify(PUBLIC, b"data", KEY.sign(b"data"))
