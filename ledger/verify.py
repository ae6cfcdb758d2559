"""Verification of entries, chains, balances and checkpoints.

Every function here returns None (or a summary) or raises VerificationError;
none returns False. Keys are a mapping `key_id -> {"public_key": str,
"retired_at": str | None}`, built from `GET /api/v1/ledger/keys` by `keyring`.

Checkpoint consistency, in short: verify the chain (or the part after the
last checkpoint you trusted), then
`verify_checkpoint(cp, keys)` (its signature) and
`check_checkpoint_against(cp, summary)` (its seq and head match what you
verified). An auditor holding the whole chain can pass a `hash_at(seq)`
lookup instead of the summary to check a checkpoint at any seq.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from primitives.canonical import canonical

from .balances import apply
from .checkpoint import signed_form
from .crypto import check_public_key, verify_signature
from .entry import ZERO_HASH, hashed_form
from .errors import LedgerError, VerificationError
from .formats import check_checkpoint_shape, check_entry_shape, parse_time

Keyring = Mapping[str, Mapping[str, Any]]

_retired_instant = lru_cache(maxsize=64)(parse_time)


@dataclass(frozen=True)
class ChainSummary:
    """What a verified run of entries amounts to.

    `head_seq` / `head_hash` are those of the last entry (or the starting point
    when there were none); `balances` covers only the entries verified.
    """

    count: int
    head_seq: int
    head_hash: str
    balances: dict[str, int] = field(default_factory=dict)


def keyring(keys_list: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Keys mapping from the `keys` list of `GET /api/v1/ledger/keys`.

    Raises LedgerError for a duplicate key_id, a malformed public key or
    retirement time: a bad keyring is a setup problem, not a bad chain.
    """
    ring: dict[str, dict[str, Any]] = {}
    for item in keys_list:
        try:
            key_id, public_key, retired_at = item["key_id"], item["public_key"], item["retired_at"]
        except (KeyError, TypeError):
            raise LedgerError("each key needs key_id, public_key and retired_at") from None
        if key_id in ring:
            raise LedgerError(f"duplicate key_id {key_id!r}")
        check_public_key(public_key)
        if retired_at is not None:
            parse_time(retired_at)
        ring[key_id] = {"public_key": public_key, "retired_at": retired_at}
    return ring


def verify_entry(
    entry: Mapping[str, Any], *, prev_hash: str, expected_seq: int, keys: Keyring
) -> None:
    """Check one entry: shape, seq, link to `prev_hash`, hash, key, signature.

    Checks run in that order, so a changed field shows as "hash" and a
    re-hashed but unsigned change as "signature". The error's seq is
    `expected_seq` (the chain position), whatever the entry claims.
    """
    check_entry_shape(entry, seq=expected_seq)
    if entry["seq"] != expected_seq:
        raise VerificationError("seq", seq=expected_seq, expected=expected_seq, actual=entry["seq"])
    if entry["prev_hash"] != prev_hash:
        raise VerificationError(
            "link", seq=expected_seq, expected=prev_hash, actual=entry["prev_hash"]
        )
    data = canonical(hashed_form(entry))
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["hash"]:
        raise VerificationError("hash", seq=expected_seq, expected=digest, actual=entry["hash"])
    key = keys.get(entry["key_id"])
    if key is None:
        raise VerificationError("unknown_key", seq=expected_seq, actual=entry["key_id"])
    retired_at = key.get("retired_at")
    if retired_at is not None and parse_time(entry["at"]) > _retired_instant(retired_at):
        raise VerificationError(
            "retired_key",
            seq=expected_seq,
            expected=f"at or before {retired_at}",
            actual=entry["at"],
        )
    try:
        verify_signature(key["public_key"], data, entry["sig"])
    except VerificationError as exc:
        raise exc.with_seq(expected_seq) from None


def verify_segment(
    entries: Iterable[Mapping[str, Any]],
    keys: Keyring,
    *,
    start_seq: int = 1,
    prev_hash: str = ZERO_HASH,
) -> ChainSummary:
    """`verify_chain` without the final balance check, for callers that
    check the total once over several segments (as ledger.parallel does)."""
    balances: dict[str, int] = {}
    seq = start_seq - 1
    for entry in entries:
        seq += 1
        verify_entry(entry, prev_hash=prev_hash, expected_seq=seq, keys=keys)
        prev_hash = entry["hash"]
        apply(balances, entry)
    return ChainSummary(
        count=seq - start_seq + 1, head_seq=seq, head_hash=prev_hash, balances=balances
    )


