"""The shop counter through the Flask test client: look-up handles (the card never
reaches a page), PRG everywhere, baskets fixed in place after a stock-out,
receipts, refunds, the day's list and the catalog."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from server import clock
from server.secrets_ import digest
from server.services import counter
from tests.helpers import db_dump, raw_db
from tests.web.web_support import (
    SHOP_LOGIN,
    SHOP_PASSWORD,
    WebClient,
    balance,
    html_of,
    scalar,
    stock,
)

ID_IN_FORM = re.compile(r'name="id" value="([^"]+)"')
HANDLE_IN_FORM = re.compile(r'name="handle" value="([^"]+)"')


def look_up(shop_web, card) -> dict:
    """Look the card up; follow the redirect to the basket; its form's fields."""
    resp = shop_web.post("/shop/lookup", {"card": card}, page="/shop")
    assert resp.status_code == 303, resp.get_data(as_text=True)[-1500:]
    page = html_of(shop_web.get(resp.headers["Location"]))
    return {"id": ID_IN_FORM.search(page).group(1),
            "handle": HANDLE_IN_FORM.search(page).group(1), "url": resp.headers["Location"],
            "html": page}


def redeem(shop_web, form, **qty):
    return shop_web.post("/shop/redeem", {"id": form["id"], "handle": form["handle"],
                                          **{f"qty-{k}": str(v) for k, v in qty.items()}},
                         page="/shop")


def follow(shop_web, resp) -> str:
    assert resp.status_code == 303, resp.status_code
    return html_of(shop_web.get(resp.headers["Location"]))


def rich(api, amount=500):
    api.ok(api.post("/ledger/adjustments", {"id": f"more-{amount}", "account": "volunteer:v1",
                                             "amount": amount, "reason": "test"}), 201)


# --- card codes and look-up handles (issue 14 item 12) -----------------------
def test_cards_are_grouped_crockford_codes_typed_any_way(shop_web, web_world):
    card = web_world["card"]
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}", card)
    typed = card.lower().replace("-", " ").replace("1", "l").replace("0", "o")
    form = look_up(shop_web, "  " + typed + " ")
    assert "name of v1" in form["html"]
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in card)
    assert "name of v1" in look_up(shop_web, fullwidth)["html"]   # a Chinese IME's ＡＢ１２


def test_the_card_never_reaches_a_page_only_a_handle(shop_web, web_world):
    card = web_world["card"]
    form = look_up(shop_web, card.lower())
    for text in (form["html"], form["url"]):
        assert card not in text and card.replace("-", "") not in text
        assert card.lower() not in text and 'name="card"' not in text
    receipt = follow(shop_web, redeem(shop_web, form, soap=1))
    assert card not in receipt and card.replace("-", "") not in receipt


def test_a_handle_works_only_in_its_session_for_a_while_with_that_card(
        app, shop_web, v1_web, web_world, data_dir, monkeypatch):
    form = look_up(shop_web, web_world["card"])
    other = WebClient(app.test_client())
    other.sign_in(SHOP_LOGIN, SHOP_PASSWORD)
    before = db_dump(data_dir)
    resp = redeem(other, form, soap=1)        # the handle copied into another session
    assert resp.status_code == 303 and "expired=1" in resp.headers["Location"]
    assert "不再有效" in follow(other, resp) and db_dump(data_dir) == before
    real_now = clock.now_ms
    monkeypatch.setattr(clock, "now_ms", lambda: real_now() + counter.HANDLE_TTL_S * 1000 + 1)
    assert "expired=1" in redeem(shop_web, form, soap=1).headers["Location"]
    monkeypatch.setattr(clock, "now_ms", real_now)
    v1_web.post("/me/card", {"confirm": "yes"}, page="/me/card")   # the card is replaced
    assert "expired=1" in redeem(shop_web, form, soap=1).headers["Location"]
    assert scalar(data_dir, "SELECT count(*) FROM redemptions") == 0
    assert balance(data_dir) == 40 and stock(data_dir, "soap") == 100


def test_a_wrong_card_keeps_what_was_typed(shop_web):
    resp = shop_web.post("/shop/lookup", {"card": "abcd-efgh-jkmn-pqrs"}, page="/shop")
    page = html_of(resp)
    assert resp.status_code == 404 and "本社区没有持这张卡的志愿者" in page
    assert 'value="abcd-efgh-jkmn-pqrs"' in page and 'data-clean-url="/shop"' in page


def test_cards_issued_before_the_new_format_still_work_exactly(shop_web, v1_web, data_dir):
    old = "CAbCdEfGhIjKlMnOpQrStUv"   # the old format: C + 22 base64url characters
    with raw_db(data_dir) as db:
        db.execute("UPDATE people SET card_hash = ?, card_sealed = NULL WHERE id = 'v1'",
                   (digest(old),))
    assert "name of v1" in look_up(shop_web, old)["html"]
    assert shop_web.post("/shop/lookup", {"card": old.lower()}, page="/shop").status_code == 404
    page = html_of(v1_web.get("/me/card"))
    assert 'id="card-code"' not in page and "仍可在超市使用" in page


