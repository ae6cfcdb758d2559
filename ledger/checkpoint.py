"""Signed checkpoints: (seq, head hash, Merkle root, time) under the ledger key.

A client keeps the last checkpoint it verified; later it verifies only the
entries after it (`verify_chain(..., start_seq=cp["seq"] + 1,
prev_hash=cp["head"])`), which proves the old log is a prefix of the new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from primitives.canonical import canonical

from .crypto import SigningKey
from .formats import check_checkpoint_shape


def signed_form(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """Every key of `checkpoint` except `sig`: the bytes its signature covers."""
    return {k: v for k, v in checkpoint.items() if k != "sig"}


def make_checkpoint(
    *, seq: int, head: str, at: str, key: SigningKey, key_id: str, root: str | None = None
) -> dict[str, Any]:
    """`{"seq", "head", "root", "at", "key_id", "sig"}` signed with `key`.

    `root` is the hex Merkle root of the first `seq` entries (docs/protocol.md,
    Anchors); a checkpoint made without one has the older form, without `root`.
    Raises VerificationError("format") for fields that could never verify.
    """
    body: dict[str, Any] = {"seq": seq, "head": head, "at": at, "key_id": key_id}
    if root is not None:
        body["root"] = root
    check_checkpoint_shape({**body, "sig": "placeholder"})  # check the fields before signing
    return {**body, "sig": key.sign(canonical(body))}
