"""parse_change (the fast path) against ChangeSchema (the documented definition).

For any input both must agree on valid/invalid and, when invalid, name the
same error paths; a valid change comes back as it went in. The one deliberate
difference: ``sig`` is never examined by parse_change (a bad one is
``bad_signature``), so it is left out of what the schema is given.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.collections import COLLECTIONS, FIELD_NAMES, SERVER_FIELDS
from sync.errors import ChangeRejected
from sync.hlc import format_hlc
from sync.schemas import ChangeSchema, parse_change

SCHEMA = ChangeSchema()

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=3),
    max_leaves=6,
)


def mostly(valid: st.SearchStrategy[Any], tricky: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid values most of the time, so valid changes and single errors are common."""
    pick = {"valid": valid, "tricky": tricky, "junk": json_values}
    return st.sampled_from(["valid"] * 12 + ["tricky", "junk"]).flatmap(pick.__getitem__)


ids = st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z")
bad_ids = st.sampled_from(["", "g 1", "g1\n", "x" * 65, "中", "a.b"])
uuids = st.uuids().map(str)
bad_uuids = st.sampled_from([
    "0193A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B", "0193a1b2c3d47e5f8a9b0c1d2e3f4a5b",
    "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\n", "g1",
])
stamps = st.builds(format_hlc, st.integers(0, 10**15 - 1), st.integers(0, 99_999), ids)
bad_stamps = st.sampled_from([
    "1795694400000:00003:dev", "001795694400000:00003:dev\n", "001795694400000:3:dev",
    "001795694400000:00003:", "001795694400000:00003:d v",
])
times = st.builds(
    lambda moment, fraction: moment.isoformat(timespec="seconds") + fraction + "Z",
    st.datetimes(),
    st.sampled_from(["", ".5", ".123456"]),
)
bad_times = st.sampled_from([
    "2026-11-26T12:00:00", "2026-11-26T12:00:00z", "2026-02-30T12:00:00Z",
    "2026-11-26T12:00:00+00:00", "2026-11-26T25:00:00Z", "2026-11-26T12:00:00.1234567Z",
])
bad_integers = st.sampled_from([2**53, -(2**53), 1.0, 60.0, 0.5, True, False, "1"])


def integers(low: int, high: int) -> st.SearchStrategy[Any]:
    return mostly(st.integers(low, high), bad_integers | st.sampled_from([low - 1, high + 1]))


def texts(max_size: int) -> st.SearchStrategy[Any]:
    long = st.sampled_from(["x" * max_size, "x" * (max_size + 1), "\ud800", "a\x00b"])
    return mostly(st.text(max_size=8), long)


text_lists = mostly(
    st.lists(st.text(max_size=5), max_size=4),
    st.sampled_from([["t"] * 100, ["t"] * 101, ["t"] * 101 + [1], ["\ud800"], [None]]),
)


