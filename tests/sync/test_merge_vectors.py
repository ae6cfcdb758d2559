"""Golden merge outcomes (tests/vectors/merge-v1.json), for other implementations to match."""

from __future__ import annotations

import copy

import pytest

from sync.errors import ChangeRejected
from sync.merge import merge, record_view
from sync.schemas import parse_change
from tests.sync.sync_support import load_vectors

CASES = load_vectors("merge-v1.json")["cases"]


def test_vectors_cover_every_merge_rejection():
    codes = {case["expect"].get("error") for case in CASES} - {None}
    assert codes == {"unknown_record", "validation", "immutable", "forbidden", "locked", "stale"}


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_merge_vector(case):
    change = case["change"]
    parse_change(change)  # every vector change is well-formed on the wire
    state = copy.deepcopy(case["state"])
    expect = case["expect"]
    if "error" in expect:
        with pytest.raises(ChangeRejected) as info:
            merge(state, change, device_id=case["device_id"])
        assert info.value.code == expect["error"]
        return
    result = merge(state, change, device_id=case["device_id"])
    assert state == case["state"]
    assert result.state == expect["state"]
    assert result.conflicts == expect["conflicts"]
    assert result.created is expect["created"]
    assert record_view(result.state) == expect["view"]
