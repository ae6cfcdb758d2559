"""The value rules shared by both change validators (``sync.schemas``, ``sync.parse``).

Limits, patterns and error messages live here once, so the documented
marshmallow schemas and the fast validator cannot drift apart on them. The
rules themselves are described in ``sync.schemas``.
"""

from __future__ import annotations

import re
from datetime import datetime

from primitives import times

MAX_SAFE_INT = 2**53 - 1
MAX_TEXT = 500
MAX_NOTES = 4000
MAX_TITLE = 200
MAX_PHONE = 32
MAX_LIST = 100
MAX_LIMIT = 5000
MAX_DEPTH = 32  # objects and lists nested inside a change's fields, the fields included
MAX_CHANGES = 1000  # changes in one sync request; more is 413 too_large (clients split)
DEFAULT_LIMIT = 500
LAT_E6 = 90_000_000
LON_E6 = 180_000_000

ID_PATTERN = re.compile(r"\A[A-Za-z0-9_-]{1,64}\Z")
UUID_PATTERN = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
TIMESTAMP_PATTERN = times.PATTERN
SURROGATE_PATTERN = re.compile("[\ud800-\udfff]")

# Messages shared by both validators (marshmallow's wording where it has one).
MISSING = "Missing data for required field."
NOT_NULL = "Field may not be null."
UNKNOWN = "Unknown field."
SERVER_SET = "Set by the server."
NOT_STRING = "Not a valid string."
NOT_INTEGER = "Not a valid integer."
NOT_BOOLEAN = "Not a valid boolean."
NOT_LIST = "Not a valid list."
NOT_MAPPING = "Not a valid mapping type."
NOT_OBJECT = "Invalid input type."
TOO_BIG = "Integer out of range (|n| <= 2^53-1)."
SURROGATE = "Not valid Unicode (lone surrogate)."
BAD_ID = "Not a valid id ([A-Za-z0-9_-], 1-64 characters)."
BAD_UUID = "Not a lowercase UUID."
BAD_TIMESTAMP = "Not an RFC 3339 UTC time ending in Z."
TOO_DEEP = f"Nested deeper than {MAX_DEPTH} levels."
BAD_HLC = "Not an hlc stamp (<15-digit ms>:<5-digit counter>:<device>)."


def is_timestamp(value: str) -> bool:
    """Whether ``value`` is a timestamp as ``sync.schemas`` documents them."""
    return times.is_time(value)


def deeper_than(value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether objects and lists nest more than ``limit`` levels in ``value`` (the value
    itself counting as the first). Iterative: a 10,000-deep value is no recursion risk."""
    if type(value) is not dict and type(value) is not list:
        return False
    stack: list[tuple[dict | list, int]] = [(value, 1)]  # containers only: most values
    while stack:                                         # are scalars, never stacked
        item, depth = stack.pop()
        if depth > limit:
            return True
        for child in item.values() if type(item) is dict else item:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return False


def parse_timestamp(value: str) -> datetime:
    """A valid timestamp as an aware UTC ``datetime`` (``ValueError`` otherwise)."""
    return times.parse(value)

