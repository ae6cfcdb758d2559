"""Wire schemas for sync: changes, their fields by collection, request and response.

The marshmallow schemas here are the documented definitions (the OpenAPI
document is generated from them). The server's hot path validates each pushed
change with ``parse_change`` (``sync.parse``, re-exported here) instead: a
hand-written validator for the same rules, tested for equivalence against
``ChangeSchema().load`` (same accept/reject, same error paths). On a typical
visit change it runs about 8× faster than the marshmallow load, under 5 % of
the cost of the Ed25519 check that follows it. Limits, patterns and messages
shared by both live in ``sync.wire``.

Rules beyond docs/protocol.md, chosen here:
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
- ``fields`` may nest objects and lists at most 32 levels deep (the fields
  object itself being the first): deeper is a ``validation`` error on
  ``fields`` alone, checked without recursion.
- ``sig`` is not examined here: a missing or malformed one is
  ``bad_signature`` (``sync.signing.verify_change``), not ``validation``.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields as mf
from marshmallow import validate

from .collections import CASE_KINDS, CASE_STATUSES, COLLECTIONS, OUTCOMES, STATUSES
from .hlc import HLC_PATTERN
from .parse import parse_change
from .wire import (
    BAD_HLC,
    BAD_ID,
    BAD_TIMESTAMP,
    BAD_UUID,
    DEFAULT_LIMIT,
    ID_PATTERN,
    LAT_E6,
    LON_E6,
    MAX_CHANGES,
    MAX_LIMIT,
    MAX_LIST,
    MAX_NOTES,
    MAX_PHONE,
    MAX_SAFE_INT,
    MAX_TEXT,
    MAX_TITLE,
    NOT_BOOLEAN,
    NOT_INTEGER,
    SURROGATE,
    SURROGATE_PATTERN,
    TOO_BIG,
    TOO_DEEP,
    UUID_PATTERN,
    deeper_than,
    is_timestamp,
)

__all__ = [
    "FIELD_SCHEMAS", "ChangeSchema", "DeviceUuid", "ErrorSchema", "EvictSchema", "Hlc",
    "CaseFields", "HouseholdFields", "Id", "RecordChangeSchema", "ResultSchema", "ServiceLogFields",
    "RawObjects", "StrictBoolean", "StrictInteger", "SyncRequestSchema", "SyncResponseSchema",
    "Text", "Timestamp", "VisitFields", "parse_change",
]

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
    if SURROGATE_PATTERN.search(value):
        raise ma.ValidationError(SURROGATE)


class Text(mf.String):
    """Free text of ``min_length`` to ``max_length`` characters, without lone surrogates."""

    def __init__(self, max_length: int = MAX_TEXT, *, min_length: int | None = None,
                 **kwargs: Any):
        kwargs["validate"] = [validate.Length(min=min_length, max=max_length), _no_surrogates]
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


class CaseFields(ma.Schema):
    """A case's fields as a device may send them (docs/protocol.md, Cases).

    ``status``, ``assignee``, ``resolution`` and ``rating`` belong to status
    steps only (``sync.cases``); the server-set fields (``difficulty``,
    ``created_by``, ``points``, the ``*_at`` dates...) are refused here.
    """

    grid = Id()
    kind = mf.String(validate=validate.OneOf(CASE_KINDS))
    category = Id()
    title = Text(MAX_TITLE, min_length=1)
    detail = Text(MAX_NOTES, allow_none=True)
    household = Id(allow_none=True)
    visit = Id(allow_none=True)
    reporter_name = Text(allow_none=True)
    reporter_phone = Text(MAX_PHONE, allow_none=True)
    due_at = Timestamp(allow_none=True)
    status = mf.String(validate=validate.OneOf(CASE_STATUSES))
    assignee = Id()
    resolution = Text(MAX_NOTES, min_length=1)
    rating = StrictInteger(validate=validate.Range(1, 5))


FIELD_SCHEMAS: dict[str, ma.Schema] = {
    "households": HouseholdFields(),
    "visits": VisitFields(),
    "service_logs": ServiceLogFields(),
    "cases": CaseFields(),
}


class ChangeSchema(ma.Schema):
    """One pushed change (docs/protocol.md, Sync → Change); ``fields`` by ``collection``."""

    op = mf.String(required=True, validate=DeviceUuid())
    collection = mf.String(required=True, validate=validate.OneOf(COLLECTIONS))
    id = mf.String(required=True, validate=DeviceUuid())
    hlc = Hlc(required=True)
    base = StrictInteger(required=True, allow_none=True, validate=validate.Range(min=0))
    fields = mf.Dict(required=True)  # type: ignore[assignment]
    deleted = StrictBoolean(required=True)
    sig = mf.String(metadata={"description": "Ed25519 over the canonical change without sig"})

    @ma.validates_schema(skip_on_field_errors=False)
    def _validate_fields(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "fields" in data and deeper_than(data["fields"]):
            raise ma.ValidationError([TOO_DEEP], field_name="fields")
        schema = FIELD_SCHEMAS.get(data.get("collection") or "")  # absent when invalid
        if schema is not None and "fields" in data:
            try:
                schema.load(data["fields"])
            except ma.ValidationError as exc:
                raise ma.ValidationError(exc.messages, field_name="fields") from exc


# -- request and response --------------------------------------------------------------


class RawObjects(mf.List):
    """``List(Dict())``: a list of JSON objects, each kept as sent (a shallow copy, as
    ``Dict`` makes). When every item is an object (always, from a well-behaved device)
    in one loop: marshmallow's per-item machinery costs about 3 µs an item, on every
    change of every push. Anything else is ``List(Dict())`` itself, with its errors."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(mf.Dict(), **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if type(value) is list and all(type(item) is dict for item in value):
            return [dict(item) for item in value]
        return super()._deserialize(value, attr, data, **kwargs)


