"""Marshmallow fields for the wire rules every schema shares (PROTOCOL Conventions)."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields, validate

MAX_SAFE_INT = 2**53 - 1
ID_PATTERN = re.compile(r"\A[A-Za-z0-9_-]{1,64}\Z")


class StrictInteger(fields.Integer):
    """An integer that refuses floats (1.0 too), booleans and |n| > 2^53-1."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("strict", True)
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("must be an integer (no floats)")
        if abs(value) > MAX_SAFE_INT:
            raise ValidationError("integer out of range (|n| <= 2^53-1)")
        return value


def Id(**kwargs: Any) -> fields.String:  # noqa: N802 - reads like a field class
    """An id: [A-Za-z0-9_-], 1-64 characters."""
    return fields.String(
        validate=validate.Regexp(ID_PATTERN, error="must match [A-Za-z0-9_-]{{1,64}}"),
        **kwargs)


def Name(**kwargs: Any) -> fields.String:  # noqa: N802
    """A human-readable name: 1-200 characters."""
    return fields.String(validate=validate.Length(min=1, max=200), **kwargs)


class StrictBoolean(fields.Boolean):
    """true or false only: not 1, 0, "true" or "yes"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value
