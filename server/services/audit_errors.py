"""The one error an audit raises (ledger verify, restore, witness)."""

from __future__ import annotations

from ledger import VerificationError


class AuditFailure(Exception):
    """The ledger is not sound; ``seq`` is where (None when no entry is to blame)."""

    def __init__(self, message: str, seq: int | None = None):
        super().__init__(message)
        self.seq = seq

    @classmethod
    def from_verification(cls, exc: VerificationError) -> AuditFailure:
        return cls(str(exc), exc.seq)