def choice(options: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return mostly(st.sampled_from(options), st.sampled_from(["MET", "", "approved"]))


def nullable(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from([False] * 5 + [True]).flatmap(lambda null: st.none() if null else values)


FIELD_VALUES: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "households": {
        "grid": mostly(ids, bad_ids | st.none()), "address": nullable(texts(500)),
        "head_name": nullable(texts(500)), "members": nullable(integers(0, 2**53 - 1)),
        "tags": nullable(text_lists), "phone": nullable(texts(500)),
        "notes": nullable(texts(4000)),
    },
    "visits": {
        "household": mostly(ids, bad_ids | st.none()), "visited_at": mostly(times, bad_times),
        "outcome": choice(("met", "not_home", "refused")), "needs": nullable(text_lists),
        "hazards": nullable(text_lists), "notes": nullable(texts(4000)),
        "lat_e6": nullable(integers(-90_000_000, 90_000_000)),
        "lon_e6": nullable(integers(-180_000_000, 180_000_000)),
    },
    "service_logs": {
        "volunteer": mostly(ids, bad_ids), "activity": mostly(ids, bad_ids | st.none()),
        "started_at": mostly(times, bad_times), "minutes": integers(1, 720),
        "notes": nullable(texts(4000)),
        "status": choice(("recorded", "verified", "rejected")),
    },
    "cases": {
        "grid": mostly(ids, bad_ids | st.none()), "kind": choice(("report", "patrol", "wish")),
        "category": mostly(ids, bad_ids | st.none()),
        "title": mostly(st.text(min_size=1, max_size=8), st.sampled_from(
            ["", "x" * 200, "x" * 201, "\ud800", None])),
        "detail": nullable(texts(4000)), "household": nullable(mostly(ids, bad_ids)),
        "visit": nullable(mostly(uuids, bad_ids)), "reporter_name": nullable(texts(500)),
        "reporter_phone": nullable(texts(32)), "due_at": nullable(mostly(times, bad_times)),
        "status": choice(("open", "assigned", "accepted", "done", "closed", "cancelled")),
        "assignee": mostly(ids, bad_ids | st.none()),
        "resolution": mostly(st.text(min_size=1, max_size=8), st.sampled_from(
            ["", "x" * 4000, "x" * 4001, None])),
        "rating": integers(1, 5),
    },
}
assert {c: set(v) for c, v in FIELD_VALUES.items()} == {c: set(n) for c, n in FIELD_NAMES.items()}
STRAY_NAMES = sorted(set().union(*SERVER_FIELDS.values(), {"deleted", "x", ""}))


# A weighted coin: st.integers() favours its bounds, which would make "rare" common.
rarely = st.sampled_from([True] + [False] * 20)


@st.composite
def field_maps(draw: st.DrawFn, collection: str) -> dict[str, Any]:
    # Names mostly of this collection, sometimes another's, a server field or junk.
    own = FIELD_VALUES[collection]
    names = draw(st.lists(st.sampled_from(sorted(own)), max_size=len(own), unique=True))
    values = {name: draw(own[name]) for name in names}
    if draw(rarely):
        others = sorted(set().union(*FIELD_NAMES.values()) - set(own))
        values[draw(st.sampled_from(others + STRAY_NAMES))] = draw(json_values)
    return values


@st.composite
def changes(draw: st.DrawFn) -> Any:
    if draw(rarely):
        return draw(json_values)
    collection = draw(st.sampled_from(COLLECTIONS))
    envelope: dict[str, st.SearchStrategy[Any]] = {
        "op": mostly(uuids, bad_uuids),
        "collection": mostly(st.just(collection), st.just("people")),
        "id": mostly(uuids, bad_uuids | ids),
        "hlc": mostly(stamps, bad_stamps),
        "base": nullable(integers(0, 2**53 - 1)),
        "fields": mostly(field_maps(collection), st.just([])),
        "deleted": mostly(st.booleans(), st.sampled_from([0, 1, "true"])),
        "sig": json_values,
    }
    change = {}
    for key, values in envelope.items():
        if not draw(rarely):  # mostly present
            change[key] = draw(values)
    if draw(rarely):
        change[draw(st.text(max_size=3))] = draw(json_values)
    return change


def error_paths(messages: Any, prefix: str = "") -> set[str]:
    if not isinstance(messages, dict):
        return {prefix.rstrip(".")}
    paths = set()
    for key, value in messages.items():
        paths |= error_paths(value, f"{prefix}{key}.")
    return paths


def outcome_fast(raw: Any) -> tuple[bool, set[str]]:
    try:
        assert parse_change(raw) is raw
    except ChangeRejected as exc:
        assert exc.code == "validation"
        return False, error_paths(exc.fields)
    return True, set()


def outcome_schema(raw: Any) -> tuple[bool, set[str]]:
    unsigned = {k: v for k, v in raw.items() if k != "sig"} if isinstance(raw, dict) else raw
    try:
        assert SCHEMA.load(unsigned) == unsigned
    except ma.ValidationError as exc:
        return False, error_paths(exc.messages)
    return True, set()


@settings(max_examples=1000, deadline=None)
@given(changes())
def test_parse_change_agrees_with_change_schema(raw):
    assert outcome_fast(raw) == outcome_schema(raw)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(COLLECTIONS).flatmap(lambda c: st.tuples(st.just(c), field_maps(c))))
def test_agreement_on_fields_of_a_good_envelope(case):
    collection, values = case
    raw = {
        "op": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "collection": collection,
        "id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a60", "hlc": "001795694400000:00003:dev_7Kq2",
        "base": None, "fields": values, "deleted": False, "sig": "s",
    }
    assert outcome_fast(raw) == outcome_schema(raw)
