"""Marshmallow fields for the wire rules every schema shares (docs/protocol.md Conventions)."""

from __future__ import annotations

import re
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


#: What a name (of a person, grid, shop, item, activity or case category) may not hold:
#: control characters (C0, DEL, C1: a terminal escape in a name reached the logs and
#: Excel), line separators, and characters that show nothing: zero-width space, soft
#: hyphen, word joiners, Hangul fillers, BOM, bidirectional marks and overrides (a name
#: that reads one way and sorts, searches and compares as another). The zero-width
#: joiner and non-joiner are letters' business (Uyghur or Kazakh in Arabic script, emoji
#: sequences) and stay allowed.
NOT_IN_NAMES = "Must not contain control or invisible formatting characters."
_VISIBLE_ONLY = re.compile(
    "[^\x00-\x1f\x7f-\x9f\xad\u115f\u1160\u180e\u200b\u200e\u200f\u2028-\u202e"
    "\u2060-\u2069\u3164\ufeff\uffa0]*\\Z")


def Name(**kwargs: Any) -> fields.String:  # noqa: N802
    """A human-readable name: 1-200 characters, none of them invisible."""
    return fields.String(validate=[validate.Length(min=1, max=200),
                                   validate.Regexp(_VISIBLE_ONLY, error=NOT_IN_NAMES)],
                         **kwargs)
