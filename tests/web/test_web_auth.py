"""Web sign-in: the login API, password/PIN checks and lock-out, sessions, CSRF,
personal links, admin token sign-in. Each failure gets a clear page and changes
nothing (beyond counting the failure)."""

from __future__ import annotations

import hashlib
import re

import pytest

from primitives.b64url import b64url_decode, b64url_encode
from server import clock
from server.keystore import login_pepper
from server.services import web_auth
from tests.helpers import api_error, api_validation, db_dump, issue_token, raw_db
from tests.web.web_support import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    SHOP_LOGIN,
    SHOP_PASSWORD,
    V1_PHONE,
    V1_PIN,
    WebClient,
)

# Tables a failed sign-in may touch: its failure counters.
COUNTERS = ("rate_limits", "web_logins")


def rows(data_dir, sql, *params):
    with raw_db(data_dir) as db:
        return [tuple(row) for row in db.execute(sql, params).fetchall()]


def page_text(resp) -> str:
    html = resp.get_data(as_text=True)
    assert resp.mimetype == "text/html"
    assert "Traceback" not in html
    return html


# --- PUT /api/v1/people/<id>/login ----------------------------------------
def test_login_api_stores_a_scrypt_hash_never_the_secret(api, web_world, data_dir, monkeypatch):
    monkeypatch.setattr(web_auth, "SCRYPT_N", 2**14)   # the production cost
    out = api.ok(api.put("/people/v1/login", {"login": "138 0000 0001", "secret": "975310"}))
    assert out == {"person": "v1", "login": "13800000001"}
    (stored,) = rows(data_dir, "SELECT secret_hash FROM web_logins WHERE person = 'v1'")
    assert stored[0].startswith("scrypt-hmac$16384$8$1$") and "975310" not in stored[0]


def _old_format(secret: str, n: int) -> str:
    """A hash as gridsync stored them before the pepper: scrypt of the secret itself."""
    salt = b"0123456789abcdef"
    key = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=8, p=1, dklen=32)
    return f"scrypt${n}$8$1${b64url_encode(salt)}${b64url_encode(key)}"


def test_a_copy_of_the_database_alone_cannot_check_a_pin(api, web_world, data_dir):
    """The stored hash is peppered with a key derived from the server secret: what was
    enough before (scrypt of each of the 10^6 PINs with the stored salt) finds nothing,
    and without the secret no pepper can be tried (it is 256 random bits away)."""
    api.ok(api.put("/people/v1/login", {"login": "13800000009", "secret": "975310"}))
    (stored,) = rows(data_dir, "SELECT secret_hash FROM web_logins WHERE person = 'v1'")
    scheme, n, r, p, salt, key = stored[0].split("$")
    assert scheme == "scrypt-hmac"
    unpeppered = hashlib.scrypt(b"975310", salt=b64url_decode(salt), n=int(n), r=int(r),
                                p=int(p), dklen=32)
    assert b64url_encode(unpeppered) != key
    assert not web_auth.check_secret("975310", stored[0], pepper=b"")
    assert not web_auth.check_secret("975310", stored[0], pepper=b"\0" * 32)
    assert web_auth.check_secret("975310", stored[0], pepper=login_pepper(str(data_dir)))


def test_pins_hashed_before_the_pepper_still_work_and_are_upgraded_at_sign_in(
        app, api, web_world, data_dir):
    api.ok(api.put("/people/v1/login", {"login": "13800000009", "secret": "975310"}))
    with raw_db(data_dir) as db:
        db.execute("UPDATE web_logins SET secret_hash = ? WHERE person = 'v1'",
                   (_old_format("975310", web_auth.SCRYPT_N),))
    web = WebClient(app.test_client())
    resp = web.post("/login", {"login": "13800000009", "secret": "111111"}, page="/login")
    assert resp.status_code == 401
    (stored,) = rows(data_dir, "SELECT secret_hash FROM web_logins WHERE person = 'v1'")
    assert stored[0].startswith("scrypt$")  # a wrong PIN upgrades nothing
    web.sign_in("13800000009", "975310")
    (stored,) = rows(data_dir, "SELECT secret_hash FROM web_logins WHERE person = 'v1'")
    assert stored[0].startswith("scrypt-hmac$")
    again = WebClient(app.test_client())
    again.sign_in("13800000009", "975310")  # the upgraded hash works
    bad = WebClient(app.test_client()).post(
        "/login", {"login": "13800000009", "secret": "975311"}, page="/login")
    assert bad.status_code == 401


