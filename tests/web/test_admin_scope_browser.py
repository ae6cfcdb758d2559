"""The pages scoped administrators changed, in a real browser: the people page (a
scoped admin's add form offers the roles they manage; the district office's says how
to make a community's administrator), a person a scoped admin may see but not manage,
another community's person (the "not found" page), the grids page (no new community)
and the rules page (the district's rules). Screenshots in Chinese and English, at
360 px and desktop: tests/artifacts/web/console-scope-<page>-<lang>-<width>.png.
"""

from __future__ import annotations

import pytest

from tests.browser_support import needs_chromium
from tests.helpers import add_second_community
from tests.web.test_browser import new_page, sign_in, site  # noqa: F401  (fixtures)
from tests.web.test_console_browser import shots
from tests.web.web_support import ADMIN_LOGIN, ADMIN_PASSWORD

pytestmark = needs_chromium

SCOPED_LOGIN, SCOPED_PASSWORD = "office-c1", "office-c1-pass"


@pytest.fixture
def scoped_admin(api, web_world):
    add_second_community(api)
    api.person("adm1", "admin", ["c1"])
    api.ok(api.put("/people/adm1/login", {"login": SCOPED_LOGIN, "secret": SCOPED_PASSWORD}))


def test_scoped_admin_pages(new_page, site, scoped_admin):  # noqa: F811
    page = new_page()
    sign_in(page, site, "/admin/people", SCOPED_LOGIN, SCOPED_PASSWORD)
    assert page.locator("#person-v1").count() == 1 and page.locator("#person-v3").count() == 0
    roles = page.locator("#add-person select[name=role] option").all_inner_texts()
    assert len(roles) == 3                                   # worker, volunteer, shop staff
    shots(page, "scope-people")
    page.goto(site + "/admin/people/adm1")
    assert page.locator("#not-managed").count() == 1
    shots(page, "scope-person-not-managed")
    resp = page.goto(site + "/admin/people/v3")
    assert resp is not None and resp.status == 404
    shots(page, "scope-not-found")
    page.goto(site + "/admin/grids")
    assert page.locator("#grid-h1").count() == 0
    assert page.locator("select[name=parent] option[value='']").count() == 0
    shots(page, "scope-grids")
    page.goto(site + "/admin/rules")
    assert page.locator("#rules-district-only").is_visible()
    assert page.locator("#rules-form input[name=key]").first.is_disabled()   # read only
    assert page.locator("#rules-form button[type=submit]").count() == 0
    shots(page, "scope-rules")


def test_district_office_people_page(new_page, site, scoped_admin):  # noqa: F811
    page = new_page()
    sign_in(page, site, "/admin/people", ADMIN_LOGIN, ADMIN_PASSWORD)
    assert page.locator("#admin-scope-hint").is_visible()
    assert page.locator("#person-v3").count() == 1
    shots(page, "scope-district-people")