# --- redeeming -----------------------------------------------------------------
def test_redeem_shows_a_printable_receipt_and_back_redeems_nothing(shop_web, web_world, data_dir):
    form = look_up(shop_web, web_world["card"])
    assert 'data-balance="40"' in form["html"]
    resp = redeem(shop_web, form, rice=1, soap=1)
    assert resp.headers["Location"] == f"/shop/receipts/{form['id']}"
    receipt = follow(shop_web, resp)
    assert "大米 5kg" in receipt and "肥皂" in receipt
    assert re.search(r'id="receipt-total">34<', receipt)
    assert re.search(r'id="balance-before">40<', receipt)
    assert re.search(r'id="new-balance">6<', receipt)
    assert "data-print" in receipt and "counter.css" in receipt and "<svg" in receipt
    entry_hash = scalar(data_dir, "SELECT hash FROM entries WHERE ref = ?",
                        f"redemption:{form['id']}")
    assert entry_hash in receipt
    assert (balance(data_dir), stock(data_dir, "rice"), stock(data_dir, "soap")) == (6, 4, 99)
    before = db_dump(data_dir)
    back = html_of(shop_web.get(form["url"]))          # Back: the basket's GET address
    assert 'id="served"' in back and 'id="redeem-form"' not in back
    again = redeem(shop_web, form, rice=1, soap=1)     # the same form sent again
    assert again.headers["Location"] == f"/shop/receipts/{form['id']}"
    assert db_dump(data_dir) == before


def test_the_page_redeems_through_the_api_service(shop_web, web_world, api):
    form = look_up(shop_web, web_world["card"])
    redeem(shop_web, form, soap=3)
    out = api.ok(api.get(f"/redemptions/{form['id']}"))
    assert out["redemption"]["total"] == 12 and out["entry"]["kind"] == "redeem"
    assert out["redemption"]["items"] == [{"sku": "soap", "name": "肥皂", "qty": 3, "price": 4}]


@pytest.mark.parametrize(("qty", "message"), [
    ({"rice": 2}, "积分不足"),
    ({"soap": 0}, "购物篮是空的"),
    ({"soap": -1}, "数量必须是"),
    ({"soap": "1.5"}, "数量必须是"),
    ({"nosuch": 1}, "无法兑换"),
])
def test_bad_baskets_change_nothing_and_keep_the_form(shop_web, web_world, data_dir, qty,
                                                      message):
    form = look_up(shop_web, web_world["card"])
    before = db_dump(data_dir)
    page = follow(shop_web, redeem(shop_web, form, **qty))
    assert message in page and f'value="{form["id"]}"' in page   # a retry stays idempotent
    assert db_dump(data_dir) == before


def test_a_stock_out_names_the_item_and_fixes_the_basket(shop_web, api, web_world, data_dir):
    rich(api)
    form = look_up(shop_web, web_world["card"])
    api.ok(api.put("/shops/s1/catalog/rice", {"name": "大米 5kg", "price": 30, "stock": 1}))
    before = db_dump(data_dir)
    resp = redeem(shop_web, form, rice=3, soap=2)
    assert db_dump(data_dir) == before
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["qty-rice"] == ["1"] and query["qty-soap"] == ["2"]
    page = follow(shop_web, resp)
    assert "“大米 5kg”只剩 1 件" in page
    assert re.search(r'name="qty-rice"[^>]*value="1"', page)
    assert re.search(r'name="qty-soap"[^>]*value="2"', page)
    assert follow(shop_web, redeem(shop_web, form, rice=1, soap=2)).count("大米 5kg") >= 1
    assert stock(data_dir, "rice") == 0
    api.ok(api.put("/shops/s1/catalog/soap", {"name": "肥皂", "price": 4, "stock": 0}))
    form = look_up(shop_web, web_world["card"])
    page = follow(shop_web, redeem(shop_web, form, soap=1))
    assert "“肥皂”刚刚售罄" in page and re.search(r'name="qty-soap"[^>]*disabled', page)


# --- refunds and the day's list ---------------------------------------------------
def test_refund_gives_points_and_stock_back_once(shop_web, api, web_world, data_dir):
    form = look_up(shop_web, web_world["card"])
    follow(shop_web, redeem(shop_web, form, rice=1))
    receipt_url = f"/shop/receipts/{form['id']}"
    before = db_dump(data_dir)
    resp = shop_web.post(f"{receipt_url}/refund", {"reason": "  "}, page=receipt_url)
    assert "error=reason" in resp.headers["Location"] and db_dump(data_dir) == before
    resp = shop_web.post(f"{receipt_url}/refund", {"reason": "按错了商品"}, page=receipt_url)
    page = follow(shop_web, resp)
    assert 'id="refund-done"' in page and 'id="refunded"' in page and "按错了商品" in page
    assert balance(data_dir) == 40 and stock(data_dir, "rice") == 5
    assert scalar(data_dir, "SELECT count(*) FROM entries WHERE kind = 'reverse'") == 1
    before = db_dump(data_dir)
    resp = shop_web.post(f"{receipt_url}/refund", {"reason": "again"}, page=receipt_url)
    assert "error=done" in resp.headers["Location"] and db_dump(data_dir) == before
    out = api.ok(api.get(f"/redemptions/{form['id']}"))
    assert out["redemption"]["id"] == form["id"]


