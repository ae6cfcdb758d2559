"""The counter and the volunteer's card in a real browser (Playwright, Debian's chromium):
a lowercase typed card, scanner-style input, stock-out recovery, the receipt's print
layout and Back, a refund, and the card page surviving a reload. Screenshots at 390 px
and 1280 px, in Chinese and English, land in tests/artifacts/web/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.helpers import raw_db
from tests.web.test_browser import (  # noqa: F401 (fixtures)
    ARTIFACTS,
    balance,
    sign_in,
    site,
)
from tests.web.web_support import SHOP_LOGIN, SHOP_PASSWORD, V1_PHONE, V1_PIN

PHONE, DESKTOP = 390, 1280


@pytest.fixture
def new_page(browser) -> Iterator:  # noqa: F811
    contexts = []

    def factory():
        context = browser.new_context(viewport={"width": PHONE, "height": 800},
                                      locale="zh-CN", timezone_id="Asia/Shanghai")
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        return page

    yield factory
    for context in contexts:
        context.close()


def shots(page, name: str) -> None:
    """Screenshots of the current GET page at phone and desktop width, in Chinese and
    English; at phone width nothing may stick out sideways."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = page.url.split("#")[0]
    sep = "&" if "?" in path else "?"
    for lang in ("en", "zh_CN"):
        page.goto(path + sep + f"lang={lang}")
        for width in (PHONE, DESKTOP):
            page.set_viewport_size({"width": width, "height": 800})
            page.screenshot(path=str(ARTIFACTS / f"{name}-{width}-{lang}.png"), full_page=True)
            if width == PHONE:
                wide = page.evaluate("document.documentElement.scrollWidth")
                assert wide <= PHONE, f"{name} ({lang}) is {wide}px wide"
        page.set_viewport_size({"width": PHONE, "height": 800})


def scalar(data_dir, sql):
    with raw_db(data_dir) as db:
        return db.scalar(sql)


def test_counter_lowercase_card_stock_out_receipt_print_back_and_refund(
        site, new_page, api, web_world, data_dir):  # noqa: F811
    api.ok(api.post("/ledger/adjustments", {"id": "more", "account": "volunteer:v1",
                                             "amount": 100, "reason": "test"}), 201)
    shop = new_page()
    sign_in(shop, site, "/shop", SHOP_LOGIN, SHOP_PASSWORD)
    assert shop.locator("#scan").is_hidden()            # headless: no camera to scan with
    assert shop.locator("#no-camera").is_visible()
    shots(shop, "counter")
    typed = web_world["card"].lower().replace("-", " ")
    shop.fill("#card", typed)
    shop.click("#card-form button[type=submit]")
    shop.wait_for_selector("#redeem-form")
    assert web_world["card"] not in shop.content() and typed not in shop.content()
    assert "name of v1" in shop.inner_text("h1") and shop.inner_text("#balance") == "140"
    shots(shop, "counter-basket")

    api.ok(api.put("/shops/s1/catalog/rice", {"name": "大米 5kg", "price": 30, "stock": 1}))
    shop.fill("input[name=qty-rice]", "3")
    shop.fill("input[name=qty-soap]", "2")
    assert shop.inner_text("#total") == "98"
    shop.click("#confirm")
    shop.wait_for_selector("#basket-error")
    assert "大米 5kg" in shop.inner_text("#basket-error")   # names the item that ran out
    assert shop.input_value("input[name=qty-rice]") == "1"  # ... and fixed the basket
    assert shop.input_value("input[name=qty-soap]") == "2"
    assert shop.inner_text("#total") == "38"
    shots(shop, "counter-stock-out")
    shop.click("#confirm")
    shop.wait_for_url(re.compile(r".*/shop/receipts/[0-9a-f-]{36}$"))
    receipt_url = shop.url
    assert shop.inner_text("#balance-before") == "140" and shop.inner_text("#new-balance") == "102"
    assert shop.locator("#print").is_visible() and shop.locator("svg.qr").count() == 1
    shop.go_back()                                      # Back: a GET page, no cache miss
    shop.wait_for_selector("#served")
    assert shop.locator("#redeem-form").count() == 0
    shop.go_forward()
    shop.wait_for_selector("#receipt")
    shots(shop, "counter-receipt")

    shop.emulate_media(media="print")                  # the 58 mm print layout
    assert shop.locator("nav.menu").is_hidden() and shop.locator("#print").is_hidden()
    width = shop.evaluate("document.getElementById('receipt').getBoundingClientRect().width")
    assert width <= 58 / 25.4 * 96, width              # at most 58 mm wide
    shop.pdf(path=str(ARTIFACTS / "counter-receipt-print.pdf"), width="58mm")
    shop.screenshot(path=str(ARTIFACTS / "counter-receipt-print.png"), full_page=True)
    shop.emulate_media(media="screen")

    shop.goto(receipt_url)
    shop.click("details.refund summary, .refund details summary")
    shop.fill("#refund-reason", "按错了数量")
    shop.click("#refund")                               # the confirm dialog is accepted
    shop.wait_for_selector("#refunded")
    assert "按错了数量" in shop.inner_text("#refunded")
    assert balance(data_dir) == 140
    assert scalar(data_dir, "SELECT stock FROM catalog WHERE sku = 'rice'") == 1
    shots(shop, "counter-receipt-refunded")
    shop.goto(site + "/shop/today")
    assert shop.inner_text("#day-points") == "0" and "已退回" in shop.inner_text("main")
    shots(shop, "counter-today")
    shop.goto(site + "/shop/catalog")
    shop.fill("#add-item input[name=name]", "酱油")
    shop.fill("#add-item input[name=price]", "6")
    shop.fill("#add-item input[name=stock]", "10")
    shop.click("#add-item button[type=submit]")
    shop.wait_for_selector("#catalog-saved")
    shots(shop, "counter-catalog")


