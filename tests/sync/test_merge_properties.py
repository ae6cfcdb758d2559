"""Convergence and invariant 3 for concurrent household edits, by property.

Several devices edit one existing household concurrently (base null, 0 or
the initial version 1), with random fields, values and stamps. Whatever order
the server receives them in, with duplicates (which the server drops by op id
before merging), it must end in the same state (last writer wins per field),
and every value anyone typed must be either current or kept as a conflict
loser. A change carrying base 1 had seen the initial values, so those alone
may be overwritten without a conflict record.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.merge import merge
from tests.sync.sync_support import change, stamp

DEVICES = ("dev_1", "dev_2", "dev_3")
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "grid": st.sampled_from(["g1", "g2"]),
    "address": st.sampled_from([None, "1 Main St", "2 Side St"]),
    "notes": st.sampled_from([None, "", "a", "b"]),
    "members": st.sampled_from([None, 0, 1, 2]),
    "tags": st.sampled_from([None, [], ["x"], ["x", "y"]]),
}


@st.composite
def edits(draw: st.DrawFn, creates: bool = False) -> list[dict[str, Any]]:
    """Edits of an existing record, or (``creates``) racing creates: base null, grid set."""
    count = draw(st.integers(1, 8))
    result = []
    for index in range(count):
        device = draw(st.sampled_from(DEVICES))
        names = draw(st.lists(st.sampled_from(sorted(VALUES)), unique=True, max_size=4))
        if creates and "grid" not in names:
            names.append("grid")
        result.append(change(
            op=f"op-{index}",
            hlc=stamp(draw(st.integers(0, 3)) * 1_000, draw(st.integers(0, 2)), device),
            base=None if creates else draw(st.sampled_from([None, 0, 1])),
            fields={name: draw(VALUES[name]) for name in names},
            deleted=draw(st.sampled_from([False, False, False, True])),
        ))
    return result


def initial() -> dict[str, Any]:
    first = change(op="op-init", hlc=stamp(1_500, 0, "dev_0"),
                   fields={"grid": "g1", "notes": "init", "members": 3})
    return merge(None, first, device_id="dev_0").state


def typed(changes: list[dict[str, Any]]) -> set[tuple[str, str]]:
    pairs = set()
    for item in changes:
        for name, value in {**item["fields"], "deleted": item["deleted"]}.items():
            pairs.add((name, json.dumps(value)))
    return pairs


def deliver(
    order: list[dict[str, Any]], start: dict[str, Any] | None = None
) -> tuple[dict[str, Any], set[tuple[str, str]]]:
    """Apply in order, skipping ops already seen; returns the state and every value kept."""
    state, seen, kept = start, set(), set()
    for item in order:
        if item["op"] in seen:
            continue
        seen.add(item["op"])
        result = merge(state, item, device_id=parse_device(item["hlc"]))
        state = result.state
        kept |= {(c["field"], json.dumps(c["loser"]["value"])) for c in result.conflicts}
    current = {**state["fields"], "deleted": state["deleted"]}
    kept |= {(name, json.dumps(value)) for name, value in current.items()}
    return state, kept


def parse_device(hlc: str) -> str:
    return hlc.rsplit(":", 1)[1]


def outcome(state: dict[str, Any]) -> tuple[Any, ...]:
    winners = {name: (meta["hlc"], meta["op"]) for name, meta in state["meta"].items()}
    return state["fields"], state["deleted"], state["version"], winners


@settings(max_examples=400, deadline=None)
@given(data=st.data(), changes=edits())
def test_any_delivery_order_converges_and_keeps_every_typed_value(data, changes):
    first_state, _ = deliver(changes, initial())
    expected = outcome(first_state)
    assert first_state["version"] == 1 + len(changes)

    for _ in range(3):
        order = data.draw(st.permutations(changes))
        duplicates = data.draw(st.lists(st.sampled_from(changes), max_size=4))
        for duplicate in duplicates:  # resent ops, arriving anywhere after the first copy
            order.insert(data.draw(st.integers(0, len(order))), duplicate)
        state, kept = deliver(order, initial())
        assert outcome(state) == expected

        # Nothing appears from nowhere, and nothing typed vanishes...
        seen = typed([initial_change()])
        everything = seen | typed(changes)
        assert kept <= everything
        if all(item["base"] != 1 for item in changes):
            assert kept == everything
        else:
            # ...except that a change based on version 1 had seen the initial
            # values and may overwrite them (or an equal value) without a conflict.
            assert everything - seen <= kept


def initial_change() -> dict[str, Any]:
    state = initial()
    return {"fields": state["fields"], "deleted": state["deleted"]}


@settings(max_examples=200, deadline=None)
@given(changes=edits())
def test_last_writer_wins_per_field(changes):
    state, _ = deliver(changes, initial())
    latest: dict[str, tuple[tuple[str, str], Any]] = {}
    base_state = initial()
    for name, value in {**base_state["fields"], "deleted": False}.items():
        latest[name] = ((stamp(1_500, 0, "dev_0"), "op-init"), value)
    for item in changes:
        for name, value in {**item["fields"], "deleted": item["deleted"]}.items():
            key = (item["hlc"], item["op"])
            if name not in latest or key > latest[name][0]:
                latest[name] = (key, value)
    assert {**state["fields"], "deleted": state["deleted"]} == {
        name: value for name, (_, value) in latest.items()
    }


@settings(max_examples=200, deadline=None)
@given(data=st.data(), changes=edits(creates=True))
def test_racing_creates_converge_and_keep_every_typed_value(data, changes):
    expected = outcome(deliver(changes)[0])
    order = data.draw(st.permutations(changes))
    state, kept = deliver(order)
    assert outcome(state) == expected
    assert state["version"] == len(changes)
    assert kept == typed(changes)