def test_the_days_list_and_totals(shop_web, api, web_world):
    rich(api)
    first = look_up(shop_web, web_world["card"])
    follow(shop_web, redeem(shop_web, first, rice=1, soap=2))
    second = look_up(shop_web, web_world["card"])
    follow(shop_web, redeem(shop_web, second, soap=1))
    url = f"/shop/receipts/{second['id']}"
    shop_web.post(f"{url}/refund", {"reason": "mistake"}, page=url)
    page = html_of(shop_web.get("/shop/today"))
    assert re.search(r'id="day-count">1<', page) and re.search(r'id="day-points">38<', page)
    assert re.search(r'id="day-items">3<', page) and "已退回" in page
    assert "大米 5kg × 1" in page and "name of v1" in page
    assert "当天没有兑换记录" in html_of(shop_web.get("/shop/today?day=2020-01-01"))


# --- catalog ------------------------------------------------------------------------
def test_catalog_by_chinese_name_with_generated_codes(shop_web, data_dir):
    for name in ("鸡蛋", "酱油", "Apple"):
        resp = shop_web.post("/shop/catalog", {"name": name, "price": "3", "stock": "12"},
                             page="/shop/catalog")
        assert "已添加" in follow(shop_web, resp)
    page = html_of(shop_web.get("/shop/catalog"))
    names = re.findall(r'class="item-name">([^<]+?)[ <]', page)
    assert names == ["Apple", "大米", "肥皂", "鸡蛋", "酱油"]
    assert scalar(data_dir, "SELECT sku FROM catalog WHERE name = '鸡蛋'") == "item-0003"
    before = db_dump(data_dir)
    for bad in ({"sku": "bad sku", "name": "x", "price": "1", "stock": "1"},
                {"sku": "rice", "name": "x", "price": "1", "stock": "1"},
                {"name": "", "price": "1", "stock": "1"},
                {"name": "x", "price": "0", "stock": "1"},
                {"name": "x", "price": "1", "stock": "-2"}):
        resp = shop_web.post("/shop/catalog", bad, page="/shop/catalog")
        assert resp.status_code == 400 and 'id="catalog-error"' in html_of(resp)
    assert db_dump(data_dir) == before


def test_deliveries_add_to_stock_and_items_can_be_removed(shop_web, web_world, data_dir):
    resp = shop_web.post("/shop/catalog/rice/receive", {"received": "7"}, page="/shop/catalog")
    assert "库存已更新" in follow(shop_web, resp) and stock(data_dir, "rice") == 12
    before = db_dump(data_dir)
    for bad in ("0", "-1", "x", ""):
        resp = shop_web.post("/shop/catalog/rice/receive", {"received": bad}, page="/shop/catalog")
        assert resp.status_code == 400
    assert db_dump(data_dir) == before
    form = look_up(shop_web, web_world["card"])
    follow(shop_web, redeem(shop_web, form, soap=2))
    history = html_of(shop_web.get("/shop/catalog/soap"))
    assert "name of v1" in history and "× 2" in history
    resp = shop_web.post("/shop/catalog/soap/remove", {}, page="/shop/catalog")
    assert "已从商品目录中删除" in follow(shop_web, resp)
    assert scalar(data_dir, "SELECT count(*) FROM catalog WHERE sku = 'soap'") == 0
    assert "肥皂" in html_of(shop_web.get(f"/shop/receipts/{form['id']}"))   # history kept
    assert shop_web.get("/shop/catalog/soap").status_code == 404


# --- the volunteer's card page ---------------------------------------------------------
def test_the_card_page_shows_the_same_card_until_replaced_on_purpose(v1_web, shop_web,
                                                                      web_world, data_dir):
    first = html_of(v1_web.get("/me/card"))
    card = re.search(r'id="card-code">([^<]+)<', first).group(1)
    assert card == web_world["card"] and "<svg" in first
    again = html_of(v1_web.get("/me/card"))          # a reload
    assert f'id="card-code">{card}<' in again
    old_hash = scalar(data_dir, "SELECT card_hash FROM people WHERE id = 'v1'")
    resp = v1_web.post("/me/card", {}, page="/me/card")              # not confirmed
    assert "error=confirm" in resp.headers["Location"]
    assert scalar(data_dir, "SELECT card_hash FROM people WHERE id = 'v1'") == old_hash
    resp = v1_web.post("/me/card", {"confirm": "yes"}, page="/me/card")
    page = follow(v1_web, resp)
    new = re.search(r'id="card-code">([^<]+)<', page).group(1)
    assert new != card and "旧卡已失效" in page
    assert f'id="card-code">{new}<' in html_of(v1_web.get("/me/card"))
    assert shop_web.post("/shop/lookup", {"card": card}, page="/shop").status_code == 404
    assert "name of v1" in look_up(shop_web, new)["html"]
    sealed = scalar(data_dir, "SELECT card_sealed FROM people WHERE id = 'v1'")
    assert new not in sealed and new.replace("-", "") not in sealed   # sealed, not plain
