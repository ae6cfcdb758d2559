"""Cases through the API: rules, report codes, residents' reports and receipts,
the office's assign/cancel/list/detail, and who may read a case."""

from __future__ import annotations

import pytest

from tests.cases.cases_support import CASE_RULES, case_rules, new_report, public_report, report_code
from tests.helpers import api_error, api_validation, db_dump


@pytest.fixture
def office(api, tokens):
    case_rules(api)
    return api


def test_rules_carry_case_categories_and_points(office):
    rules = office.ok(office.get("/rules"))
    assert rules["case_categories"] == CASE_RULES["case_categories"]
    assert rules["case_points"] == {"1": 5, "2": 10, "3": 20}
    api_validation(office.put("/rules", {**CASE_RULES, "case_points": {"4": 1}}), "case_points")
    api_validation(office.put("/rules", {**CASE_RULES, "case_points": {"1": 1.0}}),
                   "case_points")
    api_validation(office.put("/rules", {**CASE_RULES, "case_categories": {"a b": "x"}}),
                   "case_categories")


def test_a_resident_reports_follows_and_the_case_is_listed(office):
    code = report_code(office)
    case_id, receipt = new_report(office, code, detail="三号楼门口", name="王阿姨",
                                  phone="13800000000")
    assert len(receipt.replace("-", "")) == 20
    followed = office.ok(office.client.get(f"/api/v1/public/reports/{receipt}"))
    assert followed == {"case": case_id, "status": "open", "category": "road",
                        "title": "路灯坏了", "created_at": followed["created_at"],
                        "done_at": None, "resolution": None, "rating": None}
    # receipts are read without regard to case and dashes
    same = office.client.get(f"/api/v1/public/reports/{receipt.lower().replace('-', '')}")
    assert office.ok(same)["case"] == case_id
    detail = office.ok(office.get(f"/cases/{case_id}"))
    f = detail["fields"]
    assert f["grid"] == "g1" and f["kind"] == "report" and f["status"] == "open"
    assert f["created_by"] is None and f["difficulty"] == 1 and f["assignee"] is None
    assert f["reporter_name"] == "王阿姨" and f["reporter_phone"] == "13800000000"
    assert detail["history"] == [{"status": "open", "by": None, "at": f["created_at"],
                                  "op": None}]
    listed = office.ok(office.get("/cases?grid=c1"))
    assert [c["id"] for c in listed["cases"]] == [case_id] and listed["next"] is None
    assert office.ok(office.get("/cases?grid=g2"))["cases"] == []


def test_bad_or_replaced_codes_and_unknown_categories_change_nothing(office, data_dir):
    old = report_code(office)
    new = report_code(office)  # replaces the old poster's code
    before = db_dump(data_dir)
    api_error(public_report(office, old), 404, "not_found")
    api_error(public_report(office, "NOSUCHCODE00"), 404, "not_found")
    api_validation(public_report(office, new, category="nope"), "category")
    api_validation(public_report(office, new, title=""), "title")
    api_validation(public_report(office, new, phone="1" * 33), "phone")
    api_error(office.client.get("/api/v1/public/reports/AAAA-BBBB"), 404, "not_found")
    assert db_dump(data_dir) == before
    assert office.ok(public_report(office, new), 201)


def test_a_flood_of_reports_from_one_address_is_limited(office, data_dir):
    code = report_code(office)
    for n in range(20):  # every attempt counts, good or bad
        resp = public_report(office, code if n % 2 else "WRONG")
        assert resp.status_code in (201, 404)
    before = db_dump(data_dir)
    err = api_error(public_report(office, code), 429, "rate_limited")
    assert err
    resp = public_report(office, code)
    assert 1 <= int(resp.headers["Retry-After"]) <= 3600
    assert db_dump(data_dir) == before
    # another address is not affected; receipts are limited on their own
    other = office.client.post("/api/v1/public/reports", environ_base={
        "REMOTE_ADDR": "10.0.0.9"}, json={"code": code, "category": "road", "title": "x"})
    assert other.status_code == 201
    receipt = other.get_json()["receipt"]
    assert office.client.get(f"/api/v1/public/reports/{receipt}").status_code == 200


def test_one_ipv6_network_cannot_spread_a_flood_over_its_addresses(office):
    """A phone on IPv6 holds a whole /64: each of its addresses must not get a
    limit of its own, or the limit means nothing."""
    code = report_code(office)
    answers = [office.client.post("/api/v1/public/reports", environ_base={
        "REMOTE_ADDR": f"2001:db8:1:2::{n:x}"}, json={"code": code, "category": "road",
                                                     "title": "x"}).status_code
               for n in range(1, 22)]
    assert answers[:20] == [201] * 20 and answers[20] == 429
    other = office.client.post("/api/v1/public/reports", environ_base={
        "REMOTE_ADDR": "2001:db8:1:3::1"}, json={"code": code, "category": "road",
                                                 "title": "x"})
    assert other.status_code == 201  # another network is not affected


