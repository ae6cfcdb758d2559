"""``parse_change``: the server's fast path for validating one pushed change.

A hand-written equivalent of ``sync.schemas.ChangeSchema().load`` (tested
for the same accept/reject and error paths) that avoids marshmallow's
per-field machinery. Nothing is converted: a valid change comes back as the
very dict passed in, so the bytes its signature covers are untouched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .collections import CASE_KINDS, CASE_STATUSES, COLLECTIONS, OUTCOMES, SERVER_FIELDS, STATUSES
from .errors import ChangeRejected
from .hlc import HLC_PATTERN
from .wire import (
    BAD_HLC,
    BAD_ID,
    BAD_TIMESTAMP,
    BAD_UUID,
    ID_PATTERN,
    LAT_E6,
    LON_E6,
    MAX_LIST,
    MAX_NOTES,
    MAX_PHONE,
    MAX_SAFE_INT,
    MAX_TEXT,
    MAX_TITLE,
    MISSING,
    NOT_BOOLEAN,
    NOT_INTEGER,
    NOT_LIST,
    NOT_MAPPING,
    NOT_NULL,
    NOT_OBJECT,
    NOT_STRING,
    SERVER_SET,
    SURROGATE,
    SURROGATE_PATTERN,
    TOO_BIG,
    TOO_DEEP,
    UNKNOWN,
    UUID_PATTERN,
    deeper_than,
    is_timestamp,
)

# A check takes a value and returns an error message (str, or for lists a
# dict of index → [message]) or None when the value is valid.
_Check = Callable[[Any], "str | dict[int, list[str]] | None"]


def _text(max_length: int, min_length: int = 0) -> _Check:
    def check(value: Any) -> str | None:
        if type(value) is not str:
            return NOT_STRING
        if not min_length <= len(value) <= max_length:
            if min_length:
                return f"Length must be between {min_length} and {max_length}."
            return f"Longer than maximum length {max_length}."
        if not value.isascii() and SURROGATE_PATTERN.search(value):
            return SURROGATE
        return None

    return check


def _pattern(pattern: re.Pattern[str], message: str) -> _Check:
    def check(value: Any) -> str | None:
        if type(value) is not str:
            return NOT_STRING
        return None if pattern.match(value) else message

    return check


def _integer(low: int, high: int) -> _Check:
    def check(value: Any) -> str | None:
        if type(value) is not int:
            return NOT_INTEGER
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            return TOO_BIG
        if not low <= value <= high:
            return f"Must be greater than or equal to {low} and less than or equal to {high}."
        return None

    return check


def _one_of(choices: tuple[str, ...]) -> _Check:
    allowed = frozenset(choices)

    def check(value: Any) -> str | None:
        if type(value) is not str:
            return NOT_STRING
        return None if value in allowed else f"Must be one of: {', '.join(choices)}."

    return check


def _timestamp(value: Any) -> str | None:
    if type(value) is not str:
        return NOT_STRING
    return None if is_timestamp(value) else BAD_TIMESTAMP


def _text_list(value: Any) -> str | dict[int, list[str]] | None:
    if type(value) is not list:
        return NOT_LIST
    item_errors = {}
    for index, item in enumerate(value):
        message = _TEXT(item)
        if message is not None:
            item_errors[index] = [message]
    if item_errors:
        return item_errors  # type: ignore[return-value]
    if len(value) > MAX_LIST:
        return f"Longer than maximum length {MAX_LIST}."
    return None


def _boolean(value: Any) -> str | None:
    return None if type(value) is bool else NOT_BOOLEAN


def _mapping(value: Any) -> str | None:
    return None if type(value) is dict else NOT_MAPPING


_ID = _pattern(ID_PATTERN, BAD_ID)
_UUID = _pattern(UUID_PATTERN, BAD_UUID)
_TEXT = _text(MAX_TEXT)
_NOTES = _text(MAX_NOTES)
_COUNT = _integer(0, MAX_SAFE_INT)

# collection → field → (check, nullable); mirrors sync.schemas' field schemas.
_FIELD_CHECKS: dict[str, dict[str, tuple[_Check, bool]]] = {
    "households": {
        "grid": (_ID, False),
        "address": (_TEXT, True),
        "head_name": (_TEXT, True),
        "members": (_COUNT, True),
        "tags": (_text_list, True),
        "phone": (_TEXT, True),
        "notes": (_NOTES, True),
    },
    "visits": {
        "household": (_ID, False),
        "visited_at": (_timestamp, False),
        "outcome": (_one_of(OUTCOMES), False),
        "needs": (_text_list, True),
        "hazards": (_text_list, True),
        "notes": (_NOTES, True),
        "lat_e6": (_integer(-LAT_E6, LAT_E6), True),
        "lon_e6": (_integer(-LON_E6, LON_E6), True),
    },
    "service_logs": {
        "volunteer": (_ID, False),
        "activity": (_ID, False),
        "started_at": (_timestamp, False),
        "minutes": (_integer(1, 720), False),
        "notes": (_NOTES, True),
        "status": (_one_of(STATUSES), False),
    },
    "cases": {
        "grid": (_ID, False),
        "kind": (_one_of(CASE_KINDS), False),
        "category": (_ID, False),
        "title": (_text(MAX_TITLE, 1), False),
        "detail": (_NOTES, True),
        "household": (_ID, True),
        "visit": (_ID, True),
        "reporter_name": (_TEXT, True),
        "reporter_phone": (_text(MAX_PHONE), True),
        "due_at": (_timestamp, True),
        "status": (_one_of(CASE_STATUSES), False),
        "assignee": (_ID, False),
        "resolution": (_text(MAX_NOTES, 1), False),
        "rating": (_integer(1, 5), False),
    },
}

# envelope key → (check, nullable); every one is required.
_ENVELOPE_CHECKS: dict[str, tuple[_Check, bool]] = {
    "op": (_UUID, False),
    "collection": (_one_of(COLLECTIONS), False),
    "id": (_UUID, False),
    "hlc": (_pattern(HLC_PATTERN, BAD_HLC), False),
    "base": (_COUNT, True),
    "fields": (_mapping, False),
    "deleted": (_boolean, False),
}
_ENVELOPE_KEYS = frozenset(_ENVELOPE_CHECKS) | {"sig"}


def _field_errors(collection: str, values: dict[Any, Any]) -> dict[Any, Any]:
    checks = _FIELD_CHECKS[collection]
    server_set = SERVER_FIELDS[collection]
    errors: dict[Any, Any] = {}
    for name, value in values.items():
        entry = checks.get(name)
        if entry is None:
            errors[name] = [SERVER_SET if name in server_set else UNKNOWN]
        elif value is None:
            if not entry[1]:
                errors[name] = [NOT_NULL]
        else:
            message = entry[0](value)
            if message is not None:
                errors[name] = message if type(message) is dict else [message]
    return errors


def _summary(errors: dict[Any, Any], prefix: str = "") -> list[str]:
    paths = []
    for key, value in errors.items():
        path = f"{prefix}{key}"
        paths.extend(_summary(value, f"{path}.") if isinstance(value, dict) else [path])
    return paths


def parse_change(raw: Any, *, shallow: bool = False) -> dict[str, Any]:
    """Validate one pushed change's envelope and fields; return it unchanged.

    Raises ``ChangeRejected("validation", message, fields=errors)`` with
    marshmallow-shaped ``errors``. Does not check the signature, the fields
    required on create, the sender's stamp or permissions. ``shallow``: the caller
    has found that ``raw`` nests at most ``MAX_DEPTH + 1`` levels (as the server's
    push does before anything else), so its fields nest at most ``MAX_DEPTH`` and
    are not walked again to find out.
    """
    if type(raw) is not dict:
        raise ChangeRejected("validation", "a change must be an object", {"_schema": [NOT_OBJECT]})
    errors: dict[Any, Any] = {}
    for key, (check, nullable) in _ENVELOPE_CHECKS.items():
        if key not in raw:
            errors[key] = [MISSING]
            continue
        value = raw[key]
        if value is None:
            if not nullable:
                errors[key] = [NOT_NULL]
            continue
        message = check(value)
        if message is not None:
            errors[key] = [message]
    if not raw.keys() <= _ENVELOPE_KEYS:
        for key in raw.keys() - _ENVELOPE_KEYS:
            errors[key] = [UNKNOWN]
    collection, values = raw.get("collection"), raw.get("fields")
    if type(values) is dict and not shallow and deeper_than(values):
        errors["fields"] = [TOO_DEEP]
    elif type(collection) is str and collection in _FIELD_CHECKS and type(values) is dict:
        field_errors = _field_errors(collection, values)
        if field_errors:
            errors["fields"] = field_errors
    if errors:
        paths = _summary(errors)
        more = f" and {len(paths) - 5} more" if len(paths) > 5 else ""
        raise ChangeRejected("validation", f"invalid {', '.join(paths[:5])}{more}", errors)
    return raw