def verify_chain(
    entries: Iterable[Mapping[str, Any]],
    keys: Keyring,
    *,
    start_seq: int = 1,
    prev_hash: str = ZERO_HASH,
) -> ChainSummary:
    """Verify entries in order, streaming; raise at the first break.

    Memory stays flat in the number of entries (only the balances grow with
    the number of accounts). To continue from a trusted checkpoint, pass
    `start_seq=cp["seq"] + 1, prev_hash=cp["head"]`.
    """
    summary = verify_segment(entries, keys, start_seq=start_seq, prev_hash=prev_hash)
    check_balances(summary.balances)
    return summary


def check_balances(balances: Mapping[str, int], claimed: Mapping[str, int] | None = None) -> None:
    """Raise VerificationError("balance") unless `balances` sum to zero and,
    when given, every `claimed` balance (e.g. a stored balances table or an
    account page) equals the replayed one. Missing accounts count as 0.

    Entries that pass `verify_entry` always sum to zero (each moves one
    amount from debit to credit); the total guards balances built elsewhere.
    """
    total = sum(balances.values())
    if total != 0:
        raise VerificationError("balance", detail="sum of all balances", expected=0, actual=total)
    if claimed is None:
        return
    for account in sorted(set(balances) | set(claimed)):
        replayed, stated = balances.get(account, 0), claimed.get(account, 0)
        if replayed != stated:
            raise VerificationError(
                "balance", detail=f"account {account}", expected=replayed, actual=stated
            )


def verify_checkpoint(checkpoint: Mapping[str, Any], keys: Keyring) -> None:
    """Check a checkpoint's shape, key and signature (not its consistency:
    see `check_checkpoint_against`)."""
    check_checkpoint_shape(checkpoint)
    seq = checkpoint["seq"]
    key = keys.get(checkpoint["key_id"])
    if key is None:
        raise VerificationError(
            "unknown_key", seq=seq, detail="checkpoint", actual=checkpoint["key_id"]
        )
    retired_at = key.get("retired_at")
    if retired_at is not None and parse_time(checkpoint["at"]) > _retired_instant(retired_at):
        raise VerificationError(
            "retired_key",
            seq=seq,
            detail="checkpoint",
            expected=f"at or before {retired_at}",
            actual=checkpoint["at"],
        )
    try:
        verify_signature(key["public_key"], canonical(signed_form(checkpoint)), checkpoint["sig"])
    except VerificationError as exc:
        detail = f"checkpoint, {exc.detail}" if exc.detail else "checkpoint"
        raise VerificationError("signature", seq=seq, detail=detail) from None


def check_checkpoint_against(
    checkpoint: Mapping[str, Any], chain: ChainSummary | Callable[[int], str | None]
) -> None:
    """Raise VerificationError("checkpoint") unless the checkpoint's head is
    the hash of the verified chain at the checkpoint's seq.

    `chain` is either the ChainSummary of a verified chain, which can only
    vouch for its head (a checkpoint at another seq raises), or a function
    `hash_at(seq)` returning the verified hash at a seq, or None when the
    chain has no such entry (a dict's `.get` will do).
    A checkpoint at seq 0 must have the zero head.
    """
    check_checkpoint_shape(checkpoint)
    seq, head = checkpoint["seq"], checkpoint["head"]
    if seq == 0:
        known: str | None = ZERO_HASH
    elif isinstance(chain, ChainSummary):
        if seq != chain.head_seq:
            raise VerificationError(
                "checkpoint",
                seq=seq,
                detail=f"not at the verified head (seq {chain.head_seq}); verify up to it first",
            )
        known = chain.head_hash
    else:
        known = chain(seq)
        if known is None:
            raise VerificationError("checkpoint", seq=seq, detail="the chain has no entry there")
    if known != head:
        raise VerificationError("checkpoint", seq=seq, expected=known, actual=head)
