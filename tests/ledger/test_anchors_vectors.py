"""Every vector of tests/vectors/anchors-v1.json, byte for byte: the RFC 6962
reference tree, the tree over the protocol vectors' two entries, a
checkpoint with its root, and a key endorsement."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger import SigningKey, canonical, make_checkpoint, verify_checkpoint
from ledger.anchors import entry_leaf, tree_root, verify_extends, verify_receipt
from ledger.endorse import endorse, endorsement_form, verify_key_chain
from ledger.errors import VerificationError
from ledger.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    consistency_path,
    inclusion_path,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

ANCHORS = Path(__file__).resolve().parents[1] / "vectors" / "anchors-v1.json"


@pytest.fixture(scope="module")
def anchors() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(ANCHORS.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def reference(anchors: dict[str, Any]) -> MemoryTree:
    data = anchors["rfc6962_tree"]["leaf_data_hex"]
    return MemoryTree(leaf_hash(bytes.fromhex(d)) for d in data)


def test_reference_roots(anchors: dict[str, Any], reference: MemoryTree) -> None:
    roots = anchors["rfc6962_tree"]["roots"]
    assert roots["0"] == EMPTY_ROOT.hex()
    for size, expected in roots.items():
        assert reference.root(int(size)).hex() == expected


def test_reference_inclusion(anchors: dict[str, Any], reference: MemoryTree) -> None:
    for case in anchors["rfc6962_tree"]["inclusion"]:
        index, size = case["index"], case["size"]
        path = inclusion_path(index, size, reference.node)
        assert [p.hex() for p in path] == case["path"]
        verify_inclusion(reference.leaves[index], index, size, path, reference.root(size))


def test_reference_consistency(anchors: dict[str, Any], reference: MemoryTree) -> None:
    for case in anchors["rfc6962_tree"]["consistency"]:
        old, new = case["from"], case["to"]
        path = consistency_path(old, new, reference.node)
        assert [p.hex() for p in path] == case["path"]
        verify_consistency(old, new, path, reference.root(old), reference.root(new))


def test_every_proof_of_the_reference_tree_verifies(reference: MemoryTree) -> None:
    """All sizes, all leaves, all pairs: not only the vectors' picks."""
    for size in range(1, 9):
        for index in range(size):
            path = inclusion_path(index, size, reference.node)
            verify_inclusion(reference.leaves[index], index, size, path, reference.root(size))
        for old in range(1, size + 1):
            path = consistency_path(old, size, reference.node)
            verify_consistency(old, size, path, reference.root(old), reference.root(size))


def test_ledger_tree(anchors: dict[str, Any], vectors: dict[str, Any]) -> None:
    tree = anchors["ledger_tree"]
    hashes = [e["hash"] for e in vectors["ledger"]]
    assert tree_root(hashes[:1]) == tree["root_size_1"]
    assert tree_root(hashes) == tree["root_size_2"]
    mem = MemoryTree(entry_leaf(h) for h in hashes)
    assert [p.hex() for p in inclusion_path(0, 2, mem.node)] == tree["inclusion_seq_1_size_2"]
    assert [p.hex() for p in consistency_path(1, 2, mem.node)] == tree["consistency_1_to_2"]


def test_ledger_checkpoint_with_root(
    anchors: dict[str, Any], vectors: dict[str, Any], server_key: SigningKey, ring: Any
) -> None:
    tree = anchors["ledger_tree"]
    expected = tree["checkpoint"]
    fields = {k: v for k, v in expected.items() if k != "sig"}
    made = make_checkpoint(key=server_key, **fields)
    assert made == expected
    assert canonical(fields) == tree["checkpoint_signed_bytes"].encode()
    verify_checkpoint(expected, ring)
    # A receipt for entry 1 at this checkpoint, and the size-1 tree extended.
    entry = vectors["ledger"][0]
    verify_receipt(entry, expected, {"seq": 1, "size": 2, "path": tree["inclusion_seq_1_size_2"]})
    old = {**expected, "seq": 1, "head": entry["hash"], "root": tree["root_size_1"]}
    verify_extends(old, expected, tree["consistency_1_to_2"])


def test_checkpoint_root_is_signed(
    anchors: dict[str, Any], server_key: SigningKey, ring: Any
) -> None:
    forged = {**anchors["ledger_tree"]["checkpoint"], "root": "00" * 32}
    with pytest.raises(VerificationError) as caught:
        verify_checkpoint(forged, ring)
    assert caught.value.reason == "signature"


def test_key_endorsement(anchors: dict[str, Any], server_key: SigningKey) -> None:
    vec = anchors["key_endorsement"]
    k1, k2 = vec["k1"], vec["k2"]
    assert server_key.public_key == k1["public_key"]
    assert SigningKey.from_seed(bytes.fromhex(k2["private_seed_hex"])).public_key == (
        k2["public_key"]
    )
    assert endorsement_form(k2) == vec["signed_bytes"].encode()
    assert endorse(k2, server_key) == k2["endorsement"]
    listed = [
        {**k1, "created_at": "2026-11-01T00:00:00Z", "retired_at": "2026-12-01T00:00:00Z"},
        {key: k2[key] for key in ("key_id", "public_key", "created_at", "endorsement")}
        | {"retired_at": None},
    ]
    ring = verify_key_chain(listed, {"key_id": "k1", "public_key": k1["public_key"]})
    assert set(ring) == {"k1", "k2"}
