"""Property: concurrent household edits converge whatever the arrival order.

Several devices edit one household offline (base null or stale). Whatever
order the server receives them in, and with duplicates resent, the final
record (fields, deleted flag, version) is the same, and every value typed is
either current or kept as a conflict loser (invariant 3).
"""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.clock import now_ms
from sync.hlc import format_hlc

FIELDS = ("address", "phone", "notes", "members")

edit = st.tuples(
    st.integers(0, 2),                      # device
    st.sampled_from(FIELDS),                # field
    st.integers(0, 3),                      # value choice
    st.integers(0, 50),                     # hlc wall offset (ms)
    st.booleans(),                          # stale base (1) or null base
)


def value(field: str, choice: int):
    return choice if field == "members" else f"{field}-{choice}"


@pytest.fixture
def world_devices(world, api):
    return api, [api.enroll("w1"), api.enroll("w1b"), api.enroll("w1", "second phone")]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(edit, min_size=1, max_size=6), order=st.randoms(use_true_random=False),
       dup=st.integers(0, 5))
def test_final_state_and_kept_values_independent_of_order(world_devices, edits, order, dup):
    api, devices = world_devices
    t0 = now_ms() - 60_000
    outcomes = []
    for attempt in range(2):
        hid = str(uuid.uuid4())
        creator = devices[0]
        assert creator.sync([creator.change("households", {"grid": "g1"}, id=hid,
                                            hlc=format_hlc(t0, 0, creator.id))]
                            )["results"][0]["status"] == "applied"
        changes = []
        for i, (d, field, choice, offset, stale) in enumerate(edits):
            dev = devices[d]
            changes.append((dev, dev.change("households", {field: value(field, choice)}, id=hid,
                                            base=1 if stale else None,
                                            hlc=format_hlc(t0 + 1 + offset, i, dev.id))))
        if attempt == 1:
            changes = changes[:]
            order.shuffle(changes)
            changes.insert(0, changes[dup % len(changes)])  # a resent duplicate
        for dev, change in changes:
            dev.sync([change])
        record = creator.pull_all(fresh=True)[("households", hid)]
        conflicts = [c for c in api.ok(api.get("/conflicts"))["conflicts"] if c["record"] == hid]
        kept = {(c["loser"]["value"], c["field"]) for c in conflicts}
        kept |= {(v, f) for f, v in record["fields"].items()}
        typed = {(value(f, c), f) for _, f, c, _, _ in edits}
        assert typed <= kept
        outcomes.append((record["fields"], record["deleted"], record["version"]))
    assert outcomes[0] == outcomes[1]