@pytest.mark.parametrize(("person", "body", "fields"), [
    ("v1", {"login": "volunteer1", "secret": "123456"}, ["login"]),
    ("v1", {"login": "13800000001", "secret": "1234"}, ["secret"]),
    ("v1", {"login": "13800000001", "secret": "abcdef"}, ["secret"]),
    ("shop1", {"login": "shop1", "secret": "short"}, ["secret"]),
    ("shop1", {"login": "x", "secret": "long enough"}, ["login"]),
    ("w1", {"login": "worker1", "secret": "long enough"}, ["person"]),
])
def test_login_api_validates_by_role(api, web_world, person, body, fields):
    api_validation(api.put(f"/people/{person}/login", body), *fields)


def test_login_api_errors(api, web_world, data_dir):
    api_error(api.put("/people/v2/login", {"login": V1_PHONE, "secret": "111111"}), 409,
              "id_reused")
    api_error(api.put("/people/nobody/login", {"login": "13900000000", "secret": "111111"}),
              404, "not_found")
    api_validation(api.put("/people/v1/login", {"login": V1_PHONE}), "secret")
    api_validation(api.put("/people/v1/login", {"login": V1_PHONE, "secret": "123456",
                                                "extra": 1}), "extra")
    shop_token = api.enroll("shop1").token
    api_error(api.put("/people/v1/login", {"login": V1_PHONE, "secret": "123456"},
                      token=shop_token), 403, "forbidden")


def test_setting_a_login_ends_open_sessions(app, api, v1_web):
    assert v1_web.get("/me").status_code == 200
    api.ok(api.put("/people/v1/login", {"login": V1_PHONE, "secret": "864200"}))
    resp = v1_web.get("/me")
    assert resp.status_code == 401 and "重新登录" in page_text(resp)


# --- password / PIN -------------------------------------------------------
def test_right_pin_signs_in_with_safe_cookie_flags(app, web_world):
    web = WebClient(app.test_client())
    resp = web.post("/login", {"login": "138-0000-0001", "secret": V1_PIN}, page="/login")
    assert resp.status_code == 303 and resp.headers["Location"] == "/me"
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("gs_session="))
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    assert web.get("/me").status_code == 200


def test_wrong_password_gets_a_clear_page_and_no_session(app, web_world, data_dir):
    web = WebClient(app.test_client())
    before = db_dump(data_dir, skip=COUNTERS)
    resp = web.post("/login", {"login": SHOP_LOGIN, "secret": "not-the-password"}, page="/login")
    assert resp.status_code == 401
    assert "登录名、手机号、密码或 PIN 码错误" in page_text(resp)
    assert web.session_cookie() is None
    assert db_dump(data_dir, skip=COUNTERS) == before
    assert web.get("/shop").status_code == 302   # still signed out: sent to the login page


def test_unknown_login_is_told_the_same_as_a_wrong_password(app, web_world):
    web = WebClient(app.test_client())
    wrong = web.post("/login", {"login": "nobody", "secret": "whatever1"}, page="/login")
    assert wrong.status_code == 401
    assert "登录名、手机号、密码或 PIN 码错误" in page_text(wrong)


