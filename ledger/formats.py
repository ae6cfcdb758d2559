"""Field-level checks shared by entries and checkpoints.

The protocol forbids floats and caps integers at 2^53-1 (what every JSON
client can hold exactly); `1.0` and `True` are not integers here. Times are
RFC 3339 UTC strings ending in `Z`, parsed strictly so that they can be
compared as instants.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from primitives import times

from .errors import LedgerError, VerificationError

MAX_INT = 2**53 - 1
KINDS = ("earn", "redeem", "reverse", "adjust", "expire")

_HEX64 = re.compile(r"[0-9a-f]{64}")

_BODY_STRINGS = ("id", "debit", "credit", "ref", "key_id")


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 UTC time such as `2026-11-26T12:05:00Z` (aware datetime)."""
    try:
        return times.parse(text)
    except ValueError as exc:
        raise LedgerError(str(exc)) from None


def is_int(value: Any) -> bool:
    """True for a protocol integer: an int (not a bool) with |n| <= 2^53-1."""
    return type(value) is int and -MAX_INT <= value <= MAX_INT


def is_hex64(value: Any) -> bool:
    """True for a lowercase SHA-256 hex digest."""
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def check_entry_shape(entry: Any, *, seq: int | None) -> None:
    """Raise VerificationError ("format" or "amount") unless `entry` has the
    docs/protocol.md Entry shape. Keys beyond the protocol's are allowed (they are
    hashed). `seq` only labels the error.
    """
    check_body_shape(entry, seq=seq)
    if not is_hex64(entry.get("hash")):
        raise VerificationError(
            "format",
            seq=seq,
            detail="'hash' must be 64 lowercase hex digits",
            actual=entry.get("hash"),
        )
    if not isinstance(entry.get("sig"), str) or not entry["sig"]:
        raise VerificationError(
            "format", seq=seq, detail="'sig' must be a non-empty string", actual=entry.get("sig")
        )


def check_body_shape(entry: Any, *, seq: int | None) -> None:
    """`check_entry_shape` without `hash` and `sig`: what `make_entry` checks
    before it hashes and signs."""

    def bad(detail: str, reason: str = "format", actual: Any = None) -> VerificationError:
        return VerificationError(reason, seq=seq, detail=detail, actual=actual)

    if not isinstance(entry, Mapping):
        raise bad("entry is not an object", actual=type(entry).__name__)
    if "amount" not in entry:
        raise bad("missing 'amount'")
    amount = entry["amount"]
    if not is_int(amount) or amount <= 0:
        raise bad("amount must be an integer > 0", "amount", actual=amount)
    if not is_int(entry.get("seq")) or entry["seq"] < 1:
        raise bad("seq must be an integer >= 1", actual=entry.get("seq"))
    for key in _BODY_STRINGS:
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise bad(f"{key!r} must be a non-empty string", actual=entry.get(key))
    if entry.get("kind") not in KINDS:
        raise bad("unknown kind", actual=entry.get("kind"))
    if entry["debit"] == entry["credit"]:
        raise bad("debit and credit are the same account")
    if not is_hex64(entry.get("prev_hash")):
        raise bad("'prev_hash' must be 64 lowercase hex digits", actual=entry.get("prev_hash"))
    for key in ("evidence", "rules"):
        if key not in entry:
            raise bad(f"missing {key!r}")
    if entry["evidence"] is not None and not isinstance(entry["evidence"], str):
        raise bad("'evidence' must be a string or null", actual=entry["evidence"])
    if entry["rules"] is not None and not is_hex64(entry["rules"]):
        raise bad("'rules' must be a SHA-256 hex digest or null", actual=entry["rules"])
    _check_time(entry.get("at"), seq)


def check_checkpoint_shape(checkpoint: Any) -> None:
    """Raise VerificationError("format") unless `checkpoint` has the docs/protocol.md shape."""
    seq = checkpoint.get("seq") if isinstance(checkpoint, Mapping) else None
    label = seq if is_int(seq) else None

    def bad(detail: str, actual: Any = None) -> VerificationError:
        return VerificationError("format", seq=label, detail=f"checkpoint {detail}", actual=actual)

    if not isinstance(checkpoint, Mapping):
        raise bad("is not an object", type(checkpoint).__name__)
    if label is None or label < 0:
        raise bad("seq must be an integer >= 0", seq)
    if not is_hex64(checkpoint.get("head")):
        raise bad("head must be 64 lowercase hex digits", checkpoint.get("head"))
    if "root" in checkpoint and not is_hex64(checkpoint["root"]):
        raise bad("root must be 64 lowercase hex digits", checkpoint["root"])
    for key in ("key_id", "sig"):
        if not isinstance(checkpoint.get(key), str) or not checkpoint[key]:
            raise bad(f"{key} must be a non-empty string", checkpoint.get(key))
    _check_time(checkpoint.get("at"), label)


def _check_time(value: Any, seq: int | None) -> None:
    try:
        parse_time(value)
    except LedgerError as exc:
        raise VerificationError("format", seq=seq, detail=str(exc)) from None
