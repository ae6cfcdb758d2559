"""Every ledger-related golden vector in tests/vectors/protocol-v1.json, byte for byte."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from ledger import (
    SigningKey,
    b64url_decode,
    canonical,
    check_checkpoint_against,
    entry_hash,
    make_checkpoint,
    make_entry,
    replay,
    rules_hash,
    verify_chain,
    verify_checkpoint,
    verify_signature,
)


def test_server_key_from_seed(vectors: dict[str, Any], server_key: SigningKey) -> None:
    assert server_key.public_key == vectors["server_key"]["public_key"]


@pytest.mark.parametrize("index", [0, 1])
def test_entry_reproduced(vectors: dict[str, Any], server_key: SigningKey, index: int) -> None:
    expected = vectors["ledger"][index]
    fields = {k: v for k, v in expected.items() if k not in ("hash", "sig")}
    made = make_entry(key=server_key, **fields)
    assert made == expected
    assert canonical(made) == canonical(expected)
    assert entry_hash(expected) == expected["hash"]


def test_checkpoint_reproduced(vectors: dict[str, Any], server_key: SigningKey) -> None:
    expected = vectors["checkpoint"]
    fields = {k: v for k, v in expected.items() if k != "sig"}
    assert make_checkpoint(key=server_key, **fields) == expected


def test_rules_hash(vectors: dict[str, Any]) -> None:
    assert rules_hash(vectors["rules"]["object"]) == vectors["rules"]["hash"]
    assert vectors["ledger"][0]["rules"] == vectors["rules"]["hash"]


def test_balances_after(vectors: dict[str, Any]) -> None:
    assert replay(vectors["ledger"]) == vectors["balances_after"]


def test_vector_chain_and_checkpoint_verify(vectors: dict[str, Any], ring: Any) -> None:
    summary = verify_chain(vectors["ledger"], ring)
    assert (summary.count, summary.head_seq) == (2, 2)
    assert summary.head_hash == vectors["checkpoint"]["head"]
    assert summary.balances == vectors["balances_after"]
    verify_checkpoint(vectors["checkpoint"], ring)
    check_checkpoint_against(vectors["checkpoint"], summary)


def test_change_vector_canonical_form_and_signature(vectors: dict[str, Any]) -> None:
    """The shared canonical form and device signatures agree with the sync vectors."""
    change = vectors["change"]
    data = canonical(change["unsigned"])
    assert data == change["canonical_utf8"].encode()
    assert hashlib.sha256(data).hexdigest() == change["canonical_sha256"]
    device = SigningKey.from_seed(bytes.fromhex(vectors["device_key"]["private_seed_hex"]))
    assert device.public_key == vectors["device_key"]["public_key"]
    assert device.sign(data) == change["sig"]
    verify_signature(device.public_key, data, change["sig"])
    proof = vectors["enrolment_proof"]
    assert device.sign(proof["code"].encode()) == proof["proof"]
    assert len(b64url_decode(proof["proof"])) == 64