def test_five_failures_lock_the_login_for_15_minutes(app, web_world, data_dir, monkeypatch):
    web = WebClient(app.test_client())
    for _ in range(4):
        assert web.post("/login", {"login": V1_PHONE, "secret": "000000"},
                        page="/login").status_code == 401
    fifth = web.post("/login", {"login": V1_PHONE, "secret": "000000"}, page="/login")
    assert fifth.status_code == 429 and "已锁定" in page_text(fifth)
    right = web.post("/login", {"login": V1_PHONE, "secret": V1_PIN}, page="/login")
    assert right.status_code == 429 and web.session_cookie() is None
    assert rows(data_dir, "SELECT count(*) FROM web_sessions")[0][0] == 0
    later = clock.now_ms() + 15 * 60_000 + 1000
    monkeypatch.setattr(clock, "now_ms", lambda: later)
    web.sign_in(V1_PHONE, V1_PIN)
    assert web.get("/me").status_code == 200
    assert rows(data_dir, "SELECT failed, locked_until FROM web_logins "
                          "WHERE person = 'v1'") == [(0, None)]


def test_many_failures_from_one_address_are_throttled(make_app, data_dir, web_world):
    app = make_app(data_dir, WEB_FAILURES_PER_MINUTE=3)
    web = WebClient(app.test_client())
    for login in ("a1234", "b1234", "c1234"):
        web.post("/login", {"login": login, "secret": "whatever1"}, page="/login")
    resp = web.post("/login", {"login": SHOP_LOGIN, "secret": SHOP_PASSWORD}, page="/login")
    assert resp.status_code == 429 and web.session_cookie() is None


def test_inactive_person_cannot_sign_in_and_loses_sessions(app, api, v1_web, data_dir):
    api.ok(api.patch("/people/v1", {"active": False}))
    assert v1_web.get("/me").status_code == 401
    web = WebClient(app.test_client())
    resp = web.post("/login", {"login": V1_PHONE, "secret": V1_PIN}, page="/login")
    assert resp.status_code == 401 and web.session_cookie() is None
    # Reactivating does not bring the old session back: it ended with the deactivation.
    assert rows(data_dir, "SELECT count(*) FROM web_sessions WHERE person = 'v1'")[0][0] == 0
    api.ok(api.patch("/people/v1", {"active": True}))
    again = v1_web.get("/me")
    assert again.status_code == 302 and "/login" in again.headers["Location"]


def test_odd_csrf_values_and_huge_ids_get_pages_not_500(app, v1_web, shop_web):
    web = WebClient(app.test_client())
    web.get("/login")
    assert web.client.post("/login", data={"login": "x", "secret": "y", "csrf": "é"}
                           ).status_code == 403
    assert shop_web.post("/logout", csrf="é", page="/shop").status_code == 403
    assert v1_web.get(f"/me/entries/{10**30}").status_code == 404


# --- sessions and CSRF ----------------------------------------------------
def basket(shop_web, card) -> dict:
    """The counter's basket form for this card: its id and look-up handle."""
    lookup = shop_web.post("/shop/lookup", {"card": card})
    html = shop_web.get(lookup.headers["Location"]).get_data(as_text=True)
    return {k: re.search(rf'name="{k}" value="([^"]+)"', html).group(1) for k in ("id", "handle")}


def test_expired_session_gets_sign_in_again_page_and_changes_nothing(
        shop_web, web_world, data_dir, monkeypatch):
    form = basket(shop_web, web_world["card"])
    later = clock.now_ms() + 13 * 3_600_000
    monkeypatch.setattr(clock, "now_ms", lambda: later)
    before = db_dump(data_dir)
    resp = shop_web.post("/shop/redeem", {**form, "qty-soap": "1"})
    assert resp.status_code == 401
    html = page_text(resp)
    assert "登录已失效" in html and 'href="/login"' in html
    assert db_dump(data_dir) == before
    assert any(c.startswith("gs_session=;") for c in resp.headers.getlist("Set-Cookie"))
    page = shop_web.client.get("/shop")      # cookie gone: a GET goes to the login page
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")


