"""Wire schemas for sync: changes, their fields by collection, request and response.

The marshmallow schemas here are the documented definitions (the OpenAPI
document is generated from them). The server's hot path validates each pushed
change with ``parse_change`` instead: a hand-written validator for the same
rules, about 25× faster than ``ChangeSchema().load`` and tested for
equivalence against it (same accept/reject, same error paths). Nothing is
converted: a valid change comes back as the very dict passed in, so the bytes
its signature covers are untouched.

Rules beyond PROTOCOL.md, chosen here:
- Integers are JSON integers only: not floats (``1.0`` too), not booleans,
  and |n| ≤ 2^53−1.
- Strings are at most 500 characters (Unicode code points), ``notes`` at most
  4000; lists hold at most 100 strings of at most 500 characters. Strings may
  hold any character, NUL included, but not lone surrogates (they cannot be
  encoded as UTF-8, so cannot be signed or stored).
- Timestamps are ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``: upper-case ``T`` and
  ``Z``, 0–6 fraction digits, a real calendar date and time (no leap second).
- A change's ``op`` and ``id`` are lowercase UUIDs (records are made on
  devices); references (``grid``, ``household``, ``volunteer``,
  ``activity``) are ids, ``[A-Za-z0-9_-]{1,64}``.
- Fields required on create (``grid``; a visit's ``household``,
  ``visited_at``, ``outcome``; a log's ``volunteer``, ``activity``,
  ``started_at``, ``minutes``, and ``status``) may not be set to null;
  every other field may (null clears it).
- ``sig`` is not examined here: a missing or malformed one is
  ``bad_signature`` (``sync.signing.verify_change``), not ``validation``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields as mf
from marshmallow import validate

from .collections import COLLECTIONS, SERVER_FIELDS, STATUSES
from .errors import ChangeRejected
from .hlc import HLC_PATTERN

MAX_SAFE_INT = 2**53 - 1
MAX_TEXT = 500
MAX_NOTES = 4000
MAX_LIST = 100
MAX_LIMIT = 5000
DEFAULT_LIMIT = 500
OUTCOMES = ("met", "not_home", "refused")
LAT_E6 = 90_000_000
LON_E6 = 180_000_000

ID_PATTERN = re.compile(r"\A[A-Za-z0-9_-]{1,64}\Z")
UUID_PATTERN = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
TIMESTAMP_PATTERN = re.compile(
    r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?Z\Z"
)
_SURROGATE = re.compile("[\ud800-\udfff]")

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
BAD_HLC = "Not an hlc stamp (<15-digit ms>:<5-digit counter>:<device>)."


def is_timestamp(value: str) -> bool:
    """Whether ``value`` is a timestamp as this module defines it."""
    if TIMESTAMP_PATTERN.match(value) is None:
        return False
    try:
        datetime.fromisoformat(value[:-1])
    except ValueError:
        return False
    return True


def parse_timestamp(value: str) -> datetime:
    """A valid timestamp as an aware UTC ``datetime`` (``ValueError`` otherwise)."""
    if not is_timestamp(value):
        raise ValueError(f"not a timestamp: {value!r}")
    return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)


# -- marshmallow fields and validators ------------------------------------------------


class StrictInteger(mf.Integer):
    """A JSON integer: refuses floats (``1.0`` too), booleans, strings and |n| > 2^53−1."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if type(value) is not int:
            raise ma.ValidationError(NOT_INTEGER)
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            raise ma.ValidationError(TOO_BIG)
        return value


class StrictBoolean(mf.Boolean):
    """A JSON boolean only (marshmallow's ``Boolean`` also takes ``1``, ``"yes"``...)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if type(value) is not bool:
            raise ma.ValidationError(NOT_BOOLEAN)
        return value


def _no_surrogates(value: str) -> None:
    if _SURROGATE.search(value):
        raise ma.ValidationError(SURROGATE)


class Text(mf.String):
    """Free text of at most ``max_length`` characters, without lone surrogates."""

    def __init__(self, max_length: int = MAX_TEXT, **kwargs: Any):
        kwargs["validate"] = [validate.Length(max=max_length), _no_surrogates]
        super().__init__(**kwargs)


class Id(mf.String):
    """An id: ``[A-Za-z0-9_-]``, 1–64 characters."""

    def __init__(self, **kwargs: Any):
        super().__init__(validate=validate.Regexp(ID_PATTERN, error=BAD_ID), **kwargs)


class DeviceUuid(validate.Regexp):
    """Validator: a lowercase UUID, 8-4-4-4-12 hex (any version; v7 preferred)."""

    def __init__(self) -> None:
        super().__init__(UUID_PATTERN, error=BAD_UUID)


class Timestamp(mf.String):
    """An RFC 3339 UTC time ending in ``Z``, kept as the string (it is signed as sent)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not is_timestamp(text):
            raise ma.ValidationError(BAD_TIMESTAMP)
        return text


class Hlc(mf.String):
    """A hybrid logical clock stamp (``sync.hlc``)."""

    def __init__(self, **kwargs: Any):
        super().__init__(validate=validate.Regexp(HLC_PATTERN, error=BAD_HLC), **kwargs)


def _texts(**kwargs: Any) -> mf.List:
    return mf.List(Text(), validate=validate.Length(max=MAX_LIST), **kwargs)


# -- field schemas, one per collection ------------------------------------------------


class HouseholdFields(ma.Schema):
    """A household's fields; mutable, merged per field."""

    grid = Id()
    address = Text(allow_none=True)
    head_name = Text(allow_none=True)
    members = StrictInteger(allow_none=True, validate=validate.Range(min=0))
    tags = _texts(allow_none=True)
    phone = Text(allow_none=True)
    notes = Text(MAX_NOTES, allow_none=True)


