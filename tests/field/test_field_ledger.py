"""The field app holds the server to its ledger (docs/field-app.md): it keeps the
newest checkpoint it verified, accepts a later one only with a consistency proof, and
refuses a rolled-back server (here the server's own earlier signed checkpoint served
again, as a server restored from an old backup would) without forgetting what it saw."""

from __future__ import annotations

import json

from tests.field.phone_support import enrol, go, shot, sync

KEPT = "() => import('/field/static/js/db.js').then((db) => db.getMeta('checkpoint'))"


def test_the_phone_keeps_the_newest_verified_checkpoint_and_refuses_a_rollback(
        field_server, new_phone, admin):
    page = enrol(new_phone(), field_server.app_url, field_server.code("w1"))
    assert page.evaluate("() => window.fieldApp.app.device.ledger_key.key_id") == "k1"
    first = page.evaluate(KEPT)
    head = admin.ok(admin.get("/ledger/checkpoint"))
    assert first["seq"] == head["seq"] and first["root"] == head["root"]

    for n in (1, 2):                      # the ledger grows: two adjustments
        admin.ok(admin.post("/ledger/adjustments", {
            "id": f"ledger-test-{first['seq']}-{n}", "account": "volunteer:v1", "amount": 3,
            "reason": "活动补贴"}), 201)
    sync(page)
    second = page.evaluate(KEPT)
    assert second["seq"] == first["seq"] + 2
    go(page, "home")
    assert f"第 {second['seq']} 条" in page.inner_text("#ledger-ok")
    assert page.locator("#ledger-problem").count() == 0

    page.route("**/api/v1/ledger/checkpoint",   # rolled back to the earlier ledger
               lambda route: route.fulfill(status=200, content_type="application/json",
                                           body=json.dumps(first)))
    out = sync(page)
    assert "error" not in out, out               # records still sync
    go(page, "home")
    assert "shrank" in page.inner_text("#ledger-problem")
    assert page.evaluate(KEPT) == second         # what it saw is not forgotten

    shot(page, "home-ledger-problem")
    tampered = {**second, "root": first["root"]}
    page.unroute("**/api/v1/ledger/checkpoint")
    page.route("**/api/v1/ledger/checkpoint",   # a rewritten history, same size
               lambda route: route.fulfill(status=200, content_type="application/json",
                                           body=json.dumps(tampered)))
    sync(page)
    go(page, "home")
    assert "not signed by a trusted key" in page.inner_text("#ledger-problem")

    page.unroute("**/api/v1/ledger/checkpoint")
    sync(page)                                    # the real server again: all clear
    go(page, "home")
    page.wait_for_selector("#ledger-ok")
    assert page.locator("#ledger-problem").count() == 0