def test_missing_or_wrong_csrf_token_changes_nothing(shop_web, web_world, data_dir):
    form = {**basket(shop_web, web_world["card"]), "qty-soap": "2"}
    before = db_dump(data_dir)
    for token in (None, "forged-token"):
        resp = shop_web.post("/shop/redeem", form, csrf=token)
        assert resp.status_code == 403
        assert "表单已失效" in page_text(resp)
    resp = shop_web.post("/shop/catalog", {"sku": "tea", "name": "茶", "price": "3",
                                           "stock": "1"}, csrf=None)
    assert resp.status_code == 403
    assert db_dump(data_dir) == before


def test_sign_in_forms_need_their_csrf_cookie(app, web_world, data_dir):
    client = app.test_client()
    resp = client.post("/login", data={"login": SHOP_LOGIN, "secret": SHOP_PASSWORD})
    assert resp.status_code == 403 and client.get_cookie("gs_session") is None
    resp = client.post("/login", data={"login": SHOP_LOGIN, "secret": SHOP_PASSWORD,
                                       "csrf": "made-up"})
    assert resp.status_code == 403 and client.get_cookie("gs_session") is None
    assert rows(data_dir, "SELECT count(*) FROM web_sessions")[0][0] == 0


def test_sign_out_ends_the_session_on_the_server(shop_web, data_dir):
    cookie = shop_web.session_cookie()
    resp = shop_web.post("/logout", page="/shop")
    assert resp.status_code == 303 and resp.headers["Location"] == "/login"
    assert rows(data_dir, "SELECT count(*) FROM web_sessions")[0][0] == 0
    shop_web.client.set_cookie("gs_session", cookie)       # a stolen copy no longer works
    assert shop_web.get("/shop").status_code == 401


def test_next_is_followed_only_to_local_paths(app, web_world):
    web = WebClient(app.test_client())
    first = web.get("/me/card")
    assert first.status_code == 302 and first.headers["Location"] == "/login?next=/me/card"
    resp = web.post("/login", {"login": V1_PHONE, "secret": V1_PIN, "next": "/me/card"},
                    page="/login?next=/me/card")
    assert resp.headers["Location"] == "/me/card"
    web2 = WebClient(app.test_client())
    resp = web2.post("/login", {"login": V1_PHONE, "secret": V1_PIN,
                                "next": "//evil.example/"}, page="/login")
    assert resp.headers["Location"] == "/me"


# --- admin: token or login ------------------------------------------------
def test_admin_signs_in_with_a_token_until_it_is_revoked(app, api, web_world, data_dir):
    token = issue_token(data_dir, "adm2")
    web = WebClient(app.test_client())
    resp = web.post("/login/token", {"token": token}, page="/login")
    assert resp.status_code == 303 and resp.headers["Location"] == "/admin/dashboard"
    assert web.get("/admin/people").status_code == 200
    from server.config import database_target
    from server.services.access import revoke_token
    from server.storage import open_storage

    store = open_storage(database_target(str(data_dir)))
    try:
        revoke_token(store, token.split(".")[0])
    finally:
        store.close()
    assert web.get("/admin/people").status_code == 401


@pytest.mark.parametrize("token", ["not-a-token", "tabc.def"])
def test_bad_or_non_admin_token_is_refused(app, web_world, tokens_v1, token):
    web = WebClient(app.test_client())
    for candidate in (token, tokens_v1):
        resp = web.post("/login/token", {"token": candidate}, page="/login")
        assert resp.status_code == 401 and web.session_cookie() is None
        assert "不是有效的管理员令牌" in page_text(resp)


@pytest.fixture
def tokens_v1(api):
    return api.enroll("v1").token


def test_admin_signs_in_with_a_login_too(app, web_world):
    web = WebClient(app.test_client())
    web.sign_in(ADMIN_LOGIN, ADMIN_PASSWORD)
    assert web.get("/admin/devices").status_code == 200


