"""A NUL character typed or pasted into a page's form: refused with a clear page or
kept, never an internal error (PostgreSQL's text cannot hold one; SQLite's can)."""

from __future__ import annotations

from tests.helpers import db_dump
from tests.web.web_support import html_of


def test_a_nul_in_the_catalog_form_is_never_an_internal_error(shop_web, data_dir):
    before = db_dump(data_dir)
    resp = shop_web.post("/shop/catalog", {"name": "茶\x00叶", "price": "3", "stock": "1"},
                         page="/shop/catalog")
    assert resp.status_code in (303, 400), resp.status_code
    if resp.status_code == 400:
        assert "控制字符" in html_of(resp)   # said plainly, in the page's language
        assert db_dump(data_dir) == before
