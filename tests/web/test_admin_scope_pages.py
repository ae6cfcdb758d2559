"""Scoped administrators on the office console (docs/protocol.md, scoped administrators).

``adm1`` (web sign-in ``office-c1``) holds community c1; c2 (add_second_community) is
another community's. Each of c2's objects is a 404 page for adm1 and nothing changes;
c1's work; the district office (``office_web``, no grids) sees and does everything.
"""

from __future__ import annotations

import pytest

from tests.helpers import add_second_community
from tests.web.web_support import WebClient, html_of, push

SCOPED_LOGIN, SCOPED_PASSWORD = "office-c1", "office-c1-pass"


@pytest.fixture
def scoped_web(app, api, web_world):
    add_second_community(api)
    api.person("adm1", "admin", ["c1"])
    api.ok(api.put("/people/adm1/login", {"login": SCOPED_LOGIN, "secret": SCOPED_PASSWORD}))
    client = WebClient(app.test_client())
    client.sign_in(SCOPED_LOGIN, SCOPED_PASSWORD)
    return client


def not_found(resp) -> None:
    assert resp.status_code == 404, (resp.status_code, resp.get_data(as_text=True)[-800:])
    assert resp.mimetype == "text/html"


def test_people_page_lists_their_community_only(scoped_web):
    html = html_of(scoped_web.get("/admin/people?state=all"))
    assert 'id="person-v1"' in html and 'id="person-shop1b"' in html
    for other in ("v3", "w3", "shop2", "a1", "adm2", "admin"):
        assert f'id="person-{other}"' not in html
    assert 'value="h1"' not in html and 'value="s2"' not in html     # no c2 grid or shop
    assert '<option value="admin"' not in html.split('id="add-person"')[1]
    assert 'id="admin-scope-hint"' not in html


def test_district_office_unchanged(office_web, scoped_web):
    html = html_of(office_web.get("/admin/people?state=all"))
    assert 'id="person-v3"' in html and 'id="person-adm1"' in html
    assert 'id="admin-scope-hint"' in html
    assert html_of(office_web.get("/admin/people/v3")).count("name of v3")
    assert office_web.get("/admin/shops/s2").status_code == 200


@pytest.mark.parametrize("person", ["v3", "shop2", "a1", "adm2"])
def test_other_communitys_person_pages_are_not_found(api, scoped_web, person):
    not_found(scoped_web.get(f"/admin/people/{person}"))
    csrf = scoped_web.csrf("/admin/people")
    for action, form in (("edit", {"name": "x"}), ("active", {"active": "0"}), ("enrol", {}),
                         ("login", {"login": "someone9", "secret": "pass-word-9"}),
                         ("link", {}), ("card", {}), ("issue-login", {})):
        not_found(scoped_web.post(f"/admin/people/{person}/{action}", form, csrf=csrf))
    after = api.ok(api.get(f"/people/{person}"))
    assert after["active"] is True and after["name"] != "x"


def test_own_person_page_works(api, scoped_web):
    html = html_of(scoped_web.get("/admin/people/v1"))
    assert 'id="edit-person"' in html
    resp = scoped_web.post("/admin/people/v1/issue-login", {})
    assert resp.status_code == 200 and "slip" in resp.get_data(as_text=True)
    resp = scoped_web.post("/admin/people/w1/enrol", {}, page="/admin/people/w1")
    assert resp.status_code == 200
    resp = scoped_web.post("/admin/people", {"name": "新志愿者", "role": "volunteer",
                                             "grids": "g1", "id": "v9"}, page="/admin/people")
    assert resp.status_code == 303
    assert api.ok(api.get("/people/v9"))["community"] == "c1"


def test_no_administrator_made_or_widened_from_the_page(api, scoped_web):
    for grids in ("", "c1", "h1"):
        resp = scoped_web.post("/admin/people", {"name": "x", "role": "admin", "grids": grids,
                                                 "id": "adx"}, page="/admin/people")
        assert resp.status_code == 403, resp.status_code
    assert api.get("/people/adx").status_code == 404
    resp = scoped_web.post("/admin/people/adm1/edit", {"name": "adm1", "grids": "c2"},
                           page="/admin/people/adm1")
    assert resp.status_code == 403
    html = html_of(scoped_web.get("/admin/people/adm1"))
    assert 'id="not-managed"' in html and 'id="edit-person"' not in html
    assert api.ok(api.get("/people/adm1"))["grids"] == ["c1"]


