"""POST/GET /api/v1/redemptions: card, community, stock and points move together or not at all."""

from __future__ import annotations

import pytest

from tests.conftest import BOTH_BACKENDS
from tests.server.ledger_support import (
    entries,
    give,
    record_and_verify,
    redemption_body,
    state,
    verify_cli,
)

pytestmark = BOTH_BACKENDS


@pytest.fixture
def shop(world, api):
    return api.enroll("shop1", "counter")


def redeem(api, shop, body):
    return api.post("/redemptions", body, token=shop.token)


def test_redemption_with_earned_points_moves_balance_and_stock(world, api, shop, data_dir):
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    record_and_verify(w1, w1b, minutes=240)  # 40 points
    body = redemption_body("v1", world.cards["v1"], [("rice", 1), ("soap", 2)])
    out = api.ok(redeem(api, shop, body), 201)

    redemption, entry = out["redemption"], out["entry"]
    assert redemption["id"] == body["id"] and redemption["total"] == 38
    assert (redemption["volunteer"], redemption["shop"]) == ("v1", "s1")
    assert [(i["sku"], i["qty"], i["price"]) for i in redemption["items"]] == [
        ("rice", 1, 30), ("soap", 2, 4)]
    assert entry["kind"] == "redeem" and entry["amount"] == 38
    assert (entry["debit"], entry["credit"]) == ("volunteer:v1", "shop:s1")
    assert entry["ref"] == f"redemption:{body['id']}" and entry["evidence"] is None
    assert entry == entries(data_dir)[-1]
    assert api.ok(api.get("/accounts/volunteer:v1"))["balance"] == 2
    assert api.ok(api.get("/accounts/shop:s1"))["balance"] == 38
    after = state(data_dir)
    assert after["stock"] == {"rice": 4, "soap": 98}
    assert verify_cli("--data-dir", str(data_dir)).exit_code == 0


def test_double_submit_same_id_is_one_redemption(world, api, shop, data_dir):
    give(api, "volunteer:v1", 100)
    body = redemption_body("v1", world.cards["v1"], [("rice", 1)])
    first = redeem(api, shop, body)
    assert first.status_code == 201
    again = redeem(api, shop, body)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    # Another counter of the same shop resending it gets the same answer.
    api.person("shop1b", "shop", [], shop="s1")
    other_counter = api.enroll("shop1b")
    assert api.ok(redeem(api, other_counter, body)) == first.get_json()
    now = state(data_dir)
    assert now["entries"] == 2 and now["stock"]["rice"] == 4
    assert now["balances"]["volunteer:v1"] == 70

    # The same id with another body: id_reused, nothing changed.
    other = {**body, "items": [{"sku": "soap", "qty": 1}]}
    resp = redeem(api, shop, other)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "id_reused"
    assert state(data_dir) == now


def test_same_id_from_another_shop_is_id_reused(world, api, shop, data_dir):
    api.ok(api.post("/shops", {"id": "s1b", "name": "second counter", "community": "c1"}), 201)
    api.ok(api.put("/shops/s1b/catalog/rice", {"name": "rice", "price": 30, "stock": 5}))
    api.person("shop1b", "shop", [], shop="s1b")
    other_shop = api.enroll("shop1b")
    give(api, "volunteer:v1", 100)
    body = redemption_body("v1", world.cards["v1"], [("rice", 1)])
    api.ok(redeem(api, shop, body), 201)
    before = state(data_dir)
    resp = redeem(api, other_shop, body)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "id_reused"
    assert state(data_dir) == before


@pytest.mark.parametrize("case", ["wrong code", "old card", "unknown volunteer",
                                  "other volunteer's card", "volunteer without card",
                                  "inactive volunteer"])
def test_card_invalid_changes_nothing(world, api, shop, data_dir, case):
    give(api, "volunteer:v1", 100)
    volunteer, card = "v1", world.cards["v1"]
    if case == "wrong code":
        card = "C" + "x" * 22
    elif case == "old card":
        api.ok(api.post("/people/v1/card"), 201)
    elif case == "unknown volunteer":
        volunteer = "nobody"
    elif case == "other volunteer's card":
        api.person("v1b", "volunteer", ["g1"])
        give(api, "volunteer:v1b", 100)
        volunteer = "v1b"
    elif case == "volunteer without card":
        volunteer = "v2"
        give(api, "volunteer:v2", 100)
    elif case == "inactive volunteer":
        api.ok(api.patch("/people/v1", {"active": False}))
    before = state(data_dir)
    resp = redeem(api, shop, redemption_body(volunteer, card, [("soap", 1)]))
    assert resp.status_code == 403, resp.get_json()
    assert resp.get_json()["error"]["code"] == "card_invalid"
    assert state(data_dir) == before