class VisitFields(ma.Schema):
    """A door-knock visit's fields; written once."""

    household = Id()
    visited_at = Timestamp()
    outcome = mf.String(validate=validate.OneOf(OUTCOMES))
    needs = _texts(allow_none=True)
    hazards = _texts(allow_none=True)
    notes = Text(MAX_NOTES, allow_none=True)
    lat_e6 = StrictInteger(allow_none=True, validate=validate.Range(-LAT_E6, LAT_E6))
    lon_e6 = StrictInteger(allow_none=True, validate=validate.Range(-LON_E6, LON_E6))


class ServiceLogFields(ma.Schema):
    """A volunteer service log's fields, as a device may set them.

    The server sets ``recorded_by``, ``verified_by``, ``verified_at`` and
    ``points``; a change naming one is refused.
    """

    volunteer = Id()
    activity = Id()
    started_at = Timestamp()
    minutes = StrictInteger(validate=validate.Range(1, 720))
    notes = Text(MAX_NOTES, allow_none=True)
    status = mf.String(validate=validate.OneOf(STATUSES))


FIELD_SCHEMAS: dict[str, ma.Schema] = {
    "households": HouseholdFields(),
    "visits": VisitFields(),
    "service_logs": ServiceLogFields(),
}


class ChangeSchema(ma.Schema):
    """One pushed change (PROTOCOL.md, Sync → Change); ``fields`` by ``collection``."""

    op = mf.String(required=True, validate=DeviceUuid())
    collection = mf.String(required=True, validate=validate.OneOf(COLLECTIONS))
    id = mf.String(required=True, validate=DeviceUuid())
    hlc = Hlc(required=True)
    base = StrictInteger(required=True, allow_none=True, validate=validate.Range(min=0))
    fields = mf.Dict(required=True)
    deleted = StrictBoolean(required=True)
    sig = mf.String(metadata={"description": "Ed25519 over the canonical change without sig"})

    @ma.validates_schema(skip_on_field_errors=False)
    def _validate_fields(self, data: dict[str, Any], **kwargs: Any) -> None:
        schema = FIELD_SCHEMAS.get(data.get("collection"))  # absent when invalid
        if schema is not None and "fields" in data:
            try:
                schema.load(data["fields"])
            except ma.ValidationError as exc:
                raise ma.ValidationError(exc.messages, field_name="fields") from exc


# -- the fast path ---------------------------------------------------------------------

# A check takes a value and returns an error message (str, or for lists a
# dict of index → [message]) or None when the value is valid.
_Check = Callable[[Any], "str | dict[int, list[str]] | None"]


def _text(max_length: int) -> _Check:
    def check(value: Any) -> str | None:
        if type(value) is not str:
            return NOT_STRING
        if len(value) > max_length:
            return f"Longer than maximum length {max_length}."
        if not value.isascii() and _SURROGATE.search(value):
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
        return item_errors
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

# collection → field → (check, nullable); mirrors the field schemas above.
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


def parse_change(raw: Any) -> dict[str, Any]:
    """Validate one pushed change's envelope and fields; return it unchanged.

    Raises ``ChangeRejected("validation", message, fields=errors)`` with
    marshmallow-shaped ``errors``. Does not check the signature, the fields
    required on create, the sender's stamp or permissions.
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
    if type(collection) is str and collection in _FIELD_CHECKS and type(values) is dict:
        field_errors = _field_errors(collection, values)
        if field_errors:
            errors["fields"] = field_errors
    if errors:
        raise ChangeRejected("validation", "invalid " + ", ".join(_summary(errors)), errors)
    return raw


# -- request and response --------------------------------------------------------------


def _ops_readable(changes: list[dict[str, Any]]) -> None:
    """A change without a string ``op`` cannot get a result: the request is malformed."""
    if any(type(change.get("op")) is not str for change in changes):
        raise ma.ValidationError("every change needs a string op")


class SyncRequestSchema(ma.Schema):
    """``POST /api/v1/sync``. Changes stay raw: each is validated on its own
    (``parse_change``) so one bad change never fails the request."""

    cursor = mf.String(load_default=None, allow_none=True)
    changes = mf.List(
        mf.Dict(),
        load_default=list,
        validate=_ops_readable,
        metadata={"description": "Change objects (see ChangeSchema), applied in order"},
    )
    limit = StrictInteger(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))


class ErrorSchema(ma.Schema):
    code = mf.String(required=True)
    message = mf.String(required=True)
    fields = mf.Dict(metadata={"description": "field-level messages, for validation only"})


class ResultSchema(ma.Schema):
    """The result of one pushed change, in push order."""

    op = mf.String(required=True)
    status = mf.String(
        required=True, validate=validate.OneOf(("applied", "duplicate", "conflict", "rejected"))
    )
    version = mf.Integer()
    error = mf.Nested(ErrorSchema)


class RecordChangeSchema(ma.Schema):
    """A record's full current state in a pull (tombstones have ``fields: {}``)."""

    collection = mf.String(
        required=True, validate=validate.OneOf((*COLLECTIONS, "people"))
    )
    id = mf.String(required=True)
    version = mf.Integer(required=True)
    hlc = mf.String(required=True)
    fields = mf.Dict(required=True)
    deleted = mf.Boolean(required=True)


class EvictSchema(ma.Schema):
    """A record the device must drop: it left the device's scope."""

    collection = mf.String(required=True)
    id = mf.String(required=True)


class SyncResponseSchema(ma.Schema):
    results = mf.List(mf.Nested(ResultSchema), required=True)
    changes = mf.List(mf.Nested(RecordChangeSchema), required=True)
    evict = mf.List(mf.Nested(EvictSchema), required=True)
    cursor = mf.String(required=True)
    has_more = mf.Boolean(required=True)
    server_time = Timestamp(required=True)
