"""Scoped administrators on the API (docs/protocol.md, scoped administrators).

``adm1`` holds community c1 (make_world); c2 (add_second_community) is another
community's. For each kind of object adm1 gets 404 ``not_found`` (or the "no such …"
field error of an unknown id) on c2's, succeeds on c1's, cannot escalate, and the
district-wide ``admin`` (no grids) is unchanged.
"""

from __future__ import annotations

import pytest

from tests.cases.cases_support import case_rules, new_report, report_code
from tests.conftest import BOTH_BACKENDS
from tests.helpers import add_second_community, issue_token, uuid7
from tests.helpers import api_error as error
from tests.helpers import api_validation as validation

pytestmark = BOTH_BACKENDS


@pytest.fixture
def scoped(api, world, data_dir):
    """adm1: administrator of community c1 only; returns their token."""
    add_second_community(api)
    api.person("adm1", "admin", ["c1"])
    return issue_token(data_dir, "adm1")


def ids(rows, key="id"):
    return {row[key] for row in rows}


# --- people ---------------------------------------------------------------------------
def test_people_list_holds_only_their_community(api, scoped):
    mine = ids(api.ok(api.get("/people", token=scoped))["people"])
    assert {"w1", "v1", "shop1", "shop1b", "adm1"} <= mine
    assert not mine & {"w3", "v3", "shop2", "a1", "admin"}
    everyone = ids(api.ok(api.get("/people"))["people"])   # the district admin: unchanged
    assert {"w3", "v3", "shop2", "a1", "admin", "adm1"} <= everyone


@pytest.mark.parametrize("person", ["v3", "w3", "shop2", "a1", "admin", "nobody"])
def test_other_communitys_people_are_not_found(api, scoped, person):
    error(api.get(f"/people/{person}", token=scoped), 404, "not_found")
    error(api.patch(f"/people/{person}", {"name": "x"}, token=scoped), 404, "not_found")
    error(api.patch(f"/people/{person}", {"active": False}, token=scoped), 404, "not_found")
    error(api.put(f"/people/{person}/login", {"login": "someone9", "secret": "pass-word-9"},
                  token=scoped), 404, "not_found")
    error(api.post(f"/people/{person}/card", token=scoped), 404, "not_found")
    err = validation(api.post("/enrollments", {"person": person}, token=scoped), "person")
    assert err["fields"]["person"] == ["no such person"]
    if person != "nobody":                                   # the district admin: unchanged
        assert api.ok(api.get(f"/people/{person}"))["id"] == person


def test_own_communitys_people_are_managed(api, scoped):
    assert api.ok(api.get("/people/v1", token=scoped))["id"] == "v1"
    assert api.ok(api.patch("/people/v1", {"name": "新名", "grids": ["g2"]},
                            token=scoped))["grids"] == ["g2"]
    assert api.ok(api.put("/people/v1/login", {"login": "13900000009", "secret": "246810"},
                          token=scoped))["login"] == "13900000009"
    assert api.ok(api.post("/people/v1/card", token=scoped), 201)["card"]
    assert api.ok(api.post("/enrollments", {"person": "w1"}, token=scoped), 201)["code"]
    assert api.ok(api.patch("/people/w2", {"active": False}, token=scoped))["active"] is False
    made = api.ok(api.post("/people", {"id": "v9", "name": "新志愿者", "role": "volunteer",
                                       "grids": ["g1a"]}, token=scoped), 201)
    assert made["community"] == "c1"
    staff = api.ok(api.post("/people", {"id": "s9", "name": "店员", "role": "shop",
                                        "grids": [], "shop": "s1b"}, token=scoped), 201)
    assert staff["community"] == "c1"


def test_people_cannot_be_placed_in_another_community(api, scoped):
    body = {"id": "v9", "name": "x", "role": "volunteer", "grids": ["h1"]}
    err = validation(api.post("/people", body, token=scoped), "grids")
    assert err["fields"]["grids"] == ["no such grid 'h1'"]            # as an unknown grid
    staff = {"id": "s9", "name": "x", "role": "shop", "grids": [], "shop": "s2"}
    assert validation(api.post("/people", staff, token=scoped), "shop")["fields"]["shop"] == [
        "no such shop"]
    validation(api.patch("/people/v1", {"grids": ["h1"]}, token=scoped), "grids")
    assert api.ok(api.get("/people/v1"))["grids"] == ["g1"]           # nothing changed
    error(api.get("/people/v9"), 404, "not_found")