def test_batch_slips_and_cards_skip_another_community(api, scoped_web):
    page = html_of(scoped_web.get("/admin/print"))
    assert 'value="v1"' in page and 'value="v3"' not in page
    resp = scoped_web.post("/admin/print/sign-ins", {"person": ["v3", "v2"]})
    text = html_of(resp)
    assert resp.status_code == 200 and "name of v2" in text and "name of v3" not in text
    resp = scoped_web.post("/admin/print/cards", {"person": ["v3"], "mode": "new"},
                           page="/admin/print")
    assert resp.status_code == 400
    assert api.get("/people/v3").status_code == 200


def test_grids_shops_and_rules_pages(api, scoped_web):
    html = html_of(scoped_web.get("/admin/grids"))
    assert 'id="grid-g1"' in html and 'id="grid-h1"' not in html and 'id="grid-c2"' not in html
    resp = scoped_web.post("/admin/grids", {"name": "x", "parent": "h1"})
    assert resp.status_code == 400
    resp = scoped_web.post("/admin/grids", {"name": "新社区", "parent": ""}, page="/admin/grids")
    assert resp.status_code == 403
    resp = scoped_web.post("/admin/grids", {"name": "三网格", "parent": "c1", "id": "g3"},
                           page="/admin/grids")
    assert resp.status_code == 303
    html = html_of(scoped_web.get("/admin/shops"))
    assert "s1b" in html and "二社区超市" not in html
    not_found(scoped_web.get("/admin/shops/s2"))
    csrf = scoped_web.csrf("/admin/shops")
    not_found(scoped_web.post("/admin/shops/s2/items", {"name": "油", "price": "5",
                                                        "stock": "1"}, csrf=csrf))
    not_found(scoped_web.post("/admin/shops/s2/staff", {"name": "x"}, csrf=csrf))
    assert api.ok(api.get("/shops/s2/catalog"))["items"] == []
    assert 'id="rules-district-only"' in html_of(scoped_web.get("/admin/rules"))
    resp = scoped_web.post("/admin/rules", {"key": "x", "points_per_hour": "1",
                                            "timezone": "Asia/Shanghai"}, page="/admin/rules")
    assert resp.status_code == 403


def test_devices_page(api, scoped_web):
    theirs = api.enroll("w3")
    html = html_of(scoped_web.get("/admin/devices"))
    assert theirs.id not in html
    not_found(scoped_web.post(f"/admin/devices/{theirs.id}/revoke", {},
                              page="/admin/devices"))
    assert {d["id"]: d["revoked"] for d in api.ok(api.get("/devices"))["devices"]}[
        theirs.id] is False


# --- cases, field data, conflicts, exports, dashboard, imports ----------------------------
HOME_C2 = "0b9f1c2e-0000-4000-8000-0000000000c2"


@pytest.fixture
def c2_field(api, scoped_web):
    """In c2: household 二社区1号 of h1 (a conflict on its notes, a visit noting a hazard)
    and a resident's case; 10 points adjusted to v3."""
    from tests.cases.cases_support import case_rules, new_report, report_code

    w3, w3b = api.enroll("w3"), api.enroll("w3", "second phone")
    push(w3, w3.change("households", {"grid": "h1", "address": "二社区1号",
                                      "head_name": "赵二"}, id=HOME_C2))
    push(w3, w3.change("households", {"notes": "a"}, id=HOME_C2, base=1))
    push(w3b, w3b.change("households", {"notes": "b"}, id=HOME_C2, base=1))
    push(w3, w3.change("visits", {"household": HOME_C2, "outcome": "met",
                                  "visited_at": "2026-11-20T02:00:00.000Z",
                                  "hazards": ["二社区隐患"]}))
    case_rules(api)
    case_id, _receipt = new_report(api, report_code(api, "h1"), title="二社区的案件")
    api.ok(api.post("/ledger/adjustments", {"id": "adj-v3", "account": "volunteer:v3",
                                             "amount": 10, "reason": "welcome"}), 201)
    return {"case": case_id}