class SyncRequestSchema(ma.Schema):
    """``POST /api/v1/sync``. Changes stay raw: each is validated on its own
    (``parse_change``) so one bad change never fails the request. At most
    ``MAX_CHANGES`` of them (the server answers 413 before this schema runs);
    each must be an object with a UUID ``op`` (else 400 for the whole request)."""

    cursor = mf.String(load_default=None, allow_none=True)
    changes = RawObjects(
        load_default=list,
        metadata={"description": "Change objects (see ChangeSchema), applied in order; "
                                 f"at most {MAX_CHANGES}"},
    )
    limit = StrictInteger(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))

    @ma.validates_schema
    def _ops_readable(self, data: dict[str, Any], **kwargs: Any) -> None:
        """A change whose ``op`` is not a UUID cannot get a result worth remembering:
        the request is malformed as a whole, and nothing is stored."""
        bad = {str(i): {"op": [BAD_UUID]} for i, change in enumerate(data.get("changes", []))
               if type(change.get("op")) is not str or not UUID_PATTERN.match(change["op"])}
        if bad:
            raise ma.ValidationError(bad, "changes")


class ErrorSchema(ma.Schema):
    code = mf.String(required=True)
    message = mf.String(required=True)
    fields = mf.Dict(metadata={"description": "field-level messages, for validation only"})  # type: ignore[assignment]


class ResultSchema(ma.Schema):
    """The result of one pushed change, in push order."""

    op = mf.String(required=True)
    status = mf.String(
        required=True, validate=validate.OneOf(("applied", "duplicate", "conflict", "rejected"))
    )
    version = mf.Integer()
    error = mf.Nested(ErrorSchema)


class RecordChangeSchema(ma.Schema):
    """A record's full current state in a pull (tombstones have ``fields: {}``).

    Pulls also carry read-only ``people`` records (``name``, ``role``, ``grids``).
    """

    collection = mf.String(required=True, validate=validate.OneOf((*COLLECTIONS, "people")))
    id = mf.String(required=True)
    version = mf.Integer(required=True)
    hlc = mf.String(required=True)
    fields = mf.Dict(required=True)  # type: ignore[assignment]
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
