"""The pages in a real browser (Playwright driving Debian's chromium), on a 360 px wide
screen, in Chinese and English. Screenshots of every page land in
tests/artifacts/web/<page>-<zh_CN|en>.png.

Skipped, with the reason, where chromium or Playwright is not installed
(`make browser` installs chromium when run as root).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser_support import needs_chromium
from tests.helpers import issue_token, raw_db
from tests.web.web_support import SHOP_LOGIN, SHOP_PASSWORD, V1_PHONE, V1_PIN, push

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "web"
WIDTH = 360

pytestmark = needs_chromium


@pytest.fixture
def site(make_app, data_dir, web_world) -> Iterator[str]:
    """The app served over plain http on a free loopback port from a background thread
    (so the session cookie is not marked Secure here)."""
    from werkzeug.serving import make_server

    app = make_app(data_dir, WEB_COOKIE_SECURE=False)
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)
    server.server_close()


@pytest.fixture
def new_page(browser):
    contexts = []

    def factory():
        context = browser.new_context(viewport={"width": WIDTH, "height": 760},
                                      locale="zh-CN", timezone_id="Asia/Shanghai")
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield factory
    for context in contexts:
        context.close()


def shot(page, name: str, lang: str = "zh_CN") -> None:
    """Screenshot the whole page and check it fits a 360 px wide screen."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{lang}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{name} ({lang}) is {width}px wide"


def both(page, name: str) -> None:
    """Screenshot a GET page in Chinese, then in English (?lang=en), and back to Chinese."""
    shot(page, name, "zh_CN")
    path = page.url.split("#")[0]
    sep = "&" if "?" in path else "?"
    page.goto(path + sep + "lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    shot(page, name, "en")
    page.goto(path + sep + "lang=zh_CN")
    assert page.locator("html").get_attribute("lang") == "zh-CN"


def balance(data_dir, person: str = "v1") -> int:
    with raw_db(data_dir) as db:
        return db.scalar("SELECT balance FROM balances WHERE account = ?",
                         (f"volunteer:{person}",))


def sign_in(page, site: str, path: str, login: str, secret: str) -> None:
    page.goto(site + path)
    assert "/login" in page.url
    page.fill("input[name=login]", login)
    page.fill("input[name=secret]", secret)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(site + path)


def find_volunteer(page, card: str) -> None:
    page.fill("#card", card)
    page.click("#card-form button[type=submit]")
    page.wait_for_selector("#redeem-form")


def test_shop_redeems_two_items_then_the_volunteer_sees_it(site, new_page, web_world, data_dir):
    card = web_world["card"]
    shop = new_page()
    shop.goto(site + "/shop")
    assert shop.inner_text("h1") == "登录"
    both(shop, "login")
    sign_in(shop, site, "/shop", SHOP_LOGIN, SHOP_PASSWORD)
    both(shop, "shop-counter")
    shop.goto(site + "/shop/catalog")
    both(shop, "shop-catalog")

    shop.goto(site + "/shop?lang=en")
    find_volunteer(shop, card)
    shot(shop, "shop-redeem", "en")
    shop.goto(site + "/shop?lang=zh_CN")
    find_volunteer(shop, card)
    assert "name of v1" in shop.inner_text("h1") and shop.inner_text("#balance") == "40"
    shop.fill("input[name=qty-rice]", "1")
    shop.fill("input[name=qty-soap]", "1")
    assert shop.inner_text("#total") == "34"            # the running total (plain JS)
    shot(shop, "shop-redeem", "zh_CN")
    shop.click("#confirm")
    shop.wait_for_url(re.compile(r".*/shop/receipts/[0-9a-f-]{36}$"))
    assert shop.inner_text("#receipt-total") == "34"
    assert shop.inner_text("#new-balance") == "6"
    assert re.fullmatch(r"[0-9a-f]{64}", shop.inner_text("#entry-hash"))
    assert shop.locator("svg.qr").count() == 1
    assert "大米 5kg" in shop.inner_text("table") and "肥皂" in shop.inner_text("table")
    both(shop, "shop-receipt")
    assert balance(data_dir) == 6

    me = new_page()
    sign_in(me, site, "/me", V1_PHONE, V1_PIN)
    assert me.inner_text("#balance") == "6"
    entries = me.locator("li.entry")
    assert entries.count() == 2
    assert "−34" in entries.first.inner_text() and "超市兑换" in entries.first.inner_text()
    both(me, "me")
    entries.first.locator("a.verify").click()
    me.wait_for_url(re.compile(r".*/me/entries/\d+$"))
    assert me.get_attribute("#verdict", "data-ok") == "1"
    assert "校验通过" in me.inner_text("#verdict")
    both(me, "me-entry")
    # The card page, the camera and the counter's other flows: test_browser_counter.py.


def test_admin_pages_and_a_personal_link(site, new_page, web_world, data_dir):
    w1, w1b = web_world["w1"], web_world["w1b"]
    hid = "0b9f1c2e-0000-4000-8000-000000000002"
    push(w1, w1.change("households", {"grid": "g1", "notes": "a"}, id=hid))
    push(w1, w1.change("households", {"notes": "门口有台阶"}, id=hid, base=1))
    push(w1b, w1b.change("households", {"notes": "需要轮椅"}, id=hid, base=1))

    admin = new_page()
    admin.goto(site + "/admin")
    admin.click("details summary")
    admin.fill("input[name=token]", issue_token(data_dir, "adm2"))
    admin.click("form[action='/login/token'] button")
    admin.wait_for_url(site + "/admin/dashboard")
    admin.goto(site + "/admin/people")
    assert admin.locator("#person-v1").count() == 1
    both(admin, "admin-people")
    admin.click("#person-v1 a")
    admin.wait_for_url(site + "/admin/people/v1")
    both(admin, "admin-person")
    for lang in ("en", "zh_CN"):                       # each link is shown once
        admin.goto(site + f"/admin/people/v1?lang={lang}")
        admin.click("form[action='/admin/people/v1/link'] button")
        admin.wait_for_selector("#personal-link")
        shot(admin, "admin-person-link", lang)
    link = admin.inner_text("#personal-link")

    admin.goto(site + "/admin/conflicts")
    assert "需要轮椅" in admin.inner_text("main") and "门口有台阶" in admin.inner_text("main")
    both(admin, "admin-conflicts")
    admin.click("ul.conflicts form:has(input[value=loser]) button")
    admin.wait_for_selector("#no-conflicts")

    admin.goto(site + "/admin/devices")
    both(admin, "admin-devices")
    admin.on("dialog", lambda dialog: dialog.accept())
    admin.click(f"#device-{w1.id} button")
    admin.wait_for_selector(f"#device-{w1.id}.revoked")

    phone = new_page()
    phone.goto(link)                                  # the secret is in the #fragment
    phone.wait_for_url(site + "/me")
    assert "#" not in phone.url and phone.inner_text("#balance") == "40"
    phone.goto(site + "/me/entries/2")                # v2's entry: not shown to v1
    assert phone.inner_text("h1") == "找不到页面"
    both(phone, "error-not-found")
    used = new_page()
    for lang in ("en", "zh_CN"):
        used.goto(site + f"/login?lang={lang}")
        used.goto(link)                               # a link works once
        used.wait_for_selector(".notice.bad")
        assert "/login/link" in used.url and "#" not in used.url
        shot(used, "link-used", lang)
