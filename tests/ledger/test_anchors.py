"""Merkle proofs, checkpoint extension and key endorsements fail the way they should."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import SigningKey, make_checkpoint
from ledger.anchors import tree_root, verify_extends, verify_receipt
from ledger.endorse import endorse, verify_key_chain
from ledger.errors import VerificationError
from ledger.merkle import (
    Frontier,
    MemoryTree,
    consistency_path,
    inclusion_path,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)


def tree(n: int) -> MemoryTree:
    return MemoryTree(leaf_hash(i.to_bytes(4, "big")) for i in range(n))


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=70), st.data())
def test_proofs_verify_and_frontier_agrees(n: int, data: st.DataObject) -> None:
    mem = tree(n)
    frontier = Frontier()
    stored: dict[tuple[int, int], bytes] = {}
    for i, leaf in enumerate(mem.leaves):
        loaded = Frontier.of(i, lambda lv, ix: stored[(lv, ix)])
        assert loaded.size == frontier.size and loaded.root() == frontier.root()
        made = frontier.append(leaf)
        assert loaded.append(leaf) == made and made[0] == (0, i, leaf)
        assert len(made) == 1 + (len(bin(i)) - len(bin(i).rstrip("1")))  # + closed subtrees
        for level, index, h in made:
            assert (level, index) not in stored
            stored[(level, index)] = h
        assert frontier.root() == mem.root(i + 1)
    assert all(mem.node(lv, ix) == h for (lv, ix), h in stored.items())
    index = data.draw(st.integers(0, n - 1))
    verify_inclusion(mem.leaves[index], index, n, inclusion_path(index, n, mem.node), mem.root())
    old = data.draw(st.integers(1, n))
    verify_consistency(old, n, consistency_path(old, n, mem.node), mem.root(old), mem.root())


def test_inclusion_failures_say_what_was_expected() -> None:
    mem = tree(7)
    path = inclusion_path(3, 7, mem.node)
    with pytest.raises(VerificationError) as caught:
        verify_inclusion(mem.leaves[4], 3, 7, path, mem.root())
    assert caught.value.reason == "inclusion"
    assert caught.value.expected == mem.root().hex()
    for bad in (path[:-1], [*path, path[0]]):
        with pytest.raises(VerificationError, match="too"):
            verify_inclusion(mem.leaves[3], 3, 7, bad, mem.root())
    with pytest.raises(VerificationError, match="outside"):
        verify_inclusion(mem.leaves[3], 7, 7, path, mem.root())


def test_consistency_failures() -> None:
    mem, other = tree(8), tree(8)
    other.leaves[2] = leaf_hash(b"rewritten")
    path = consistency_path(5, 8, mem.node)
    verify_consistency(5, 8, path, mem.root(5), mem.root(8))
    with pytest.raises(VerificationError) as caught:  # an old entry was rewritten
        verify_consistency(5, 8, consistency_path(5, 8, other.node), mem.root(5), other.root(8))
    assert caught.value.reason == "consistency"
    with pytest.raises(VerificationError, match="rolled back"):
        verify_consistency(8, 7, [], mem.root(8), mem.root(7))
    with pytest.raises(VerificationError, match="empty"):
        verify_consistency(4, 8, [], mem.root(4), mem.root(8))
    with pytest.raises(VerificationError, match="different trees"):
        verify_consistency(8, 8, [], mem.root(8), other.root(8))
    verify_consistency(0, 8, [], b"", mem.root(8))  # anything extends the empty tree


def checkpoint(key: SigningKey, hashes: list[str]) -> dict[str, Any]:
    return make_checkpoint(seq=len(hashes), head=hashes[-1] if hashes else "0" * 64,
                           root=tree_root(hashes), at="2026-12-01T00:00:00Z", key=key,
                           key_id="k1")


def test_rollback_to_n_minus_1_is_refused_and_named(
    build_chain: Any, server_key: SigningKey
) -> None:
    hashes = [e["hash"] for e in build_chain(6)]
    saw = checkpoint(server_key, hashes)
    with pytest.raises(VerificationError) as caught:
        verify_extends(saw, checkpoint(server_key, hashes[:-1]), [])
    assert "rolled back" in str(caught.value) and "seq 6" in str(caught.value)
    verify_extends(checkpoint(server_key, []), saw, [])
    verify_extends(saw, saw, [])


def test_receipt_rejects_another_entry(build_chain: Any, server_key: SigningKey) -> None:
    entries = build_chain(5)
    hashes = [e["hash"] for e in entries]
    cp = checkpoint(server_key, hashes)
    from ledger.anchors import entry_leaf

    mem = MemoryTree(entry_leaf(h) for h in hashes)
    proof = {"seq": 3, "size": 5, "path": [p.hex() for p in inclusion_path(2, 5, mem.node)]}
    verify_receipt(entries[2], cp, proof)
    with pytest.raises(VerificationError):
        verify_receipt(entries[3], cp, proof)
    with pytest.raises(VerificationError):
        verify_receipt({**entries[2], "hash": entries[3]["hash"]}, cp, proof)


def keys_list(k1: SigningKey, k2: SigningKey, k3: SigningKey) -> list[dict[str, Any]]:
    listed = [{"key_id": "k1", "public_key": k1.public_key, "created_at": "2026-01-01T00:00:00Z",
               "retired_at": "2026-02-01T00:00:00Z", "endorsement": None}]
    for key_id, key, by in (("k2", k2, k1), ("k3", k3, k2)):
        item = {"key_id": key_id, "public_key": key.public_key,
                "created_at": "2026-02-01T00:00:00Z", "retired_at": None}
        listed.append({**item, "endorsement": endorse(item, by)})
    listed[1]["retired_at"] = "2026-03-01T00:00:00Z"
    return listed


def test_key_chain_from_the_pinned_key() -> None:
    k1, k2, k3, rogue = (SigningKey.generate() for _ in range(4))
    pinned = {"key_id": "k1", "public_key": k1.public_key}
    good = keys_list(k1, k2, k3)
    assert set(verify_key_chain(good, pinned)) == {"k1", "k2", "k3"}

    # The attack: a rogue "k0" listed first, created long ago, endorsing k1.
    k0 = {"key_id": "k0", "public_key": rogue.public_key, "created_at": "2020-01-01T00:00:00Z",
          "retired_at": "2020-02-01T00:00:00Z", "endorsement": None}
    forged = [k0, {**good[0], "endorsement": endorse(good[0], rogue)}, *good[1:]]
    with pytest.raises(VerificationError, match="not the pinned key"):
        verify_key_chain(forged, pinned)
    # A rogue key slipped in the middle cannot be endorsed by its predecessor.
    middle = {"key_id": "k2b", "public_key": rogue.public_key,
              "created_at": "2026-02-15T00:00:00Z", "retired_at": "2026-02-16T00:00:00Z"}
    with pytest.raises(VerificationError, match="k2b is not endorsed by k2"):
        verify_key_chain([*good[:2], {**middle, "endorsement": endorse(middle, rogue)},
                          good[2]], pinned)
    with pytest.raises(VerificationError, match="k3 has no endorsement"):
        verify_key_chain([*good[:2], {**good[2], "endorsement": None}], pinned)
    # Changing a key's public half breaks the endorsement that signed it.
    with pytest.raises(VerificationError, match="k2 is not endorsed by k1"):
        verify_key_chain([good[0], {**good[1], "public_key": rogue.public_key}, good[2]], pinned)
