"""Marshmallow fields for the wire rules every schema shares (docs/protocol.md Conventions)."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

# The same id pattern and strict integer/boolean rules as the sync wire.
from sync.schemas import StrictBoolean, StrictInteger
from sync.wire import ID_PATTERN, UUID_PATTERN

__all__ = ["ID_PATTERN", "UUID_PATTERN", "Id", "Name", "StrictBoolean", "StrictInteger"]


def Id(**kwargs: Any) -> fields.String:  # noqa: N802 - reads like a field class
    """An id: [A-Za-z0-9_-], 1-64 characters."""
    return fields.String(
        validate=validate.Regexp(ID_PATTERN, error="must match [A-Za-z0-9_-]{{1,64}}"),
        **kwargs)


def Name(**kwargs: Any) -> fields.String:  # noqa: N802
    """A human-readable name: 1-200 characters."""
    return fields.String(validate=validate.Length(min=1, max=200), **kwargs)