@pytest.mark.parametrize("body", [
    {"id": "adx", "name": "x", "role": "admin", "grids": []},          # district-wide admin
    {"id": "adx", "name": "x", "role": "admin", "grids": ["c1"]},      # even of their own
    {"id": "adx", "name": "x", "role": "admin", "grids": ["c2"]},      # another community's
    {"id": "adx", "name": "x", "role": "auditor", "grids": ["g1"]},
])
def test_scoped_admin_cannot_make_administrators(api, scoped, body):
    error(api.post("/people", body, token=scoped), 403, "forbidden")
    error(api.get("/people/adx"), 404, "not_found")


def test_scoped_admin_cannot_widen_or_drop_their_own_grids(api, scoped):
    # no more grids (another community's), and no fewer: none would be district-wide
    for grids in (["c1", "c2"], ["c2"], [], ["g1"]):
        resp = api.patch("/people/adm1", {"grids": grids}, token=scoped)
        assert resp.status_code in (400, 403), resp.get_data(as_text=True)
    assert api.ok(api.get("/people/adm1"))["grids"] == ["c1"]
    assert api.ok(api.get("/people", token=scoped))   # still an admin of c1, no more


def test_scoped_admin_cannot_manage_another_admin_of_their_community(api, scoped, data_dir):
    api.person("adm1b", "admin", ["c1"])
    assert api.ok(api.get("/people/adm1b", token=scoped))["id"] == "adm1b"   # may see them
    error(api.patch("/people/adm1b", {"active": False}, token=scoped), 403, "forbidden")
    error(api.put("/people/adm1b/login", {"login": "takeover", "secret": "pass-word-9"},
                  token=scoped), 403, "forbidden")
    assert api.ok(api.get("/people/adm1b"))["active"] is True


def test_district_admin_makes_scoped_admins_of_one_or_more_communities(api, scoped):
    two = api.person("adm12", "admin", ["c1", "c2"])
    assert (two["grids"], two["community"]) == (["c1", "c2"], None)
    # adm1 (c1 only) does not reach an admin of c1 and c2
    error(api.get("/people/adm12", token=scoped), 404, "not_found")
    # a worker's grids still lie in one community
    validation(api.post("/people", {"id": "w9", "name": "x", "role": "worker",
                                    "grids": ["g1", "h1"]}), "grids")


# --- grids, shops, catalog, rules -----------------------------------------------------
def test_grids_and_shops_of_their_community_only(api, scoped):
    assert ids(api.ok(api.get("/grids", token=scoped))["grids"]) == {"c1", "g1", "g1a", "g2"}
    assert ids(api.ok(api.get("/shops", token=scoped))["shops"]) == {"s1", "s1b"}
    assert {"c2", "h1"} <= ids(api.ok(api.get("/grids"))["grids"])
    assert api.ok(api.post("/grids", {"id": "g3", "name": "三网格", "parent": "c1"},
                           token=scoped), 201)["community"] == "c1"
    err = validation(api.post("/grids", {"id": "h2", "name": "x", "parent": "h1"},
                              token=scoped), "parent")
    assert err["fields"]["parent"] == ["no such grid"]
    error(api.post("/grids", {"id": "c9", "name": "新社区", "parent": None}, token=scoped),
          403, "forbidden")
    validation(api.post("/shops", {"id": "s9", "name": "x", "community": "c2"},
                        token=scoped), "community")
    assert api.ok(api.post("/shops", {"id": "s9", "name": "x", "community": "c1"},
                           token=scoped), 201)["community"] == "c1"


def test_grid_names_are_unique_among_siblings_and_grids_are_renamed(api, scoped, data_dir):
    """U-2: two grids of one name under one parent could not be told apart; a typo in a
    name could not be fixed. A duplicate sibling name is 400 validation on ``name``;
    PATCH /grids/<id> renames within the admin's scope."""
    from tests.helpers import db_dump

    for body in ({"id": "g3", "name": "一网格", "parent": "c1"},
                 {"id": "g3", "name": " 一网格 ", "parent": "c1"},
                 {"id": "c9", "name": "社区二", "parent": None}):
        err = validation(api.post("/grids", body), "name")
        assert err["fields"]["name"] == ["a grid in the same place has this name"]
    assert api.ok(api.post("/grids", {"id": "g3", "name": "一网格", "parent": "g2"}), 201)
    # a full-width space (U+3000) around a name is a space too, stored or sent
    assert api.ok(api.post("/grids", {"id": "g7", "name": "七网格\u3000", "parent": "c1"}), 201)
    for name in ("七网格\u3000", "七网格", "\u3000七网格 "):
        validation(api.post("/grids", {"id": "g8", "name": name, "parent": "c1"}), "name")
    assert api.ok(api.patch("/grids/g2", {"name": "二网格（东）"}, token=scoped)) == {
        "id": "g2", "name": "二网格（东）", "parent": "c1", "community": "c1"}
    assert api.ok(api.patch("/grids/c1", {"name": "幸福社区"}, token=scoped))["name"] == "幸福社区"
    assert api.ok(api.patch("/grids/g2", {"name": "二网格（东）"}))["name"] == "二网格（东）"
    worker = issue_token(data_dir, "w2")
    before = db_dump(data_dir)
    validation(api.patch("/grids/g2", {"name": "一网格"}, token=scoped), "name")
    validation(api.patch("/grids/g2", {"name": ""}, token=scoped), "name")
    validation(api.patch("/grids/g2", {"name": "x", "parent": "g1"}, token=scoped), "parent")
    error(api.patch("/grids/h1", {"name": "x"}, token=scoped), 404, "not_found")
    error(api.patch("/grids/nope", {"name": "x"}), 404, "not_found")
    error(api.patch("/grids/g2", {"name": "x"}, token=worker), 403, "forbidden")
    assert db_dump(data_dir) == before


