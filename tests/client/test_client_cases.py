"""Cases in the reference client: open, claim, accept, done and close offline, steps
chained in one sync, and the step rules checked on the device before the outbox."""

from __future__ import annotations

import pytest

from client_sdk import cases as desk
from client_sdk.errors import InvalidInput, UnknownRecord
from tests.cases.cases_support import CASE_RULES


@pytest.fixture
def rules(api):
    api.ok(api.put("/rules", CASE_RULES))


def test_a_wish_from_open_to_closed_with_offline_steps(api, make_field, rules):
    worker, other, volunteer = make_field("w1"), make_field("w1b"), make_field("v1")
    wish = desk.open_case(worker, grid="g1", kind="wish", category="elderly",
                          title="帮独居老人买菜", reporter_name="李奶奶")
    with pytest.raises(InvalidInput, match="sync first"):
        desk.accept(worker, wish["id"])
    worker.sync()
    volunteer.sync()
    seen = desk.cases(volunteer)
    assert [c["id"] for c in seen] == [wish["id"]]
    assert "reporter_name" not in seen[0]["fields"]
    # offline: claim, accept and finish; one sync sends the three steps in order
    desk.claim(volunteer, wish["id"])
    desk.accept(volunteer, wish["id"])
    desk.done(volunteer, wish["id"], "菜已送到")
    assert volunteer.pending_count() == 3
    summary = volunteer.sync()
    assert volunteer.pending_count() == 0 and volunteer.rejected() == [], summary
    mine = desk.cases(volunteer, mine=True)[0]["fields"]
    assert (mine["status"], mine["reporter_name"]) == ("done", "李奶奶")
    with pytest.raises(InvalidInput, match="worker of the grid"):
        desk.close(volunteer, wish["id"], 5)             # a volunteer never confirms
    other.sync()
    desk.close(other, wish["id"], 5)
    other.sync()
    assert other.rejected() == []
    assert api.ok(api.get("/accounts/volunteer:v1"))["balance"] == 5


def test_the_device_refuses_steps_the_server_would_refuse(api, make_field, rules):
    worker, volunteer = make_field("w1"), make_field("v1")
    with pytest.raises(InvalidInput, match="only workers"):
        desk.open_case(volunteer, grid="g1", kind="wish", category="road", title="x")
    with pytest.raises(InvalidInput, match="unknown case field"):
        desk.open_case(worker, grid="g1", kind="patrol", category="road", title="x", points=3)
    case = desk.open_case(worker, grid="g1", kind="patrol", category="road", title="井盖松动")
    worker.sync()
    volunteer.sync()
    with pytest.raises(UnknownRecord):
        desk.accept(volunteer, case["id"])               # not in a volunteer's scope
    with pytest.raises(InvalidInput, match="cannot go from open to accepted"):
        desk.accept(worker, case["id"])
    with pytest.raises(InvalidInput, match="only wishes are claimed"):
        desk.claim(worker, case["id"])
    api.ok(api.post(f"/cases/{case['id']}/assign", {"assignee": "w1"}))
    worker.sync()
    desk.accept(worker, case["id"])
    desk.done(worker, case["id"], "已修好")
    worker.sync()
    with pytest.raises(InvalidInput, match="four eyes"):
        desk.close(worker, case["id"])
    with pytest.raises(InvalidInput, match="cancels only a case it opened"):
        desk.cancel(worker, case["id"], "重复")