# A camera that always sees the volunteer's card: BarcodeDetector, enumerateDevices and
# getUserMedia stubbed (headless chromium has neither a camera nor a QR detector).
FAKE_CAMERA = """
window.BarcodeDetector = class {
  constructor(options) { this.formats = options.formats; }
  detect(video) { return Promise.resolve([{rawValue: %s}]); }
};
navigator.mediaDevices.enumerateDevices = () => Promise.resolve([{kind: "videoinput"}]);
navigator.mediaDevices.getUserMedia = () => {
  const canvas = document.createElement("canvas");
  canvas.getContext("2d").fillRect(0, 0, 10, 10);
  return Promise.resolve(canvas.captureStream());
};
"""


def test_scanner_input_after_an_error_and_the_camera(site, new_page, web_world, data_dir):  # noqa: F811
    card = web_world["card"]
    shop = new_page()
    sign_in(shop, site, "/shop", SHOP_LOGIN, SHOP_PASSWORD)
    shop.fill("#card", "abcd-efgh")
    shop.press("#card", "Enter")
    shop.wait_for_selector("#lookup-error")
    assert shop.input_value("#card") == "abcd-efgh"     # what was typed is kept ...
    # ... at the counter's GET address (counter.js replaces the POST's address once it runs)
    shop.wait_for_url(re.compile(r".*/shop$"))
    shots(shop, "counter-wrong-card")
    # A USB barcode scanner types the code fast and presses Enter, into the field that
    # still holds the wrong code, selected, so the scan replaces it.
    shop.focus("#card")
    shop.keyboard.type(card, delay=3)
    shop.keyboard.press("Enter")
    shop.wait_for_selector("#redeem-form")
    assert "name of v1" in shop.inner_text("h1")

    camera = new_page()
    camera.context.add_init_script(FAKE_CAMERA % json.dumps(" " + card + "\n"))
    sign_in(camera, site, "/shop", SHOP_LOGIN, SHOP_PASSWORD)
    assert camera.locator("#no-camera").is_hidden()
    camera.click("#scan")                               # scanning fills the code and submits
    camera.wait_for_selector("#redeem-form")
    camera.fill("input[name=qty-soap]", "2")
    camera.dblclick("#confirm")                         # a double tap redeems once
    camera.wait_for_url(re.compile(r".*/shop/receipts/.*"))
    assert camera.inner_text("#new-balance") == "32"
    camera.reload()
    assert camera.inner_text("#new-balance") == "32" and balance(data_dir) == 32
    assert scalar(data_dir, "SELECT count(*) FROM redemptions") == 1


def test_the_card_page_keeps_the_card_on_reload(site, new_page, web_world):  # noqa: F811
    me = new_page()
    sign_in(me, site, "/me/card", V1_PHONE, V1_PIN)
    assert me.inner_text("#card-code") == web_world["card"]
    me.reload()
    assert me.inner_text("#card-code") == web_world["card"]
    shots(me, "me-card")
    me.click("#replace-card")                            # the box is not ticked: not sent
    assert me.inner_text("#card-code") == web_world["card"]
    me.check("#replace-confirm")
    me.click("#replace-card")
    me.wait_for_url(re.compile(r".*/me/card\?new=1$"))
    new = me.inner_text("#card-code")
    assert new != web_world["card"]
    me.reload()
    assert me.inner_text("#card-code") == new
    me.goto(site + "/me")
    assert me.locator("#my-months svg").count() == 2
    shots(me, "me")                                      # the English phone view fits too
    me.click("#my-history li.entry a.verify")
    me.wait_for_selector("#checks")
    shots(me, "me-entry")
