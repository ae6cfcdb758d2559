"""Holding a ledger to what it said before: checkpoints over the Merkle tree.

The entries form an RFC 6962 tree whose leaf *i* is the raw 32 bytes of
the `hash` of the entry with seq *i*+1; a checkpoint's `root` is the root
of the first `seq` leaves. Whoever kept an earlier checkpoint checks that a
newer one extends it with a consistency proof (`verify_extends`), and a
receipt (an entry, a checkpoint and an inclusion proof) is checkable
offline (`verify_receipt`). Signatures are checked by the caller
(`verify_checkpoint`) before these are trusted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .errors import LedgerError, VerificationError
from .formats import check_checkpoint_shape, is_hex64
from .merkle import EMPTY_ROOT, Frontier, leaf_hash, verify_consistency, verify_inclusion


def entry_leaf(entry_hash_hex: str) -> bytes:
    """The leaf hash of the entry whose `hash` is `entry_hash_hex`."""
    if not is_hex64(entry_hash_hex):
        raise LedgerError("an entry hash is 64 lowercase hex digits")
    return leaf_hash(bytes.fromhex(entry_hash_hex))


def tree_root(entry_hashes: Iterable[str]) -> str:
    """Hex root of the tree over entries with these hashes, in seq order."""
    frontier = Frontier()
    for h in entry_hashes:
        frontier.append(entry_leaf(h))
    return frontier.root().hex()


def checkpoint_root(checkpoint: Mapping[str, Any]) -> bytes:
    """The raw root a checkpoint signs (the empty root at seq 0)."""
    check_checkpoint_shape(checkpoint)
    if "root" not in checkpoint:
        raise VerificationError(
            "format", seq=checkpoint["seq"], detail="checkpoint has no root"
        )
    found = bytes.fromhex(checkpoint["root"])
    if checkpoint["seq"] == 0 and found != EMPTY_ROOT:
        raise VerificationError(
            "consistency",
            seq=0,
            detail="an empty tree's root",
            expected=EMPTY_ROOT.hex(),
            actual=checkpoint["root"],
        )
    return found


def hex_path(path: Any) -> list[bytes]:
    """A proof path as the wire carries it (list of hex) in raw bytes."""
    if not isinstance(path, list) or not all(is_hex64(p) for p in path):
        raise VerificationError("format", detail="a proof path is a list of 64-hex hashes")
    return [bytes.fromhex(p) for p in path]


def verify_extends(
    old: Mapping[str, Any], new: Mapping[str, Any], path: Sequence[str] | None
) -> None:
    """Raise VerificationError("consistency") unless checkpoint `new`'s tree
    extends checkpoint `old`'s, by the hex consistency `path` (PROOF(old.seq,
    new.seq); none is needed from seq 0 or between equal seqs)."""
    old_root, new_root = checkpoint_root(old), checkpoint_root(new)
    old_seq, new_seq = old["seq"], new["seq"]
    if new_seq < old_seq:
        raise VerificationError(
            "consistency",
            seq=new_seq,
            detail=(
                f"the ledger was rolled back: it now ends at seq {new_seq}, "
                f"but a checkpoint at seq {old_seq} was verified before"
            ),
        )
    try:
        verify_consistency(old_seq, new_seq, hex_path(path or []), old_root, new_root)
    except VerificationError as exc:
        raise exc.with_seq(new_seq) from None
    if old_seq == new_seq and old["head"] != new["head"]:
        raise VerificationError(
            "consistency", seq=new_seq, detail="head", expected=old["head"], actual=new["head"]
        )


def verify_receipt(
    entry: Mapping[str, Any], checkpoint: Mapping[str, Any], proof: Mapping[str, Any]
) -> None:
    """Raise VerificationError("inclusion") unless `proof` (`{"seq", "size",
    "path"}`) places `entry` in `checkpoint`'s tree. The entry's and the
    checkpoint's own signatures are the caller's to check."""
    seq, size = proof.get("seq"), proof.get("size")
    if seq != entry.get("seq") or size != checkpoint.get("seq"):
        raise VerificationError(
            "inclusion",
            seq=entry.get("seq") if isinstance(entry.get("seq"), int) else None,
            detail="the proof is for another entry or checkpoint",
            expected=f"seq {entry.get('seq')} size {checkpoint.get('seq')}",
            actual=f"seq {seq} size {size}",
        )
    assert isinstance(seq, int) and isinstance(size, int)
    try:
        verify_inclusion(
            entry_leaf(entry["hash"]), seq - 1, size, hex_path(proof.get("path")),
            checkpoint_root(checkpoint),
        )
    except LedgerError as exc:
        if isinstance(exc, VerificationError):
            raise exc.with_seq(seq) from None
        raise VerificationError("inclusion", seq=seq, detail=str(exc)) from None
