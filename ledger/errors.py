"""Errors raised by the ledger package.

One root (`LedgerError`) so callers can catch everything the package raises,
and one `VerificationError` for every way a chain, entry or checkpoint can fail
to verify. Messages never contain key material.
"""

from __future__ import annotations

from typing import Any

REASONS: dict[str, str] = {
    "format": "malformed",
    "seq": "out of sequence",
    "hash": "hash mismatch",
    "link": "prev_hash does not link to the previous entry",
    "signature": "bad signature",
    "unknown_key": "unknown key",
    "retired_key": "dated after its key was retired",
    "amount": "bad amount",
    "balance": "balances do not add up",
    "checkpoint": "checkpoint inconsistent with the chain",
    "inclusion": "inclusion proof does not verify",
    "consistency": "the tree does not extend the earlier one",
    "endorsement": "key not endorsed by the chain from the pinned key",
}
"""Every `VerificationError.reason`, with the phrase used in its message."""


class LedgerError(Exception):
    """Root of every error the ledger package raises."""


class KeyDecryptionError(LedgerError):
    """An encrypted key file could not be opened (wrong passphrase, damaged or unencrypted)."""


class RulesError(LedgerError):
    """Earning rules cannot price a log (unknown activity or time zone)."""


class VerificationError(LedgerError):
    """An entry, chain or checkpoint failed verification.

    `seq` is the chain position where the break is (None when it is not tied to
    one entry, e.g. a balance total); `reason` is one of `REASONS`;
    `expected` / `actual` carry the compared values when there are any.
    """

    def __init__(
        self,
        reason: str,
        *,
        seq: int | None = None,
        expected: Any = None,
        actual: Any = None,
        detail: str | None = None,
    ) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown verification reason {reason!r}")
        self.reason = reason
        self.seq = seq
        self.expected = expected
        self.actual = actual
        self.detail = detail
        super().__init__(str(self))

    def __str__(self) -> str:
        text = REASONS[self.reason]
        if self.detail:
            text = f"{text}: {self.detail}"
        if self.expected is not None or self.actual is not None:
            text = f"{text} (expected {_show(self.expected)}, got {_show(self.actual)})"
        return text if self.seq is None else f"seq {self.seq}: {text}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments defeat Exception's default pickling, and
        # errors cross process boundaries in ledger.parallel.
        return (_rebuild, (self.reason, self.seq, self.expected, self.actual, self.detail))

    def with_seq(self, seq: int | None) -> VerificationError:
        """The same error, placed at chain position `seq`."""
        return VerificationError(
            self.reason, seq=seq, expected=self.expected, actual=self.actual, detail=self.detail
        )


def _rebuild(
    reason: str, seq: int | None, expected: Any, actual: Any, detail: str | None
) -> VerificationError:
    return VerificationError(reason, seq=seq, expected=expected, actual=actual, detail=detail)


def _show(value: Any) -> str:
    """Short display form: long strings (hashes) are cut to 12 characters."""
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return value if len(value) <= 16 else value[:12] + "…"
    return repr(value)
