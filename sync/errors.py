"""The sync library's exceptions: one root, small subclasses carrying data."""

from __future__ import annotations

from typing import Any

#: Per-change rejection codes (docs/protocol.md, Sync → Response).
REJECTION_CODES = frozenset({
    "validation", "bad_signature", "forbidden", "unknown_record", "immutable",
    "locked", "stale", "clock_skew", "id_reused",
})


class SyncError(Exception):
    """Root of every error raised by ``sync``."""


class ChangeRejected(SyncError):
    """One pushed change is refused; the result carries ``code`` and ``message``.

    ``fields`` holds field-level messages (marshmallow's shape: key → list of
    messages, nested under ``"fields"`` for the change's fields) and is only
    set for ``validation``.
    """

    def __init__(self, code: str, message: str, fields: dict[str, Any] | None = None):
        if code not in REJECTION_CODES:
            raise ValueError(f"unknown rejection code {code!r}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fields = fields

    def as_error(self) -> dict[str, Any]:
        """The ``error`` object of a sync result."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields is not None:
            error["fields"] = self.fields
        return error


class BadCursor(SyncError):
    """A pull cursor that cannot be read or belongs to another device (HTTP 400)."""