def test_insufficient_points_changes_nothing(world, api, shop, data_dir):
    give(api, "volunteer:v1", 33)
    before = state(data_dir)
    body = redemption_body("v1", world.cards["v1"], [("soap", 1), ("rice", 1)])  # 34
    resp = redeem(api, shop, body)
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "insufficient_points"
    assert state(data_dir) == before

    # A failed request is not remembered: after a top-up the same id goes through.
    give(api, "volunteer:v1", 1)
    assert redeem(api, shop, body).status_code == 201
    assert state(data_dir)["balances"]["volunteer:v1"] == 0


def test_out_of_stock_changes_nothing(world, api, shop, data_dir):
    give(api, "volunteer:v1", 1000)
    before = state(data_dir)
    for items in ([("rice", 6)], [("soap", 3), ("rice", 6)], [("rice", 3), ("rice", 3)]):
        resp = redeem(api, shop, redemption_body("v1", world.cards["v1"], items))
        assert resp.status_code == 409, items
        assert resp.get_json()["error"]["code"] == "out_of_stock"
        assert state(data_dir) == before
    api.ok(redeem(api, shop, redemption_body("v1", world.cards["v1"], [("rice", 5)])), 201)
    assert state(data_dir)["stock"]["rice"] == 0
    resp = redeem(api, shop, redemption_body("v1", world.cards["v1"], [("rice", 1)]))
    assert resp.get_json()["error"]["code"] == "out_of_stock"


@pytest.mark.parametrize("change, field", [
    ({"items": []}, "items"),
    ({"items": [{"sku": "caviar", "qty": 1}]}, "items"),
    ({"items": [{"sku": "soap", "qty": 0}]}, "items"),
    ({"items": [{"sku": "soap", "qty": 1.0}]}, "items"),
    ({"items": [{"sku": "soap", "qty": "1"}]}, "items"),
    ({"items": [{"sku": "soap", "qty": 1, "price": 0}]}, "items"),
    ({"id": "not-a-uuid"}, "id"),
    ({"id": "0193A1B2-0000-7000-8000-000000000001"}, "id"),
    ({"card": ""}, "card"),
    ({"extra": 1}, "extra"),
])
def test_bad_bodies_are_validation_errors(world, api, shop, data_dir, change, field):
    give(api, "volunteer:v1", 100)
    before = state(data_dir)
    body = {**redemption_body("v1", world.cards["v1"], [("soap", 1)]), **change}
    resp = redeem(api, shop, body)
    assert resp.status_code == 400, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "validation" and field in error["fields"]
    assert state(data_dir) == before


def test_volunteer_of_another_community_is_forbidden(world, api, data_dir):
    api.ok(api.post("/grids", {"id": "c2", "name": "社区二", "parent": None}), 201)
    api.ok(api.post("/shops", {"id": "s2", "name": "other shop", "community": "c2"}), 201)
    api.ok(api.put("/shops/s2/catalog/soap", {"name": "soap", "price": 4, "stock": 10}))
    api.person("shop2", "shop", [], shop="s2")
    shop2 = api.enroll("shop2")
    give(api, "volunteer:v1", 100)
    before = state(data_dir)
    resp = redeem(api, shop2, redemption_body("v1", world.cards["v1"], [("soap", 1)]))
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    assert state(data_dir) == before


def test_only_shops_redeem(world, api, data_dir):
    give(api, "volunteer:v1", 100)
    v1 = api.enroll("v1")
    body = redemption_body("v1", world.cards["v1"], [("soap", 1)])
    for token in (None, v1.token, api.enroll("w1").token):
        resp = api.post("/redemptions", body, token=token)
        assert resp.status_code == 403
    assert api.client.post("/api/v1/redemptions", json=body).status_code == 401
    assert state(data_dir)["entries"] == 1


def test_get_redemption_visibility(world, api, shop):
    give(api, "volunteer:v1", 100)
    body = redemption_body("v1", world.cards["v1"], [("soap", 1)])
    created = api.ok(redeem(api, shop, body), 201)
    path = f"/redemptions/{body['id']}"
    v1, v2, w1 = api.enroll("v1"), api.enroll("v2"), api.enroll("w1")
    for token in (None, shop.token, v1.token):
        assert api.ok(api.get(path, token=token)) == created
    api.ok(api.post("/shops", {"id": "s1b", "name": "second", "community": "c1"}), 201)
    api.person("shop1b", "shop", [], shop="s1b")
    for token in (v2.token, w1.token, api.enroll("shop1b").token):
        assert api.get(path, token=token).status_code == 403
    missing = api.get("/redemptions/0193a1b2-0000-7000-8000-00000000dead")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