def test_catalog_of_another_communitys_shop_is_not_found(api, scoped):
    item = {"name": "油", "price": 5, "stock": 1}
    error(api.get("/shops/s2/catalog", token=scoped), 404, "not_found")
    error(api.put("/shops/s2/catalog/oil", item, token=scoped), 404, "not_found")
    assert api.ok(api.get("/shops/s2/catalog"))["items"] == []
    assert api.ok(api.put("/shops/s1/catalog/oil", item, token=scoped))["sku"] == "oil"
    assert "oil" in ids(api.ok(api.get("/shops/s1/catalog", token=scoped))["items"], "sku")


def test_earning_rules_are_the_district_admins(api, scoped):
    rules = api.ok(api.get("/rules", token=scoped))
    body = {k: rules[k] for k in ("activities", "daily_cap", "timezone")}
    error(api.put("/rules", {**body, "daily_cap": 5}, token=scoped), 403, "forbidden")
    assert api.ok(api.get("/rules"))["daily_cap"] == rules["daily_cap"]
    assert api.ok(api.put("/rules", {**body, "daily_cap": 5}))["daily_cap"] == 5


# --- devices ----------------------------------------------------------------------------
def test_devices_of_another_community_are_not_found(api, scoped):
    mine, theirs = api.enroll("w1"), api.enroll("w3")
    listed = ids(api.ok(api.get("/devices", token=scoped))["devices"])
    assert mine.id in listed and theirs.id not in listed
    error(api.post(f"/devices/{theirs.id}/revoke", token=scoped), 404, "not_found")
    assert theirs.sync()["cursor"] is not None                        # still works
    assert api.ok(api.post(f"/devices/{mine.id}/revoke", token=scoped))["revoked"] is True
    assert {mine.id, theirs.id} <= ids(api.ok(api.get("/devices"))["devices"])


# --- field data, conflicts, ops, cases, ledger ------------------------------------------
HOME_C2 = "0b9f1c2e-0000-4000-8000-0000000000c2"


@pytest.fixture
def c2_data(api, scoped, data_dir):
    """In c2: a household of h1 with an open conflict, a visit, a case by a resident,
    10 points adjusted to v3 and a redemption of 4 at s2."""
    w3, w3b = api.enroll("w3"), api.enroll("w3", "second phone")
    first = w3.change("households", {"grid": "h1", "address": "二社区1号"}, id=HOME_C2)
    assert w3.sync([first])["results"][0]["status"] == "applied"
    w3.sync([w3.change("households", {"notes": "a"}, id=HOME_C2, base=1)])
    w3b.sync([w3b.change("households", {"notes": "b"}, id=HOME_C2, base=1)])
    visit = w3.change("visits", {"household": HOME_C2, "outcome": "met",
                                 "visited_at": "2026-11-20T02:00:00.000Z"})
    w3.sync([visit])
    case_rules(api)
    case_id, _receipt = new_report(api, report_code(api, "h1"))
    api.ok(api.post("/ledger/adjustments", {"id": "adj-v3", "account": "volunteer:v3",
                                             "amount": 10, "reason": "welcome"}), 201)
    api.ok(api.put("/shops/s2/catalog/oil", {"name": "油", "price": 4, "stock": 5}))
    card = api.ok(api.post("/people/v3/card"), 201)["card"]
    redemption = uuid7()
    api.ok(api.post("/redemptions", {"id": redemption, "volunteer": "v3", "card": card,
                                     "items": [{"sku": "oil", "qty": 1}]},
                    token=issue_token(data_dir, "shop2")), 201)
    (conflict,) = api.ok(api.get("/conflicts"))["conflicts"]
    return {"case": case_id, "redemption": redemption, "conflict": conflict["id"],
            "op": visit["op"], "w3": w3}