# --- personal links -------------------------------------------------------
def test_personal_link_works_once_and_only_its_hash_is_stored(app, web_world, data_dir):
    admin = WebClient(app.test_client())
    admin.sign_in(ADMIN_LOGIN, ADMIN_PASSWORD)
    resp = admin.post("/admin/people/v1/link", page="/admin/people/v1")
    html = page_text(resp)
    link = re.search(r'id="personal-link">([^<]+)<', html).group(1)
    path, secret = link.split("#")
    assert path.endswith("/login/link") and "?" not in link
    assert secret not in str(rows(data_dir, "SELECT * FROM web_links"))

    phone = WebClient(app.test_client())
    landing = phone.get("/login/link")
    assert landing.status_code == 200 and secret not in landing.get_data(as_text=True)
    resp = phone.post("/login/link", {"secret": secret})
    assert resp.status_code == 303 and resp.headers["Location"] == "/me"
    assert phone.get("/me").status_code == 200

    again = WebClient(app.test_client())
    again.get("/login/link")
    resp = again.post("/login/link", {"secret": secret})
    assert resp.status_code == 401 and "登录链接无效" in page_text(resp)
    assert again.session_cookie() is None


def test_personal_link_expires(app, web_world, monkeypatch):
    admin = WebClient(app.test_client())
    admin.sign_in(ADMIN_LOGIN, ADMIN_PASSWORD)
    html = admin.post("/admin/people/v1/link", page="/admin/people/v1").get_data(as_text=True)
    secret = re.search(r'id="personal-link">[^#]+#([^<]+)<', html).group(1)
    later = clock.now_ms() + 8 * 86_400_000
    monkeypatch.setattr(clock, "now_ms", lambda: later)
    phone = WebClient(app.test_client())
    phone.get("/login/link")
    assert phone.post("/login/link", {"secret": secret}).status_code == 401


def test_links_are_for_volunteers_only(app, web_world, data_dir):
    admin = WebClient(app.test_client())
    admin.sign_in(ADMIN_LOGIN, ADMIN_PASSWORD)
    resp = admin.post("/admin/people/shop1/link", page="/admin/people/shop1")
    assert resp.status_code == 400
    assert rows(data_dir, "SELECT count(*) FROM web_links")[0][0] == 0


def test_twenty_failures_in_a_day_lock_the_login_until_the_day_ends(
        app, api, web_world, data_dir, monkeypatch):
    """Five tries every 15 minutes would be 480 guesses a day at a PIN: the 20th wrong one
    in a UTC day locks the login until that day ends; a new PIN from the office lifts it."""
    day_ends = (clock.now_ms() // 86_400_000 + 1) * 86_400_000
    now = [day_ends - 86_400_000 + 3_600_000]          # 01:00 UTC
    monkeypatch.setattr(clock, "now_ms", lambda: now[0])
    web = WebClient(app.test_client())
    answers = []
    for _ in range(4):                                  # four rounds of five, 16 min apart
        answers += [web.post("/login", {"login": V1_PHONE, "secret": "000000"},
                             page="/login").status_code for _ in range(5)]
        now[0] += 16 * 60_000
    assert answers == ([401] * 4 + [429]) * 4
    locked = rows(data_dir, "SELECT locked_until FROM web_logins WHERE person = 'v1'")[0][0]
    assert locked == clock.iso(day_ends)                # not 15 minutes: the day's end
    right = web.post("/login", {"login": V1_PHONE, "secret": V1_PIN}, page="/login")
    assert right.status_code == 429 and web.session_cookie() is None

    api.ok(api.put("/people/v1/login", {"login": V1_PHONE, "secret": "24681357"}))
    web.sign_in(V1_PHONE, "24681357")                   # a new PIN: a new count, no lock
    assert web.get("/me").status_code == 200
