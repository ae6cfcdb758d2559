"""What one device can make the server do in one sync request: at most 1,000 changes
(else 413), every change an object with a UUID op (else 400 for the whole request),
and nothing stored when the request as a whole is refused."""

from __future__ import annotations

import pytest

from sync.wire import MAX_CHANGES
from tests.helpers import api_error, api_validation, db_dump


@pytest.fixture
def w1(api, world):
    return api.enroll("w1")


def test_more_than_max_changes_is_413_and_stores_nothing(api, w1, data_dir):
    changes = [w1.change("households", {"grid": "g1"}) for _ in range(MAX_CHANGES + 1)]
    before = db_dump(data_dir)
    err = api_error(api.post("/sync", {"cursor": None, "changes": changes}, token=w1.token),
                    413, "too_large")
    assert str(MAX_CHANGES) in err["message"]
    assert db_dump(data_dir) == before


def test_exactly_max_changes_is_accepted(api, w1):
    changes = [w1.change("households", {"grid": "g1"}) for _ in range(MAX_CHANGES)]
    out = w1.sync(changes)
    assert [r["status"] for r in out["results"]] == ["applied"] * MAX_CHANGES


@pytest.mark.parametrize("bad", [
    "not-a-uuid", "", "0190F0C0-0000-4000-8000-000000000001", 7, None, ["x"],
    "0190f0c0-0000-4000-8000-00000000000", "../../etc/passwd",
])
def test_a_change_whose_op_is_not_a_uuid_refuses_the_whole_request(api, w1, data_dir, bad):
    good = w1.change("households", {"grid": "g1"})
    junk = {**w1.change("households", {"grid": "g1"}), "op": bad}
    before = db_dump(data_dir)
    err = api_validation(api.post("/sync", {"cursor": None, "changes": [good, junk]},
                                  token=w1.token), "changes")
    assert err["fields"]["changes"] == {"1": {"op": ["Not a lowercase UUID."]}}
    assert db_dump(data_dir) == before  # not even the good change, nor the device's counters


@pytest.mark.parametrize("bad", ["a string", 5, None, [], ["op"], True])
def test_a_change_that_is_not_an_object_refuses_the_whole_request(api, w1, data_dir, bad):
    good = w1.change("households", {"grid": "g1"})
    before = db_dump(data_dir)
    api_validation(api.post("/sync", {"cursor": None, "changes": [good, bad]}, token=w1.token),
                   "changes")
    assert db_dump(data_dir) == before