def test_rating_before_done_is_invalid_state(office, data_dir):
    case_id, receipt = new_report(office, report_code(office))
    before = db_dump(data_dir)
    api_error(office.client.post(f"/api/v1/public/reports/{receipt}/rating",
                                 json={"rating": 5}), 409, "invalid_state")
    api_validation(office.client.post(f"/api/v1/public/reports/{receipt}/rating",
                                      json={"rating": 6}), "rating")
    assert db_dump(data_dir) == before


def test_assign_reassign_and_cancel(office, tokens, data_dir):
    case_id, _ = new_report(office, report_code(office))
    out = office.ok(office.post(f"/cases/{case_id}/assign",
                                {"assignee": "v1", "difficulty": 2,
                                 "due_at": "2030-01-01T00:00:00Z"}))
    f = out["fields"]
    assert (f["status"], f["assignee"], f["difficulty"], f["due_at"]) == (
        "assigned", "v1", 2, "2030-01-01T00:00:00Z")
    assert f["assigned_at"] and out["version"] == 2
    assert out["hlc"].endswith(":server")
    assert [(h["status"], h["by"], h["op"]) for h in out["history"]] == [
        ("open", None, None), ("assigned", "admin", None)]
    # reassigning to a worker of the grid (g1a is under g1: w1 holds it too)
    out = office.ok(office.post(f"/cases/{case_id}/assign", {"assignee": "w1"}))
    assert out["fields"]["assignee"] == "w1" and out["fields"]["difficulty"] == 2
    before = db_dump(data_dir)
    for body in ({"assignee": "w2"}, {"assignee": "v2"}, {"assignee": "shop1"},
                 {"assignee": "nobody"}):
        api_validation(office.post(f"/cases/{case_id}/assign", body), "assignee")
    api_validation(office.post(f"/cases/{case_id}/assign", {"assignee": "w1", "difficulty": 4}),
                   "difficulty")
    api_error(office.post("/cases/nope/assign", {"assignee": "w1"}), 404, "not_found")
    api_error(office.post(f"/cases/{case_id}/assign", {"assignee": "w1"},
                          token=tokens["w1"]), 403, "forbidden")
    assert db_dump(data_dir) == before
    out = office.ok(office.post(f"/cases/{case_id}/cancel", {"reason": "重复上报"}))
    assert out["fields"]["status"] == "cancelled" and out["fields"]["resolution"] == "重复上报"
    before = db_dump(data_dir)
    api_error(office.post(f"/cases/{case_id}/cancel", {"reason": "again"}), 409,
              "invalid_state")
    api_error(office.post(f"/cases/{case_id}/assign", {"assignee": "w1"}), 409,
              "invalid_state")
    assert db_dump(data_dir) == before


def test_list_pages_and_filters(office):
    code = report_code(office)
    ids = [new_report(office, code, title=f"第{n}件")[0] for n in range(5)]
    office.ok(office.post(f"/cases/{ids[1]}/assign", {"assignee": "w1"}))
    page = office.ok(office.get("/cases?limit=2"))
    assert [c["id"] for c in page["cases"]] == ids[:2] and page["next"]
    page2 = office.ok(office.get(f"/cases?limit=2&after={page['next']}"))
    assert [c["id"] for c in page2["cases"]] == ids[2:4]
    assigned = office.ok(office.get("/cases?status=assigned"))["cases"]
    assert [c["id"] for c in assigned] == [ids[1]]
    assert office.ok(office.get("/cases?kind=wish"))["cases"] == []
    api_validation(office.get("/cases?status=lost"), "status")
    api_validation(office.get("/cases?grid=nope"), "grid")
    api_validation(office.get("/cases?limit=0"), "limit")


def test_who_reads_a_case(office, tokens):
    case_id, _ = new_report(office, report_code(office), name="王阿姨")
    assert office.ok(office.get(f"/cases/{case_id}", token=tokens["w1"]))["id"] == case_id
    api_error(office.get(f"/cases/{case_id}", token=tokens["w2"]), 404, "not_found")
    # a volunteer of the grid does not see a report until it is assigned to them
    api_error(office.get(f"/cases/{case_id}", token=tokens["v1"]), 404, "not_found")
    api_error(office.get(f"/cases/{case_id}", token=tokens["shop1"]), 403, "forbidden")
    office.ok(office.post(f"/cases/{case_id}/assign", {"assignee": "v1"}))
    seen = office.ok(office.get(f"/cases/{case_id}", token=tokens["v1"]))
    assert seen["fields"]["reporter_name"] == "王阿姨"
    api_error(office.get("/cases", token=tokens["w1"]), 403, "forbidden")
    api_error(office.post("/grids/g1/report-code", token=tokens["w1"]), 403, "forbidden")
    api_error(office.post("/grids/nope/report-code"), 404, "not_found")