def test_field_pages_of_another_community(scoped_web, office_web, c2_field):
    not_found(scoped_web.get(f"/admin/households/{HOME_C2}"))
    assert "二社区1号" not in html_of(scoped_web.get("/admin/households"))
    assert scoped_web.get("/admin/households?grid=h1").status_code == 400
    assert "二社区隐患" not in html_of(scoped_web.get("/admin/needs"))
    assert "二社区隐患" not in html_of(scoped_web.get("/admin/visits"))
    assert 'id="hours-v3"' not in html_of(scoped_web.get("/admin/hours"))
    assert 'id="hours-v1"' in html_of(scoped_web.get("/admin/hours"))
    # the district office sees them all
    assert "二社区1号" in html_of(office_web.get(f"/admin/households/{HOME_C2}"))
    assert "二社区隐患" in html_of(office_web.get("/admin/needs"))


@pytest.mark.parametrize("query", ["grid=h1", "grid=nope", "from=bad", "outcome=x",
                                   "from=bad&q=二社区", "kind=needs&grid=nope"])
def test_refused_filters_show_nothing_of_another_community(scoped_web, c2_field, query):
    """A filter the page refuses (400) reads nothing: it used to fall back to every
    grid of the district (review finding S-1)."""
    for page in ("households", "needs", "visits", "hours"):
        resp = scoped_web.get(f"/admin/{page}?{query}")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 400, (page, query)
        assert "二社区1号" not in html and "二社区隐患" not in html, (page, query)
        assert 'id="hours-v3"' not in html, (page, query)


def test_conflicts_page_of_another_community(api, scoped_web, office_web, c2_field):
    html = html_of(scoped_web.get("/admin/conflicts"))
    assert 'id="no-conflicts"' in html
    (conflict,) = api.ok(api.get("/conflicts"))["conflicts"]
    not_found(scoped_web.post(f"/admin/conflicts/{conflict['id']}/resolve", {"keep": "loser"},
                              page="/admin/conflicts"))
    assert f'id="conflict-{conflict["id"]}"' in html_of(office_web.get("/admin/conflicts"))


def test_case_pages_of_another_community(api, scoped_web, office_web, c2_field):
    case = c2_field["case"]
    assert "二社区的案件" not in html_of(scoped_web.get("/admin/cases"))
    not_found(scoped_web.get("/admin/cases?grid=h1"))
    not_found(scoped_web.get(f"/admin/cases/{case}"))
    csrf = scoped_web.csrf("/admin/cases")
    not_found(scoped_web.post(f"/admin/cases/{case}/assign", {"assignee": "w3"}, csrf=csrf))
    not_found(scoped_web.post(f"/admin/cases/{case}/cancel", {"reason": "x"}, csrf=csrf))
    not_found(scoped_web.get("/admin/grids/h1/poster"))
    not_found(scoped_web.post("/admin/grids/h1/poster", {}, csrf=csrf))
    posters = html_of(scoped_web.get("/admin/posters"))
    assert 'id="poster-g1"' in posters and 'id="poster-h1"' not in posters
    not_found(scoped_web.get("/admin/reports/cases?grid=c2"))
    not_found(scoped_web.get("/admin/reports/cases.xlsx?grid=c2"))
    assert scoped_web.get("/admin/reports/cases").status_code == 200       # c1's
    assert api.ok(api.get(f"/cases/{case}"))["fields"]["status"] == "open"
    assert "二社区的案件" in html_of(office_web.get("/admin/cases"))


def test_exports_of_another_community(scoped_web, office_web, c2_field):
    from tests.web.test_console_data import xlsx_rows

    rows = xlsx_rows(scoped_web.client.get("/admin/export/visits").data)
    assert all("二社区1号" not in str(r) for r in rows)
    assert scoped_web.get("/admin/export/visits?grid=h1").status_code == 400
    ledger = xlsx_rows(scoped_web.client.get("/admin/export/ledger?from=2020-01-01").data)
    assert ledger[1:] and all("volunteer:v3" not in str(r) for r in ledger)
    assert any("volunteer:v3" in str(r) for r in xlsx_rows(
        office_web.client.get("/admin/export/ledger?from=2020-01-01").data))
    cases = xlsx_rows(scoped_web.client.get("/admin/export/cases").data)
    assert all("二社区的案件" not in str(r) for r in cases)