def test_conflicts_and_ops_of_another_community_are_not_found(api, scoped, c2_data):
    assert api.ok(api.get("/conflicts", token=scoped))["conflicts"] == []
    error(api.post(f"/conflicts/{c2_data['conflict']}/resolve", {"keep": "loser"},
                   token=scoped), 404, "not_found")
    error(api.get(f"/ops/{c2_data['op']}", token=scoped), 404, "not_found")
    assert api.ok(api.get(f"/ops/{c2_data['op']}"))["op"] == c2_data["op"]
    assert len(api.ok(api.get("/conflicts"))["conflicts"]) == 1        # still open


def test_own_conflicts_and_ops_are_theirs(api, scoped, world):
    w1, w1b = api.enroll("w1"), api.enroll("w1", "second")
    hid = "0b9f1c2e-0000-4000-8000-0000000000c1"
    change = w1.change("households", {"grid": "g1", "notes": "x"}, id=hid)
    w1.sync([change])
    w1.sync([w1.change("households", {"notes": "a"}, id=hid, base=1)])
    w1b.sync([w1b.change("households", {"notes": "b"}, id=hid, base=1)])
    (conflict,) = api.ok(api.get("/conflicts", token=scoped))["conflicts"]
    assert api.ok(api.get(f"/ops/{change['op']}", token=scoped))["op"] == change["op"]
    assert api.ok(api.post(f"/conflicts/{conflict['id']}/resolve", {"keep": "winner"},
                           token=scoped))["status"] == "resolved"


def test_cases_of_another_community_are_not_found(api, scoped, c2_data):
    case = c2_data["case"]
    assert api.ok(api.get("/cases", token=scoped))["cases"] == []
    assert [c["id"] for c in api.ok(api.get("/cases"))["cases"]] == [case]
    validation(api.get("/cases?grid=h1", token=scoped), "grid")
    error(api.get(f"/cases/{case}", token=scoped), 404, "not_found")
    error(api.post(f"/cases/{case}/assign", {"assignee": "w3"}, token=scoped),
          404, "not_found")
    error(api.post(f"/cases/{case}/cancel", {"reason": "x"}, token=scoped), 404, "not_found")
    error(api.post("/grids/h1/report-code", token=scoped), 404, "not_found")
    validation(api.get("/reports/cases?grid=c2&from=2026-01-01&to=2027-01-01",
                       token=scoped), "grid")
    assert api.ok(api.get(f"/cases/{case}"))["fields"]["status"] == "open"
    # their own community's cases work as before
    code = api.ok(api.post("/grids/g1/report-code", token=scoped), 201)["code"]
    mine, _receipt = new_report(api, code)
    assert [c["id"] for c in api.ok(api.get("/cases", token=scoped))["cases"]] == [mine]
    assert api.ok(api.post(f"/cases/{mine}/assign", {"assignee": "w1"},
                           token=scoped))["fields"]["status"] == "assigned"
    assert api.ok(api.get("/reports/cases?grid=c1&from=2026-01-01&to=2030-01-01",
                          token=scoped))["received"] >= 1


def test_ledger_of_another_community(api, scoped, c2_data):
    error(api.get("/accounts/volunteer:v3", token=scoped), 404, "not_found")
    error(api.get("/accounts/shop:s2", token=scoped), 404, "not_found")
    error(api.get("/accounts/issuance:c2", token=scoped), 404, "not_found")
    assert api.ok(api.get("/accounts/volunteer:v3"))["balance"] == 6
    assert "entries" in api.ok(api.get("/accounts/volunteer:v1", token=scoped))
    err = validation(api.post("/ledger/adjustments", {"id": "adj-x", "account": "volunteer:v3",
                                                       "amount": 100, "reason": "x"},
                              token=scoped), "account")
    assert "must be" in err["fields"]["account"][0]                   # as an unknown one
    assert api.ok(api.post("/ledger/adjustments", {"id": "adj-y", "account": "volunteer:v1",
                                                    "amount": 3, "reason": "x"},
                           token=scoped), 201)["adjustment"]["amount"] == 3
    seq = api.ok(api.get("/accounts/volunteer:v3"))["entries"][0]["seq"]
    error(api.post("/ledger/reversals", {"id": "rev-x", "entry": seq, "reason": "x"},
                   token=scoped), 404, "not_found")
    rid = c2_data["redemption"]
    error(api.get(f"/redemptions/{rid}", token=scoped), 404, "not_found")
    error(api.post(f"/redemptions/{rid}/refund", {"reason": "x"}, token=scoped),
          404, "not_found")
    error(api.get("/ledger/entries", token=scoped), 403, "forbidden")
    assert api.ok(api.get("/ledger/entries"))["entries"]
    assert api.ok(api.get("/accounts/volunteer:v3"))["balance"] == 6  # nothing changed
