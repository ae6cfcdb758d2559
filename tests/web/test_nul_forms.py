"""A NUL character typed or pasted into a page's form: refused with a clear page in the
reader's language, nothing written, the same on both databases (PostgreSQL's text cannot
hold one; SQLite's could, so without the one rule a form kept it there and refused it on
PostgreSQL). The residents' forms clean control characters themselves and show the form
again (tests/web/test_export_browser.py)."""

from __future__ import annotations

import pytest

from tests.helpers import db_dump
from tests.web.web_support import html_of

OFFICE_FORMS = [
    ("/admin/grids", {"id": "g9", "name": "九\x00网格", "parent": "c1"}),
    ("/admin/people", {"id": "v9", "name": "志愿\x00者", "role": "volunteer", "grids": "g1"}),
    ("/admin/shops", {"id": "s9", "name": "超\x00市", "community": "c1"}),
]


@pytest.mark.parametrize(("path", "form"), OFFICE_FORMS, ids=[p for p, _ in OFFICE_FORMS])
def test_a_nul_in_an_office_form_is_refused_and_nothing_written(office_web, data_dir,
                                                                path, form):
    before = db_dump(data_dir)
    resp = office_web.post(path, form, page=path)
    assert resp.status_code == 400, resp.status_code
    assert "控制字符" in html_of(resp)            # said plainly, in the page's language
    assert db_dump(data_dir) == before
    clean = {key: value.replace("\x00", "") for key, value in form.items()}
    assert office_web.post(path, clean, page=path).status_code == 303   # the form works


def test_a_nul_in_the_catalog_form_is_refused_and_nothing_written(shop_web, data_dir):
    before = db_dump(data_dir)
    resp = shop_web.post("/shop/catalog", {"name": "茶\x00叶", "price": "3", "stock": "1"},
                         page="/shop/catalog")
    assert resp.status_code == 400, resp.status_code
    assert "控制字符" in html_of(resp)
    assert db_dump(data_dir) == before


def test_a_nul_in_an_uploaded_file_name_is_refused_and_nothing_written(office_web, data_dir):
    from server.services import roster_import
    from tests.web.test_console_data import upload

    before = db_dump(data_dir)
    resp = upload(office_web, roster_import.template(), name="ro\x00ster.xlsx")
    assert resp.status_code == 400, resp.status_code
    assert "控制字符" in html_of(resp)
    assert db_dump(data_dir) == before
    assert upload(office_web, roster_import.template()).status_code == 303
