"""Bounds inside one change (issue 14 items 5 and 7): fields nested deeper than 32
levels, or a change larger than 64 KiB, reject that change alone (`validation`); the
rest of the batch goes on, nothing answers 500, and what is remembered of the rejected
op is small. A change ~965 levels deep used to pass the body parser and then overflow
the recursion limit when the op was stored: a 500, and the device's queue stuck."""

from __future__ import annotations

import hashlib
import json

import pytest

from primitives.canonical import canonical
from server.services.sync.push import MAX_CHANGE_BYTES
from sync.signing import unsigned_form
from sync.wire import MAX_DEPTH, deeper_than
from tests.helpers import raw_db


def nested(levels: int) -> object:
    value: object = "x"
    for _ in range(levels):
        value = [value]
    return value


@pytest.fixture
def w1(api, world):
    return api.enroll("w1")


def stored_change(data_dir, op):
    with raw_db(data_dir) as db:
        row = db.execute("SELECT change, status, error_code FROM ops WHERE op = ?",
                         (op,)).fetchone()
    return json.loads(row[0]), row[1], row[2]


def test_deeper_than_counts_levels_without_recursion():
    assert not deeper_than({"a": nested(MAX_DEPTH - 1)})  # the object is level 1
    assert deeper_than({"a": nested(MAX_DEPTH)})
    assert deeper_than(nested(100_000))  # no RecursionError


def deepest_body(api, token) -> int:
    """The deepest nesting the body parser accepts here (it stops at Python's recursion
    limit, which depends on how deep the stack already is): a change nested almost that
    deep reaches the push, where storing it used to overflow the recursion limit."""
    def parses(levels: int) -> bool:
        body = '{"cursor": null, "changes": [], "limit": ' + "[" * levels + "]" * levels + "}"
        resp = api.client.post("/api/v1/sync", data=body.encode(), headers={
            **api.headers(token), "Content-Type": "application/json"})
        return resp.get_json()["error"]["code"] == "validation"

    low, high = 100, 5000
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if parses(mid) else (low, mid)
    return low


@pytest.mark.parametrize("where", ["fields", "base", "sig", "extra key"])
@pytest.mark.parametrize("depth", ["40 levels", "as deep as the body parser allows"])
def test_a_deeply_nested_change_is_rejected_alone(api, w1, data_dir, where, depth):
    levels = 40 if depth == "40 levels" else deepest_body(api, w1.token) - 5
    good = w1.change("households", {"grid": "g1"})
    deep = w1.change("households", {"grid": "g1"})
    if where == "fields":
        deep["fields"]["notes"] = "@DEEP@"
    else:
        deep["x" if where == "extra key" else where] = "@DEEP@"
    # Spelled out by hand: json.dumps itself cannot nest 965 levels deep.
    body = json.dumps({"cursor": None, "changes": [deep, good]}).replace(
        '"@DEEP@"', "[" * levels + '"x"' + "]" * levels).encode()
    resp = api.client.post("/api/v1/sync", data=body, headers={
        **api.headers(w1.token), "Content-Type": "application/json"})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    first, second = resp.get_json()["results"]
    assert first["status"] == "rejected" and first["error"]["code"] == "validation"
    assert second["status"] == "applied"
    change, status, code = stored_change(data_dir, deep["op"])
    assert (status, code) == ("rejected", "validation")
    assert len(json.dumps(change)) < 1000
    resp = api.client.post("/api/v1/sync", data=body, headers={
        **api.headers(w1.token), "Content-Type": "application/json"})
    again = resp.get_json()["results"][0]  # the same op again: the same answer, no 500
    assert again["status"] == "duplicate" and again["error"]["code"] == "validation"


