"""Checkpoints: signature, and consistency with the chain a client verified."""

from __future__ import annotations

from typing import Any

import pytest

from ledger import (
    ZERO_HASH,
    SigningKey,
    VerificationError,
    check_checkpoint_against,
    keyring,
    make_checkpoint,
    verify_chain,
    verify_checkpoint,
)


def checkpoint_at(entries: list[dict[str, Any]], seq: int, key: SigningKey) -> dict[str, Any]:
    head = entries[seq - 1]["hash"] if seq else ZERO_HASH
    return make_checkpoint(seq=seq, head=head, at="2026-11-27T00:00:00Z", key=key, key_id="k1")


def test_signature_checked(vectors: dict[str, Any], ring: Any) -> None:
    checkpoint = dict(vectors["checkpoint"], seq=1)
    with pytest.raises(VerificationError) as info:
        verify_checkpoint(checkpoint, ring)
    assert (info.value.seq, info.value.reason) == (1, "signature")


def test_unknown_and_retired_key(vectors: dict[str, Any], server_key: SigningKey) -> None:
    checkpoint = vectors["checkpoint"]
    with pytest.raises(VerificationError) as info:
        verify_checkpoint(checkpoint, {})
    assert info.value.reason == "unknown_key"
    retired = keyring(
        [
            {
                "key_id": "k1",
                "public_key": server_key.public_key,
                "created_at": "2026-01-01T00:00:00Z",
                "retired_at": "2026-11-26T15:30:00Z",
            }
        ]
    )
    with pytest.raises(VerificationError) as info:
        verify_checkpoint(checkpoint, retired)
    assert info.value.reason == "retired_key"


def test_malformed_checkpoint(vectors: dict[str, Any], ring: Any) -> None:
    for change in ({"seq": -1}, {"seq": 2.0}, {"head": "xyz"}, {"at": "yesterday"}):
        with pytest.raises(VerificationError) as info:
            verify_checkpoint({**vectors["checkpoint"], **change}, ring)
        assert info.value.reason == "format"


def test_against_summary(build_chain: Any, ring: Any, server_key: SigningKey) -> None:
    entries = build_chain(6)
    summary = verify_chain(entries, ring)
    good = checkpoint_at(entries, 6, server_key)
    verify_checkpoint(good, ring)
    check_checkpoint_against(good, summary)

    forked = make_checkpoint(
        seq=6, head=entries[4]["hash"], at=good["at"], key=server_key, key_id="k1"
    )
    with pytest.raises(VerificationError) as info:
        check_checkpoint_against(forked, summary)
    assert (info.value.seq, info.value.reason, info.value.expected) == (
        6,
        "checkpoint",
        entries[5]["hash"],
    )

    with pytest.raises(VerificationError) as info:
        check_checkpoint_against(checkpoint_at(entries, 3, server_key), summary)
    assert (info.value.seq, info.value.reason) == (3, "checkpoint")


def test_against_hash_lookup(build_chain: Any, ring: Any, server_key: SigningKey) -> None:
    entries = build_chain(6)
    verify_chain(entries, ring)
    hashes = {e["seq"]: e["hash"] for e in entries}
    for seq in range(7):
        check_checkpoint_against(checkpoint_at(entries, seq, server_key), hashes.get)
    beyond = make_checkpoint(
        seq=7, head=entries[5]["hash"], at="2026-11-27T00:00:00Z", key=server_key, key_id="k1"
    )
    with pytest.raises(VerificationError) as info:
        check_checkpoint_against(beyond, hashes.get)
    assert (info.value.seq, info.value.reason) == (7, "checkpoint")


def test_empty_chain_checkpoint(ring: Any, server_key: SigningKey) -> None:
    summary = verify_chain([], ring)
    assert (summary.count, summary.head_seq, summary.head_hash) == (0, 0, ZERO_HASH)
    empty = checkpoint_at([], 0, server_key)
    verify_checkpoint(empty, ring)
    check_checkpoint_against(empty, summary)


def test_incremental_verification_from_checkpoint(
    build_chain: Any, ring: Any, server_key: SigningKey, reseal: Any
) -> None:
    """A client that trusted checkpoint 4 verifies only what came after it;
    that proves the log it saw is a prefix of the one it sees now."""
    entries = build_chain(9)
    old = checkpoint_at(entries, 4, server_key)
    summary = verify_chain(entries[4:], ring, start_seq=old["seq"] + 1, prev_hash=old["head"])
    assert (summary.count, summary.head_seq) == (5, 9)
    check_checkpoint_against(checkpoint_at(entries, 9, server_key), summary)

    rewritten = [dict(e) for e in entries]
    rewritten[2]["amount"] += 1
    for i in range(2, 9):
        if i > 2:
            rewritten[i]["prev_hash"] = rewritten[i - 1]["hash"]
        rewritten[i] = reseal(rewritten[i])
    with pytest.raises(VerificationError) as info:
        verify_chain(rewritten[4:], ring, start_seq=5, prev_hash=old["head"])
    assert (info.value.seq, info.value.reason) == (5, "link")
