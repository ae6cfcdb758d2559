"""Form posts checked by the API's own schemas, with messages shown beside each field.

A set-up form is loaded with the same marshmallow schema as its API endpoint
(``server.api.schemas``) and then handed to the same service, so the pages hold no
second copy of any rule. ``field_errors`` turns the schema's and the services'
English messages into short sentences in the reader's language.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, validate

from sync.wire import MAX_SAFE_INT, TOO_BIG

from ..errors import ApiError
from ..fields import NOT_IN_NAMES

#: Messages from the schemas and services, as people should read them.
_EXACT = {
    "Missing data for required field.": _l("Please fill this in."),
    "Field may not be null.": _l("Please fill this in."),
    "Shorter than minimum length 1.": _l("Please fill this in."),
    "Longer than maximum length 200.": _l("At most 200 characters."),
    "Not a valid integer.": _l("Enter a whole number."),
    "Not a valid string.": _l("Please fill this in."),
    "Unknown field.": _l("This cannot be changed here."),
    "no such grid": _l("There is no such grid."),
    "no such shop": _l("There is no such shop."),
    "no such person": _l("There is no such person."),
    "person is inactive": _l("This person is deactivated."),
    "a person's grids must lie in one community": _l(
        "All of a person's grids must be in one community."),
    "must lie in the shop's community": _l("The grids must be in the shop's community."),
    "must be a community (a grid with no parent)": _l("Choose a community."),
    "a grid in the same place has this name": _l(
        "Another grid in the same place already has this name: choose a different one."),
    "cannot deactivate the last active admin": _l(
        "This is the last active administrator: it cannot be deactivated."),
    "required for role shop": _l("Shop staff need a shop."),
    "only for role shop": _l("Only shop staff belong to a shop."),
    "unknown time zone": _l("Unknown time zone (for example Asia/Shanghai)."),
    NOT_IN_NAMES: _l("A name cannot hold control characters or invisible formatting "
                     "characters (they may come with pasted text: type it again)."),
    "admins and auditors do not enrol devices": _l(
        "Administrators and auditors do not enrol phones."),
    "Longer than maximum length 500.": _l("Too many."),
    "Enter dates as YYYY-MM-DD.": _l("Enter dates as YYYY-MM-DD (for example 2026-12-01)."),
    "Enter dates from 1970 to 9998.": _l("Enter dates from 1970 to 9998."),
    "The start date is after the end date.": _l("The “from” date is after the “to” date."),
    "unknown case status": _l("Choose a case status from the list."),
    "More rows than one file holds: choose a shorter date range.": _l(
        "Too many rows for one file: choose a shorter date range (or one grid) and export it "
        "in parts."),
}
_PATTERNS = [
    (re.compile(r"^must match"), _l("Use 1 to 64 letters a-z, digits, - or _ (no spaces).")),
    (re.compile(r"^no such grid"), _l("There is no such grid.")),
    (re.compile(r"^a (worker|volunteer) needs at least one grid"), _l("Choose at least one grid.")),
    (re.compile(r"^Length must be between 1 and"),
     _l("Please fill this in (at most 200 characters).")),
    (re.compile(r"^Length must be between"), _l("Too many.")),
]


_AT_LEAST = re.compile(r"^Must be greater than or equal to (-?\d+)(?: and less than or equal "
                       r"to (-?\d+))?\.$")


def _range_text(low: int | None, high: int | None) -> str:
    """The whole numbers a field allows, as people read them (1,000 not 1000)."""
    shown = {"low": "" if low is None else format(low, ","),
             "high": "" if high is None else format(high, ",")}
    if low is not None and high is not None:
        return str(_l("Enter a whole number from %(low)s to %(high)s.", **shown))
    if low is not None:
        return str(_l("Enter a whole number of at least %(low)s.", **shown))
    return str(_l("Enter a whole number of at most %(high)s.", **shown))


def _field_range(field: Any) -> tuple[int, int]:
    """The range a schema's integer field allows: its Range validators within the
    largest whole number the wire carries."""
    low, high = -MAX_SAFE_INT, MAX_SAFE_INT
    for check in getattr(field, "validators", []):
        if isinstance(check, validate.Range):
            low = max(low, check.min) if check.min is not None else low
            high = min(high, check.max) if check.max is not None else high
    return low, high


def _message(raw: Any) -> str:
    """One readable sentence from a schema or service message (or a nested dict of them)."""
    while isinstance(raw, Mapping):
        raw = next(iter(raw.values()), "")
    if isinstance(raw, list):
        raw = raw[0] if raw else ""
        if isinstance(raw, (Mapping, list)):
            return _message(raw)
    text = str(raw)
    if text in _EXACT:
        return str(_EXACT[text])
    bound = _AT_LEAST.match(text)
    if bound:
        return _range_text(int(bound[1]), int(bound[2]) if bound[2] else None)
    if text == TOO_BIG:
        return _range_text(-MAX_SAFE_INT, MAX_SAFE_INT)
    for pattern, message in _PATTERNS:
        if pattern.match(text):
            return str(message)
    return text


def field_errors(fields: Mapping[str, Any] | None) -> dict[str, str]:
    """field → one message; a problem with the whole form is under ``_form``."""
    out: dict[str, str] = {}
    for name, raw in (fields or {}).items():
        out["_form" if name == "_schema" else str(name)] = _message(raw)
    return out


def load(schema: Schema, data: dict) -> tuple[dict | None, dict[str, str]]:
    """(validated data, {}) or (None, field errors)."""
    try:
        return schema.load(data), {}
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        errors = field_errors(messages)
        for name, raw in messages.items():  # too big for the wire: say the field's own range
            if isinstance(raw, list) and raw[:1] == [TOO_BIG] and name in schema.fields:
                errors[str(name)] = _range_text(*_field_range(schema.fields[name]))
        return None, errors


def service_errors(exc: ApiError) -> dict[str, str]:
    """A service's ValidationFailed as field messages (or a form-wide one)."""
    if exc.fields:
        return field_errors(exc.fields)
    return {"_form": _message(exc.message)}


def text(name: str, limit: int = 200) -> str:
    """A posted text field, trimmed and cut to ``limit`` characters."""
    return request.form.get(name, "").strip()[:limit]


def whole_number(name: str) -> int | str:
    """A posted number as an int when it is one (else the text, for the schema to refuse)."""
    raw = text(name, 30).replace(",", "").replace("，", "")
    return int(raw) if re.fullmatch(r"-?[0-9]+", raw) else raw  # too big: the schema says


def new_id(prefix: str) -> str:
    """An id for a form that left it blank: ``<prefix>-`` and 8 random hex digits."""
    return f"{prefix}-{secrets.token_hex(4)}"
