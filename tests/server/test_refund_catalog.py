"""POST /api/v1/redemptions/<id>/refund, card codes typed any way at the API, and who
may manage a shop's catalog (issue 14 item 11: web and API agree)."""

from __future__ import annotations

import pytest

from tests.helpers import add_second_community, api_error
from tests.server.ledger_support import give, redemption_body, state, verify_cli


@pytest.fixture
def shop(world, api):
    return api.enroll("shop1", "counter")


def redeem(api, shop, body, status=201):
    return api.ok(api.post("/redemptions", body, token=shop.token), status)


def test_the_card_is_compared_without_case_spaces_or_dashes(world, api, shop):
    give(api, "volunteer:v1", 100)
    card = world.cards["v1"]
    for typed in (card.lower(), card.replace("-", " "), card.replace("-", ""),
                  " " + card.lower().replace("-", "") + " "):
        out = redeem(api, shop, redemption_body("v1", typed, [("soap", 1)]))
        assert out["entry"]["kind"] == "redeem"
    wrong = card[:-1] + ("0" if card[-1] != "0" else "1")
    api_error(api.post("/redemptions", redemption_body("v1", wrong, [("soap", 1)]),
                       token=shop.token), 403, "card_invalid")


def test_refund_reverses_the_entry_and_puts_stock_back_once(world, api, shop, data_dir):
    give(api, "volunteer:v1", 100)
    body = redemption_body("v1", world.cards["v1"], [("rice", 2), ("soap", 3)])
    first = redeem(api, shop, body)
    before = state(data_dir)
    assert before["balances"]["volunteer:v1"] == 100 - 72
    out = api.ok(api.post(f"/redemptions/{body['id']}/refund", {"reason": "按错了"},
                          token=shop.token), 200)
    entry = out["entry"]
    assert entry["kind"] == "reverse" and entry["ref"] == f"entry:{first['entry']['seq']}"
    assert (entry["debit"], entry["credit"], entry["amount"]) == ("shop:s1", "volunteer:v1", 72)
    assert out["redemption"]["id"] == body["id"]
    assert out["refund"] == {"id": body["id"], "entry": first["entry"]["seq"],
                             "reason": "按错了", "by": "shop1", "at": entry["at"]}
    after = state(data_dir)
    assert after["balances"]["volunteer:v1"] == 100 and after["balances"]["shop:s1"] == 0
    stock = {r["sku"]: r["stock"] for r in api.ok(api.get("/shops/s1/catalog"))["items"]}
    assert stock == {"rice": 5, "soap": 100}
    again = state(data_dir)
    api_error(api.post(f"/redemptions/{body['id']}/refund", {"reason": "again"},
                       token=shop.token), 409, "already_reversed")
    api_error(api.post("/ledger/reversals", {"id": "r1", "entry": first["entry"]["seq"],
                                             "reason": "x"}), 409, "already_reversed")
    assert state(data_dir) == again
    result = verify_cli("--data-dir", str(data_dir))
    assert result.exit_code == 0, result.output


def test_who_may_refund_and_bad_requests_change_nothing(world, api, shop, data_dir):
    give(api, "volunteer:v1", 100)
    body = redemption_body("v1", world.cards["v1"], [("soap", 1)])
    redeem(api, shop, body)
    add_second_community(api)
    before = state(data_dir)
    other_shop = api.enroll("shop1b", "other counter")
    volunteer = api.enroll("v1", "phone")
    url = f"/redemptions/{body['id']}/refund"
    api_error(api.post(url, {"reason": "x"}, token=other_shop.token), 403, "forbidden")
    api_error(api.post(url, {"reason": "x"}, token=volunteer.token), 403, "forbidden")
    api_error(api.post("/redemptions/nope/refund", {"reason": "x"}, token=shop.token),
              404, "not_found")
    for bad in ({}, {"reason": ""}, {"reason": "x" * 501}, {"reason": "x", "more": 1}):
        api_error(api.post(url, bad, token=shop.token), 400, "validation")
    assert state(data_dir) == before
    out = api.ok(api.post(url, {"reason": "admin fixes it"}), 200)     # an admin may
    assert out["refund"]["by"] == "admin"


def test_shop_staff_manage_their_own_shops_catalog_only(world, api, shop, data_dir):
    """Issue 14 item 11: the page let shop staff edit prices and stock while the API
    allowed only admins; now both follow one rule (services/directory.may_manage_catalog)."""
    item = {"name": "茶", "price": 5, "stock": 3}
    out = api.ok(api.put("/shops/s1/catalog/tea", item, token=shop.token), 200)
    assert out == {"sku": "tea", **item}
    add_second_community(api)
    other = api.enroll("shop2", "other")
    before = state(data_dir)
    api_error(api.put("/shops/s1/catalog/tea", {**item, "price": 1}, token=other.token),
              403, "forbidden")
    api_error(api.put("/shops/s1/catalog/new", item, token=other.token), 403, "forbidden")
    volunteer = api.enroll("v1", "phone")
    api_error(api.put("/shops/s1/catalog/tea", item, token=volunteer.token), 403, "forbidden")
    assert state(data_dir) == before
    api.ok(api.put("/shops/s2/catalog/tea", item, token=other.token), 200)
    api.ok(api.put("/shops/s1/catalog/tea", {**item, "stock": 9}), 200)    # admins: any shop
