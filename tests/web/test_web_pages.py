"""The pages through the Flask test client: shop counter and catalog, volunteer pages,
admin pages, language switch, error pages, headers, translations."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.helpers import db_dump, raw_db
from tests.web.web_support import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    V2_PHONE,
    V2_PIN,
    WebClient,
    html_of,
    scalar,
)

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "server/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
MO = PO.with_suffix(".mo")


# --- volunteer ------------------------------------------------------------
def test_volunteer_sees_balance_hours_and_entries(v1_web):
    html = html_of(v1_web.get("/me"))
    assert re.search(r'id="balance">40<', html)
    assert re.search(r'id="hours-verified">.*?<strong>4</strong>', html, re.S)
    assert re.search(r'id="hours-recorded">.*?<strong>1</strong>', html, re.S)
    assert re.search(r'id="hours-rejected">.*?<strong>0.5</strong>', html, re.S)
    assert 'id="entry-1"' in html and "+40" in html
    assert "v2" not in html and "entry-2" not in html       # v2's adjustment is entry 2


def test_hour_totals_count_every_log_not_just_the_listed_ones(v1_web, web_world):
    w1 = web_world["w1"]
    w1.sync([w1.change("service_logs", {"volunteer": "v1", "activity": "elderly_care",
                                        "started_at": "2026-11-20T01:00:00Z", "minutes": 60})
             for _ in range(520)])
    html = html_of(v1_web.get("/me"))
    assert re.search(r'id="hours-recorded">.*?<strong>521</strong>', html, re.S)
    assert re.search(r'id="hours-verified">.*?<strong>4</strong>', html, re.S)


def test_verify_says_plainly_whether_an_entry_is_genuine(v1_web, data_dir):
    html = html_of(v1_web.get("/me/entries/1"))
    assert 'data-ok="1"' in html and "校验通过" in html
    with raw_db(data_dir) as db:   # tamper with the stored entry behind the server's back
        body = json.loads(db.scalar("SELECT body FROM entries WHERE seq = 1"))
        db.execute("UPDATE entries SET body = ? WHERE seq = 1",
                   (json.dumps({**body, "amount": 400}),))
    html = html_of(v1_web.get("/me/entries/1"))
    assert 'data-ok="0"' in html and "校验失败" in html and "签名后被改动过" in html


def test_another_volunteers_data_is_never_shown(app, v1_web, web_world, data_dir):
    v2_seq = scalar(data_dir, "SELECT seq FROM entries WHERE credit = 'volunteer:v2'")
    for path in (f"/me/entries/{v2_seq}", "/me/entries/999"):
        resp = v1_web.get(path)
        assert resp.status_code == 404 and "页面不存在" in html_of(resp)
    for path in ("/shop", "/shop/catalog", "/admin/people", "/admin/people/v2"):
        resp = v1_web.get(path)
        assert resp.status_code == 403 and "无权访问" in html_of(resp)
    before = db_dump(data_dir)
    resp = v1_web.post("/admin/people/v2/login", {"login": V2_PHONE, "secret": "111111"},
                       page="/me")
    assert resp.status_code == 403 and db_dump(data_dir) == before
    v2 = WebClient(app.test_client())
    v2.sign_in(V2_PHONE, V2_PIN)
    html = html_of(v2.get("/me"))
    assert re.search(r'id="balance">5<', html) and "entry-1\"" not in html


# --- admin ----------------------------------------------------------------
@pytest.fixture
def admin_web(app, web_world):
    client = WebClient(app.test_client())
    client.sign_in(ADMIN_LOGIN, ADMIN_PASSWORD)
    return client


def test_admin_sets_logins_and_pins(admin_web, app, data_dir):
    html = html_of(admin_web.get("/admin/people"))
    assert "13800000001" in html and "shop1" in html
    resp = admin_web.post("/admin/people/v2/login", {"login": "13900000002", "secret": "555777"},
                          page="/admin/people/v2")
    assert resp.status_code == 200 and "登录方式已保存" in html_of(resp)
    WebClient(app.test_client()).sign_in("13900000002", "555777")
    before = db_dump(data_dir)
    resp = admin_web.post("/admin/people/v2/login", {"login": "13900000002", "secret": "12"},
                          page="/admin/people/v2")
    assert resp.status_code == 400 and "PIN 码为 6 到 12 位数字" in html_of(resp)
    resp = admin_web.post("/admin/people/v2/login", {"login": "13800000001", "secret": "123456"},
                          page="/admin/people/v2")
    assert resp.status_code == 409 and "已有其他人使用" in html_of(resp)
    assert db_dump(data_dir) == before
    assert admin_web.get("/admin/people/nobody").status_code == 404


def test_admin_resolves_conflicts_and_revokes_devices(admin_web, api, web_world, data_dir):
    w1, w1b = web_world["w1"], web_world["w1b"]
    hid = "0b9f1c2e-0000-4000-8000-000000000001"
    from tests.web.web_support import push

    push(w1, w1.change("households", {"grid": "g1", "notes": "a"}, id=hid))
    push(w1, w1.change("households", {"notes": "门口有台阶"}, id=hid, base=1))
    push(w1b, w1b.change("households", {"notes": "需要轮椅"}, id=hid, base=1))
    html = html_of(admin_web.get("/admin/conflicts"))
    (cid,) = re.findall(r'id="conflict-(\d+)"', html)
    assert "门口有台阶" in html and "需要轮椅" in html
    resp = admin_web.post(f"/admin/conflicts/{cid}/resolve", {"keep": "loser"},
                          page="/admin/conflicts")
    assert resp.status_code == 303
    assert 'id="no-conflicts"' in html_of(admin_web.get("/admin/conflicts"))
    assert api.ok(api.get("/conflicts"))["conflicts"] == []
    resp = admin_web.post(f"/admin/conflicts/{cid}/resolve", {"keep": "winner"})
    assert resp.status_code == 409

    html = html_of(admin_web.get("/admin/devices"))
    assert w1.id in html and "w1 phone" in html
    resp = admin_web.post(f"/admin/devices/{w1.id}/revoke", page="/admin/devices")
    assert resp.status_code == 303
    assert api.post("/sync", {"cursor": None, "changes": []}, token=w1.token).status_code == 401
    assert "已于" in html_of(admin_web.get("/admin/devices"))


def test_admin_issues_a_card(admin_web, data_dir):
    html = html_of(admin_web.post("/admin/people/v2/card", page="/admin/people/v2"))
    card = re.search(r'id="card-code">([^<]+)<', html).group(1)
    import hashlib

    assert scalar(data_dir, "SELECT card_hash FROM people WHERE id = 'v2'") == \
        hashlib.sha256(card.replace("-", "").encode()).hexdigest()


# --- language, errors, headers --------------------------------------------
def test_chinese_by_default_english_by_link(web):
    assert "<h1>登录</h1>" in html_of(web.get("/login"))
    resp = web.get("/login?lang=en")
    assert resp.status_code == 303 and resp.headers["Location"] == "/login"
    assert "<h1>Sign in</h1>" in html_of(web.get("/login"))
    assert '<html lang="en">' in web.last_html
    web.get("/login?lang=zh_CN")
    assert '<html lang="zh-CN">' in html_of(web.get("/login"))


def test_numbers_and_dates_in_local_format(api, v1_web):
    api.ok(api.post("/ledger/adjustments", {"id": "big", "account": "volunteer:v1",
                                             "amount": 12000, "reason": "test"}), 201)
    html = html_of(v1_web.get("/me"))
    assert re.search(r'id="balance">12,040<', html)
    assert re.search(r"\d{4}/\d{1,2}/\d{1,2} \d{2}:\d{2}", html)      # zh_CN short date
    v1_web.get("/me?lang=en")
    html = html_of(v1_web.get("/me"))
    assert re.search(r"\d{1,2}/\d{1,2}/\d{2}, \d{1,2}:\d{2}\s?[AP]M", html)   # en short date


def test_page_errors_are_html_and_api_errors_stay_json(web, shop_web, api):
    resp = shop_web.get("/shop/receipts/nope")
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    resp = api.get("/nope")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    resp = api.post("/grids", {"id": "x"})
    assert resp.status_code == 400 and resp.mimetype == "application/json"
    resp = web.client.post("/api/v1/grids", data="id=x",
                           content_type="application/x-www-form-urlencoded",
                           headers=api.headers())
    assert resp.status_code == 415 and resp.get_json()["error"]["code"] == \
        "unsupported_media_type"


@pytest.mark.parametrize("path", ["/shop/nope", "/me/entries/abc", "/admin/x/y", "/me/x"])
def test_unknown_page_addresses_get_the_html_not_found_page(v1_web, path):
    resp = v1_web.get(path)
    assert resp.status_code == 404 and "页面不存在" in html_of(resp)
    assert v1_web.get("/me/").status_code == 200


def test_an_unexpected_error_is_a_friendly_page(v1_web, monkeypatch):
    from server.services import me_overview

    def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(me_overview, "overview", boom)
    resp = v1_web.get("/me")
    html = html_of(resp)
    assert resp.status_code == 500 and "服务器出错了" in html and "secret internals" not in html


def test_database_busy_is_a_retry_page(v1_web, monkeypatch):
    from server.services import me_overview
    from server.storage import BackendError
    from server.storage.errors import BUSY

    def busy(*a, **k):  # what storage raises when SQLite stays locked past its timeout
        raise BackendError(sqlite3.OperationalError("database is locked"), BUSY)

    monkeypatch.setattr(me_overview, "overview", busy)
    resp = v1_web.get("/me")
    assert resp.status_code == 503 and "服务器正忙" in html_of(resp)
    from server.services import web_auth

    monkeypatch.setattr(web_auth, "session", busy)      # even finding the session fails
    resp = v1_web.get("/me")
    assert resp.status_code == 503 and "服务器正忙" in html_of(resp)


def test_get_on_a_form_address_goes_back_to_the_start(shop_web):
    for path in ("/shop/redeem", "/shop/lookup"):
        resp = shop_web.get(path)
        assert resp.status_code == 302 and resp.headers["Location"] == "/shop"


def test_pages_send_security_headers(web):
    resp = web.get("/login")
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_static_files_are_served(web):
    for path in ("/static/js/app.js", "/static/css/app.css"):
        with web.client.get(path) as resp:
            assert resp.status_code == 200


# --- translations ----------------------------------------------------------
def _catalog():
    from babel.messages.pofile import read_po

    with PO.open("rb") as fh:
        return read_po(fh, locale="zh_Hans_CN")


def test_every_message_is_translated():
    untranslated = [m.id for m in _catalog() if m.id and (
        not m.string or (isinstance(m.string, tuple) and not all(m.string)) or m.fuzzy)]
    assert untranslated == []


def test_every_string_in_the_code_is_in_the_catalog():
    from babel.messages.extract import extract_from_dir

    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None,
                "lazy_gettext": None}
    method_map = [("server/web/**.py", "python"), ("server/services/web_auth.py", "python"),
                  ("server/templates/**.html", "jinja2")]
    found = {msg[2] for msg in extract_from_dir(str(ROOT), method_map=method_map,
                                                 keywords=keywords)}
    known = {m.id for m in _catalog() if m.id}
    assert {m if isinstance(m, str) else tuple(m) for m in found} - known == set()


def test_compiled_catalog_matches_the_po_file():
    """The .mo is committed (no compile step needed on a fresh clone); it must be
    rebuilt with `make translations` whenever the .po changes."""
    from babel.messages.mofile import write_mo

    compiled = io.BytesIO()
    write_mo(compiled, _catalog())
    assert MO.read_bytes() == compiled.getvalue(), "run `make translations`"
