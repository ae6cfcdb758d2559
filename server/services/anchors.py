"""Anchors (docs/protocol.md): checkpoints with the Merkle root, proofs, receipts, keys.

Checkpoints are signed over the root of the tree of every entry so far;
inclusion proofs make a receipt checkable offline and consistency proofs
let a device or witness holding an older checkpoint check that the ledger
only grew. The tree lives in storage (``merkle_tree``, a row per leaf); the hashing is
``ledger.merkle``'s.
"""

from __future__ import annotations

import logging

from ledger import ZERO_HASH, make_checkpoint
from ledger.merkle import consistency_path, inclusion_path, root

from .. import clock
from ..errors import ValidationFailed
from ..keystore import SecretMissing, Signer, endorse_existing
from ..storage import Storage

log = logging.getLogger(__name__)


def _tree_ready(store: Storage) -> None:
    """Fill in tree leaves for entries stored before the tree existed."""
    if store.ledger.tree_size() < store.ledger.head()[0]:
        with store.transaction():
            store.ledger.catch_up_tree(store.ledger.head()[0])


def signed_checkpoint(store: Storage, signer: Signer) -> dict:
    """``{"seq", "head", "root", "at", "key_id", "sig"}`` at the current head.

    Must run inside the caller's write transaction, which orders it against
    appends and key rotation (the key that signs was not yet retired at ``at``).
    """
    seq, head = store.ledger.head()
    if store.ledger.tree_size() < seq:
        store.ledger.catch_up_tree(seq)
    key_id, key = signer.active(store)
    return make_checkpoint(seq=seq, head=head or ZERO_HASH,
                           root=root(seq, store.ledger.tree_node).hex(), at=clock.iso(),
                           key=key, key_id=key_id)


def checkpoint(store: Storage, signer: Signer) -> dict:
    """A signed checkpoint at the current head (its own transaction)."""
    with store.transaction():
        return signed_checkpoint(store, signer)


def receipt(store: Storage, signer: Signer, seq: int) -> dict:
    """``{"checkpoint", "proof"}`` for entry ``seq``: a checkpoint at the head and
    the inclusion proof of the entry in its tree. Inside a write transaction."""
    cp = signed_checkpoint(store, signer)
    path = inclusion_path(seq - 1, cp["seq"], store.ledger.tree_node)
    return {"checkpoint": cp,
            "proof": {"seq": seq, "size": cp["seq"], "path": [p.hex() for p in path]}}


def inclusion_proof(store: Storage, seq: int, size: int) -> dict:
    """``{"seq", "size", "path"}``; 400 unless 1 <= seq <= size <= head."""
    _tree_ready(store)
    with store.snapshot():
        head = store.ledger.head()[0]
        if not 1 <= seq <= size <= head:
            raise ValidationFailed(f"need 1 <= seq <= size <= {head} (the head)", fields={
                "seq": [f"seq {seq}, size {size}: outside 1..{head}"]})
        path = inclusion_path(seq - 1, size, store.ledger.tree_node)
    return {"seq": seq, "size": size, "path": [p.hex() for p in path]}


def consistency_proof(store: Storage, old: int, new: int) -> dict:
    """``{"from", "to", "path"}``; 400 unless 1 <= from <= to <= head."""
    _tree_ready(store)
    with store.snapshot():
        head = store.ledger.head()[0]
        if not 1 <= old <= new <= head:
            raise ValidationFailed(f"need 1 <= from <= to <= {head} (the head)", fields={
                "from": [f"from {old}, to {new}: outside 1..{head}"]})
        path = consistency_path(old, new, store.ledger.tree_node)
    return {"from": old, "to": new, "path": [p.hex() for p in path]}


def first_key(store: Storage) -> dict | None:
    """``{"key_id", "public_key"}`` of the first (pinned) ledger key."""
    keys = store.ledger.keys()
    return {"key_id": keys[0]["key_id"], "public_key": keys[0]["public_key"]} if keys else None


def bring_up_to_date(store: Storage, data_dir: str) -> None:
    """At start-up: endorse keys made before endorsements existed (needs the
    secret; skipped without it) and fill in the tree for older entries."""
    try:
        endorsed = endorse_existing(store, data_dir)
    except SecretMissing:
        endorsed = []
    if endorsed:
        log.info("endorsed ledger keys made before endorsements: %s", ", ".join(endorsed))
    _tree_ready(store)
