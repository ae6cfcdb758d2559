"""Scoped administrators on the office console (docs/protocol.md, scoped administrators).

``adm1`` (web sign-in ``office-c1``) holds community c1; c2 (add_second_community) is
another community's. Each of c2's objects is a 404 page for adm1 and nothing changes;
c1's work; the district office (``office_web``, no grids) sees and does everything.
"""

from __future__ import annotations

import pytest

from tests.helpers import add_second_community
from tests.web.web_support import WebClient, html_of

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
