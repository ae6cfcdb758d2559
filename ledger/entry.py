"""Ledger entries: hashed form, hash and signature (docs/protocol.md, "Entry").

`hash` = SHA-256 hex of the canonical form of every key except `hash` and
`sig`; `sig` = Ed25519 over those same bytes. Keys a verifier does not know
stay in the hashed form, so a newer server can add fields without breaking
older verifiers' hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from primitives.canonical import canonical, canonical_allowed

from .crypto import SigningKey
from .formats import KINDS, check_body_shape

ZERO_HASH = "0" * 64
"""`prev_hash` of seq 1, and the head of an empty chain."""

__all__ = ["KINDS", "ZERO_HASH", "entry_hash", "hashed_form", "make_entry"]

_UNHASHED = ("hash", "sig")


def hashed_form(entry: Mapping[str, Any]) -> dict[str, Any]:
    """Every key of `entry` except `hash` and `sig`."""
    form = dict(entry)
    for key in _UNHASHED:
        form.pop(key, None)
    return form


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical hashed form."""
    return hashlib.sha256(canonical(hashed_form(entry))).hexdigest()


def make_entry(
    *,
    seq: int,
    id: str,
    kind: str,
    debit: str,
    credit: str,
    amount: int,
    ref: str,
    evidence: str | None,
    rules: str | None,
    at: str,
    prev_hash: str,
    key: SigningKey,
    key_id: str,
) -> dict[str, Any]:
    """A complete, signed entry.

    Raises VerificationError ("format" / "amount") when the fields could never
    verify (a float amount, an unknown kind, ...), before anything is signed.
    Chaining (`seq`, `prev_hash`) is the caller's job: it holds the head.
    """
    body: dict[str, Any] = {
        "seq": seq,
        "id": id,
        "kind": kind,
        "debit": debit,
        "credit": credit,
        "amount": amount,
        "ref": ref,
        "evidence": evidence,
        "rules": rules,
        "at": at,
        "prev_hash": prev_hash,
        "key_id": key_id,
    }
    check_body_shape(body, seq=seq if isinstance(seq, int) else None)
    try:  # checked: protocol integers and strings, so orjson's bytes are canonical's
        data = canonical_allowed(body)
    except TypeError:  # a lone surrogate: canonical says so as a ValueError
        data = canonical(body)
    return {**body, "hash": hashlib.sha256(data).hexdigest(), "sig": key.sign(data)}