def test_dashboard_is_their_community(scoped_web, office_web, c2_field):
    html = html_of(scoped_web.get("/admin/dashboard?community=c2"))
    assert 'value="c2"' not in html
    assert 'value="c2"' in html_of(office_web.get("/admin/dashboard"))


def test_import_of_another_communitys_grid_is_an_unknown_grid(api, app, scoped_web, office_web):
    import dataclasses

    from tests.web.test_console_data import roster, upload

    app.extensions["gridsync.settings"] = dataclasses.replace(
        app.extensions["gridsync.settings"], import_in_request=True)
    data = roster([["R-1", "h1", "二社区9号", "钱九", 2, None, None, None],
                   ["R-2", "g1", "幸福路99号", "孙十", 1, None, None, None]],
                  [["p-new", "新人", "志愿者", "h1", None], ["p-ok", "好人", "志愿者", "g1", None]])
    resp = upload(scoped_web, data)
    assert resp.status_code == 303, resp.status_code
    job = resp.headers["Location"]
    assert "“h1”" in html_of(scoped_web.get(job))          # as a grid nobody has
    theirs = upload(office_web, data).headers["Location"]  # the district office's job
    not_found(scoped_web.get(theirs))
    not_found(scoped_web.post(theirs + "/apply", {}, page=job))
    resp = scoped_web.post(job + "/apply", {})
    assert resp.status_code == 303
    assert api.get("/people/p-new").status_code == 404
    assert api.ok(api.get("/people/p-ok"))["community"] == "c1"
    everything = html_of(office_web.get("/admin/households"))
    assert "幸福路99号" in everything and "二社区9号" not in everything


def test_import_of_an_id_taken_outside_their_community_tells_nothing_more(api, app, scoped_web):
    """A people row with the id of another community's volunteer, the district admin or
    the auditor is refused as a taken id, without their role."""
    import dataclasses

    from tests.web.test_console_data import roster, upload

    app.extensions["gridsync.settings"] = dataclasses.replace(
        app.extensions["gridsync.settings"], import_in_request=True)
    people = [[pid, "某人", "网格员", "g1", None] for pid in ("v3", "admin", "a1")]
    page = html_of(scoped_web.get(upload(scoped_web, roster([], people)).headers["Location"]))
    for pid in ("v3", "admin", "a1"):
        assert f"编号“{pid}”已被别人使用" in page
    for role in ("volunteer", "admin", "auditor", "志愿者", "管理员", "审计"):
        assert f"（{role}）" not in page and f"({role})" not in page


def test_import_dry_run_refuses_what_the_write_would(api, app, scoped_web):
    """B-5: the dry run called a scoped admin's new 管理员 row and another community's
    shop "new", then the write said "refused by the server (changed by someone else?)".
    The dry run asks the directory's own rule and lists them, in Chinese; and a formula
    cell saved without its value is named as a formula, not "not allowed: “”"."""
    import dataclasses

    from tests.web.test_console_data import roster, upload

    app.extensions["gridsync.settings"] = dataclasses.replace(
        app.extensions["gridsync.settings"], import_in_request=True)
    people = [["p-adm", "新管理员", "管理员", "g1", None],
              ["p-shop", "收银员", "超市", None, "s2"],
              ["p-f", "=B2&B3", "志愿者", "g1", None],
              ["p-ok", "好人", "志愿者", "g1", None]]
    job = upload(scoped_web, roster([], people)).headers["Location"]
    page = html_of(scoped_web.get(job))
    assert "只有全区管理员才能添加管理员和审计员" in page
    assert "没有这个超市。" in page
    assert "此单元格是公式（=B2&amp;B3），不是值" in page
    assert "此值不允许" not in page
    resp = scoped_web.post(job + "/apply", {})
    assert resp.status_code == 303
    page = html_of(scoped_web.get(resp.headers["Location"]))
    assert "服务器拒绝" not in page
    assert api.ok(api.get("/people/p-ok"))["community"] == "c1"
    for pid in ("p-adm", "p-shop", "p-f"):
        assert api.get(f"/people/{pid}").status_code == 404