def test_the_deepest_fields_allowed_still_get_their_ordinary_answer(api, w1):
    change = w1.change("households", {"grid": "g1", "tags": nested(MAX_DEPTH - 1)})
    result = w1.sync([change])["results"][0]
    assert result["error"]["code"] == "validation"
    assert "Nested deeper" not in json.dumps(result)  # rejected for its type, not its depth
    change = w1.change("households", {"grid": "g1", "tags": nested(MAX_DEPTH)})
    assert "Nested deeper" in json.dumps(w1.sync([change])["results"][0])


def test_a_change_over_64_kib_is_rejected_alone_and_not_stored_whole(api, w1, data_dir):
    good = w1.change("households", {"grid": "g1"})
    big = w1.change("households", {"grid": "g1", "x": "长" * (MAX_CHANGE_BYTES // 2)})
    out = w1.sync([big, good])
    assert [r["status"] for r in out["results"]] == ["rejected", "applied"]
    assert out["results"][0]["error"]["code"] == "validation"
    change, _, _ = stored_change(data_dir, big["op"])
    assert len(json.dumps(change)) < 1000


def test_a_list_item_of_the_wrong_type_is_rejected_with_its_index_as_a_string(api, w1):
    """Found on the way: a non-string tag answered 500 (the per-change error's fields
    were keyed by the int index, which the response encoder refused)."""
    result = w1.sync([w1.change("households", {"grid": "g1", "tags": ["ok", 5]})])
    error = result["results"][0]["error"]
    assert error["code"] == "validation" and error["fields"] == {
        "fields": {"tags": {"1": ["Not a valid string."]}}}


def stored_digest(data_dir, op):
    with raw_db(data_dir) as db:
        return db.execute("SELECT digest FROM ops WHERE op = ?", (op,)).fetchone()[0]


def test_an_ops_digest_is_that_of_the_canonical_form_valid_or_not(api, w1, data_dir):
    """A valid change's signed bytes come from orjson (canonical_allowed), an invalid
    one's from canonical: both are the canonical form the device signed, so a valid
    change with escapes and CJK verifies and both digests are canonical's."""
    text = "李大爷\n\t\"\\\x00\x1f\u2028😀"
    valid = w1.change("households", {"grid": "g1", "notes": text, "tags": [text]})
    floats = w1.change("households", {"grid": "g1", "members": 1e-7})  # orjson: "1e-7"
    big = w1.change("households", {"grid": "g1", "members": 0.5,
                                   "notes": "长" * (MAX_CHANGE_BYTES // 2)})
    results = w1.sync([valid, floats, big])["results"]
    assert [r["status"] for r in results] == ["applied", "rejected", "rejected"]
    assert "Not a valid integer" in json.dumps(results[1])
    assert results[2]["error"]["message"] == f"change is larger than {MAX_CHANGE_BYTES} bytes"
    for change in (valid, floats, big):
        assert stored_digest(data_dir, change["op"]) == hashlib.sha256(
            canonical(unsigned_form(change))).hexdigest()
    with raw_db(data_dir) as db:  # the rejected change kept as json.dumps spells it
        assert '"members":1e-07' in db.execute("SELECT change FROM ops WHERE op = ?",
                                               (floats["op"],)).fetchone()[0]


def _depth(value: object) -> int:
    """Nesting depth by recursion (a plain reference for deeper_than)."""
    if type(value) is dict:
        return 1 + max(map(_depth, value.values()), default=0)
    if type(value) is list:
        return 1 + max(map(_depth, value), default=0)
    return 0


@pytest.mark.parametrize("value", [
    "x", 5, None, [], {}, [[]], {"a": {}}, {"a": [1, "x", {"b": [None]}]},
    {"a": nested(3), "b": "x", "c": [nested(5), {"d": nested(2)}]}, [nested(7), nested(9)],
    {"a": nested(MAX_DEPTH - 1), "b": [{"c": 1}]}])
def test_deeper_than_is_the_nesting_depth_against_a_limit(value):
    for limit in range(0, 12):
        assert deeper_than(value, limit) == (_depth(value) > limit), (value, limit)
