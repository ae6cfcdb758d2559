"""parse_change and the sync request/response schemas: what is accepted and what is refused."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import marshmallow as ma
import pytest
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from sync import parse
from sync.collections import FIELD_NAMES, SERVER_FIELDS
from sync.errors import ChangeRejected
from sync.schemas import (
    FIELD_SCHEMAS,
    ChangeSchema,
    RawObjects,
    SyncRequestSchema,
    SyncResponseSchema,
    parse_change,
)
from sync.wire import parse_timestamp
from tests.sync.sync_support import load_vectors

V = load_vectors("protocol-v1.json")
VISIT = {**V["change"]["unsigned"], "sig": V["change"]["sig"]}
HOUSEHOLD = {
    "op": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a01",
    "collection": "households",
    "id": "0193a1b2-0000-7000-8000-000000000001",
    "hlc": "001795694400000:00000:dev_7Kq2",
    "base": 3,
    "fields": {"grid": "g_1", "members": 0, "tags": ["低保"], "phone": None},
    "deleted": False,
}
LOG = {
    **HOUSEHOLD,
    "collection": "service_logs",
    "fields": {"volunteer": "p_8f3k", "activity": "elderly_care",
               "started_at": "2026-11-26T09:30:00.250Z", "minutes": 720, "status": "recorded"},
}


def rejected(raw) -> ChangeRejected:
    with pytest.raises(ChangeRejected) as info:
        parse_change(raw)
    assert info.value.code == "validation"
    return info.value


def with_field(base: dict, **values) -> dict:
    change = copy.deepcopy(base)
    change["fields"].update(values)
    return change


@pytest.mark.parametrize("raw", [VISIT, HOUSEHOLD, LOG, {**HOUSEHOLD, "fields": {}}],
                         ids=["visit", "household", "log", "no fields"])
def test_valid_changes_come_back_unchanged(raw):
    before = copy.deepcopy(raw)
    assert parse_change(raw) is raw
    assert raw == before


def test_sig_is_not_parse_changes_business():
    # Missing or malformed sig is bad_signature (verify_change), never validation.
    parse_change({k: v for k, v in VISIT.items() if k != "sig"})
    parse_change({**VISIT, "sig": 12})


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({**HOUSEHOLD, "base": 1.0}, "base"),
        ({**HOUSEHOLD, "base": True}, "base"),
        ({**HOUSEHOLD, "base": -1}, "base"),
        ({**HOUSEHOLD, "base": "3"}, "base"),
        ({**HOUSEHOLD, "base": 2**53}, "base"),
        ({**HOUSEHOLD, "deleted": 0}, "deleted"),
        ({**HOUSEHOLD, "deleted": "false"}, "deleted"),
        ({**HOUSEHOLD, "deleted": None}, "deleted"),
        ({**HOUSEHOLD, "op": "0193A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A01"}, "op"),
        ({**HOUSEHOLD, "op": "0193a1b2c3d47e5f8a9b0c1d2e3f4a01"}, "op"),
        ({**HOUSEHOLD, "op": "{0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a01}"}, "op"),
        ({**HOUSEHOLD, "id": "h1"}, "id"),
        ({**HOUSEHOLD, "id": HOUSEHOLD["id"] + "\n"}, "id"),
        ({**HOUSEHOLD, "collection": "people"}, "collection"),
        ({**HOUSEHOLD, "collection": ["households"]}, "collection"),
        ({**HOUSEHOLD, "hlc": "1795694400000:00000:dev"}, "hlc"),
        ({**HOUSEHOLD, "fields": []}, "fields"),
        ({**HOUSEHOLD, "fields": None}, "fields"),
        ({**HOUSEHOLD, "extra": 1}, "extra"),
        ({k: v for k, v in HOUSEHOLD.items() if k != "hlc"}, "hlc"),
        ({k: v for k, v in HOUSEHOLD.items() if k != "base"}, "base"),
        ({k: v for k, v in HOUSEHOLD.items() if k != "deleted"}, "deleted"),
    ],
)
def test_envelope_errors(raw, path):
    error = rejected(raw)
    assert path in error.fields
    assert path in error.message


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (with_field(HOUSEHOLD, members=1.0), "members"),
        (with_field(HOUSEHOLD, members=2.5), "members"),
        (with_field(HOUSEHOLD, members=True), "members"),
        (with_field(HOUSEHOLD, members=-1), "members"),
        (with_field(HOUSEHOLD, members=2**53), "members"),
        (with_field(HOUSEHOLD, members=-(2**53)), "members"),
        (with_field(HOUSEHOLD, grid="g 1"), "grid"),
        (with_field(HOUSEHOLD, grid=""), "grid"),
        (with_field(HOUSEHOLD, grid="g" * 65), "grid"),
        (with_field(HOUSEHOLD, grid="g1\n"), "grid"),
        (with_field(HOUSEHOLD, grid=None), "grid"),
        (with_field(HOUSEHOLD, grid=7), "grid"),
        (with_field(HOUSEHOLD, address="x" * 501), "address"),
        (with_field(HOUSEHOLD, notes="x" * 4001), "notes"),
        (with_field(HOUSEHOLD, notes="\udc80"), "notes"),
        (with_field(HOUSEHOLD, tags="a"), "tags"),
        (with_field(HOUSEHOLD, tags=["a"] * 101), "tags"),
        (with_field(HOUSEHOLD, head_name=["x"]), "head_name"),
        (with_field(HOUSEHOLD, unknown="x"), "unknown"),
        (with_field(HOUSEHOLD, deleted=True), "deleted"),
        (with_field(LOG, recorded_by="p_1"), "recorded_by"),
        (with_field(LOG, verified_by="p_1"), "verified_by"),
        (with_field(LOG, verified_at="2026-11-26T12:00:00Z"), "verified_at"),
        (with_field(LOG, points=10), "points"),
        (with_field(LOG, minutes=0), "minutes"),
        (with_field(LOG, minutes=721), "minutes"),
        (with_field(LOG, minutes=60.0), "minutes"),
        (with_field(LOG, minutes=None), "minutes"),
        (with_field(LOG, status="approved"), "status"),
        (with_field(LOG, status=None), "status"),
        (with_field(LOG, started_at="2026-11-26T09:30:00"), "started_at"),
        (with_field(LOG, started_at="2026-11-26T09:30:00z"), "started_at"),
        (with_field(LOG, started_at="2026-11-26t09:30:00Z"), "started_at"),
        (with_field(LOG, started_at="2026-11-26T09:30:00+00:00"), "started_at"),
        (with_field(LOG, started_at="2026-11-26 09:30:00Z"), "started_at"),
        (with_field(LOG, started_at="2026-02-30T09:30:00Z"), "started_at"),
        (with_field(LOG, started_at="2026-11-26T24:00:00Z"), "started_at"),
        (with_field(LOG, started_at="2026-12-31T23:59:60Z"), "started_at"),
        (with_field(LOG, started_at="2026-11-26T09:30:00.1234567Z"), "started_at"),
        (with_field(LOG, started_at="２０２６-11-26T09:30:00Z"), "started_at"),
        (with_field(LOG, volunteer="p.8f3k"), "volunteer"),
        (with_field(VISIT, outcome="gone"), "outcome"),
        (with_field(VISIT, lat_e6=90_000_001), "lat_e6"),
        (with_field(VISIT, lon_e6=-180_000_001), "lon_e6"),
        (with_field(VISIT, lat_e6=27.3321), "lat_e6"),
        (with_field(VISIT, visited_at=None), "visited_at"),
    ],
)
def test_field_errors(raw, field):
    error = rejected(raw)
    assert field in error.fields["fields"]
    assert f"fields.{field}" in error.message


def test_server_set_fields_say_so():
    error = rejected(with_field(LOG, points=10, bogus=1))
    assert error.fields["fields"] == {"points": ["Set by the server."], "bogus": ["Unknown field."]}


def test_list_item_errors_name_the_item():
    error = rejected(with_field(VISIT, needs=["ok", 5, "x" * 501]))
    assert error.fields["fields"]["needs"].keys() == {1, 2}
    assert "fields.needs.1" in error.message


def test_every_error_is_reported_at_once():
    raw = {**with_field(HOUSEHOLD, members=-1, grid=None), "base": 1.5, "zzz": 1}
    raw.pop("op")
    error = rejected(raw)
    assert error.fields.keys() == {"op", "base", "zzz", "fields"}
    assert error.fields["fields"].keys() == {"members", "grid"}


@pytest.mark.parametrize(
    "values",
    [
        {"address": "x" * 500, "notes": "x" * 4000, "tags": ["y" * 500] * 100},
        {"notes": "NUL \x00 and 中文 and emoji 🏠 are fine"},
        {"address": None, "head_name": None, "members": None, "tags": None, "phone": None,
         "notes": None},
        {"members": 2**53 - 1, "tags": []},
    ],
)
def test_edges_that_are_fine(values):
    parse_change(with_field(HOUSEHOLD, **values))


@pytest.mark.parametrize("stamp", ["2026-11-26T09:30:00Z", "2024-02-29T23:59:59.999999Z",
                                   "0001-01-01T00:00:00.5Z"])
def test_good_timestamps(stamp):
    parse_change(with_field(LOG, started_at=stamp))


def test_parse_timestamp():
    assert parse_timestamp("2026-11-26T09:30:00.25Z") == datetime(
        2026, 11, 26, 9, 30, 0, 250_000, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_timestamp("2026-11-26T09:30:00")


@pytest.mark.parametrize("raw", [None, [], "change", 3, [("op", "x")]])
def test_non_objects(raw):
    assert rejected(raw).fields == {"_schema": ["Invalid input type."]}


def test_marshmallow_schemas_agree_on_the_vector_and_keep_strings():
    loaded = ChangeSchema().load(VISIT)
    assert loaded == VISIT
    assert isinstance(loaded["fields"]["visited_at"], str)


def test_field_names_match_the_rules():
    for collection, schema in FIELD_SCHEMAS.items():
        assert set(schema.fields) == FIELD_NAMES[collection]
        assert set(parse._FIELD_CHECKS[collection]) == FIELD_NAMES[collection]
        assert not SERVER_FIELDS[collection] & FIELD_NAMES[collection]


# -- request and response ------------------------------------------------------------


def test_sync_request_defaults():
    assert SyncRequestSchema().load({}) == {"cursor": None, "changes": [], "limit": 500}


def test_sync_request_keeps_changes_raw():
    bad = {"op": "0190f0c0-0000-4000-8000-000000000001", "collection": "nope"}
    loaded = SyncRequestSchema().load({"cursor": "abc", "changes": [VISIT, bad], "limit": 5000})
    assert loaded["changes"] == [VISIT, bad]


@pytest.mark.parametrize(
    "body",
    [
        {"limit": 0}, {"limit": 5001}, {"limit": 10.0}, {"limit": True}, {"limit": None},
        {"cursor": 5}, {"changes": {}}, {"changes": [1]}, {"changes": [{"collection": "x"}]},
        {"changes": [{"op": 7}]}, {"changes": [{"op": "not-a-uuid"}]}, {"extra": 1},
    ],
)
def test_sync_request_errors(body):
    with pytest.raises(ma.ValidationError):
        SyncRequestSchema().load(body)


class _ListOfDicts(ma.Schema):
    changes = ma.fields.List(ma.fields.Dict())


class _RawObjects(ma.Schema):
    changes = RawObjects()


def _loaded(schema: ma.Schema, value):
    try:
        return ("ok", schema.load({"changes": value}))
    except ma.ValidationError as exc:
        return ("error", exc.messages, exc.valid_data)


@pytest.mark.parametrize("value", [
    [], [VISIT, HOUSEHOLD], [{}], [VISIT, 1], [None], [[]], ["x", {"a": 1}], {}, "x", None, 5,
    [VISIT] * 3 + [None, "x", [1]]])
def test_raw_objects_loads_as_a_list_of_dicts_does(value):
    """RawObjects' one loop over a list of objects: the same result and the same errors
    as List(Dict()), and each object a copy (Dict's), not the one sent."""
    assert _loaded(_RawObjects(), value) == _loaded(_ListOfDicts(), value)
    if _loaded(_RawObjects(), value)[0] == "ok" and value:
        loaded = _RawObjects().load({"changes": value})["changes"]
        assert all(a == b and a is not b for a, b in zip(loaded, value, strict=True))


def test_response_schema_dumps_a_response():
    response = {
        "results": [{"op": "o1", "status": "applied", "version": 1},
                    {"op": "o2", "status": "rejected",
                     "error": {"code": "validation", "message": "bad", "fields": {"x": ["y"]}}}],
        "changes": [{"collection": "households", "id": "h", "version": 1,
                     "hlc": "001795694400000:00000:dev_7Kq2", "fields": {"grid": "g"},
                     "deleted": False}],
        "evict": [{"collection": "visits", "id": "v"}],
        "cursor": "c", "has_more": False, "server_time": "2026-11-26T12:00:00Z",
    }
    assert SyncResponseSchema().dump(response) == response


def test_openapi_document_builds():
    spec = APISpec("gridsync", "1", "3.0.3", plugins=[MarshmallowPlugin()])
    for schema in (ChangeSchema, SyncRequestSchema, SyncResponseSchema,
                   *(type(s) for s in FIELD_SCHEMAS.values())):
        spec.components.schema(schema.__name__, schema=schema)
    components = spec.to_dict()["components"]["schemas"]
    change = components["ChangeSchema"]["properties"]
    assert change["base"]["type"] == "integer"
    assert change["deleted"]["type"] == "boolean"
    assert "pattern" in change["op"] and "pattern" in change["hlc"]
    assert components["ServiceLogFields"]["properties"]["minutes"]["maximum"] == 720
    assert components["VisitFields"]["properties"]["notes"]["maxLength"] == 4000


def test_message_names_the_first_paths_only():
    error = rejected(with_field(HOUSEHOLD, tags=[1] * 100))
    assert error.message == (
        "invalid fields.tags.0, fields.tags.1, fields.tags.2, fields.tags.3, fields.tags.4"
        " and 95 more"
    )
