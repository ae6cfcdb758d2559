"""POST /ledger/adjustments and /ledger/reversals (admin; idempotent by id)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import BOTH_BACKENDS
from tests.server.ledger_support import (
    adjust,
    db,
    entries,
    give,
    record_and_verify,
    redemption_body,
    state,
    verify_cli,
)

pytestmark = BOTH_BACKENDS


def reverse(api, seq, id="r1", reason="entered by mistake"):
    return api.post("/ledger/reversals", {"id": id, "entry": seq, "reason": reason})


def error_code(resp) -> str:
    return resp.get_json()["error"]["code"]


def test_adjustment_gives_points_from_the_community_issuance(world, api, data_dir):
    out = api.ok(adjust(api, "volunteer:v1", 25, id="adj-1", reason="paper log, March"), 201)
    assert out["adjustment"] == {"id": "adj-1", "account": "volunteer:v1", "amount": 25,
                                 "reason": "paper log, March", "by": "admin",
                                 "at": out["entry"]["at"]}
    entry = out["entry"]
    assert (entry["kind"], entry["debit"], entry["credit"], entry["amount"], entry["ref"]) == (
        "adjust", "issuance:c1", "volunteer:v1", 25, "adjustment:adj-1")
    assert entries(data_dir) == [entry]
    # The reason is not part of the entry: it is kept with the request.
    conn = db(data_dir)
    kind, response = conn.execute(
        "SELECT kind, response FROM requests WHERE id = 'adj-1'").fetchone()
    conn.close()
    assert kind == "adjustment"
    assert json.loads(response)["adjustment"]["reason"] == "paper log, March"


def test_adjustment_is_idempotent_by_id(world, api, data_dir):
    first = adjust(api, "volunteer:v1", 25, id="adj-1")
    assert first.status_code == 201
    again = adjust(api, "volunteer:v1", 25, id="adj-1")
    assert again.status_code == 200 and again.get_json() == first.get_json()
    before = state(data_dir)
    other = adjust(api, "volunteer:v1", 26, id="adj-1")
    assert other.status_code == 409 and error_code(other) == "id_reused"
    assert state(data_dir) == before and before["entries"] == 1


def test_negative_adjustment_takes_back_but_never_below_zero(world, api, data_dir):
    give(api, "volunteer:v1", 10)
    before = state(data_dir)
    resp = adjust(api, "volunteer:v1", -11)
    assert resp.status_code == 409 and error_code(resp) == "insufficient_points"
    assert state(data_dir) == before
    entry = api.ok(adjust(api, "volunteer:v1", -10), 201)["entry"]
    assert (entry["debit"], entry["credit"], entry["amount"]) == (
        "volunteer:v1", "issuance:c1", 10)
    assert state(data_dir)["balances"]["volunteer:v1"] == 0


def test_shop_accounts_can_be_adjusted_but_not_below_zero(world, api, data_dir):
    give(api, "shop:s1", 5)
    assert error_code(adjust(api, "shop:s1", -6)) == "insufficient_points"
    api.ok(adjust(api, "shop:s1", -5), 201)
    assert state(data_dir)["balances"]["shop:s1"] == 0


@pytest.mark.parametrize("body, field", [
    ({"account": "volunteer:nobody"}, "account"),
    ({"account": "volunteer:w1"}, "account"),        # a worker has no points account
    ({"account": "issuance:c1"}, "account"),
    ({"account": "v1"}, "account"),
    ({"amount": 0}, "amount"),
    ({"amount": 2.0}, "amount"),
    ({"amount": 2**53}, "amount"),
    ({"amount": True}, "amount"),
    ({"reason": ""}, "reason"),
    ({"id": "has space"}, "id"),
    ({"note": "x"}, "note"),
])
def test_bad_adjustments_are_validation_errors(world, api, data_dir, body, field):
    full = {"id": "adj-x", "account": "volunteer:v1", "amount": 5, "reason": "r", **body}
    resp = api.post("/ledger/adjustments", full)
    assert resp.status_code == 400, resp.get_json()
    assert field in resp.get_json()["error"]["fields"]
    assert state(data_dir)["entries"] == 0


def test_only_admins_adjust_and_reverse(world, api, data_dir):
    from tests.helpers import issue_token

    api.person("aud", "auditor", [])
    auditor = issue_token(data_dir, "aud")
    give(api, "volunteer:v1", 5)
    for token in (auditor, api.enroll("w1").token, api.enroll("v1").token):
        assert api.post("/ledger/adjustments", {"id": "a", "account": "volunteer:v1",
                                                "amount": 5, "reason": "r"},
                        token=token).status_code == 403
        assert api.post("/ledger/reversals", {"id": "r", "entry": 1, "reason": "r"},
                        token=token).status_code == 403
    assert state(data_dir)["entries"] == 1


def test_reversal_swaps_debit_and_credit_once(world, api, data_dir):
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    record_and_verify(w1, w1b, minutes=60)
    (earn,) = entries(data_dir)
    out = api.ok(reverse(api, earn["seq"], id="rev-1"), 201)
    entry = out["entry"]
    assert (entry["kind"], entry["debit"], entry["credit"], entry["amount"], entry["ref"]) == (
        "reverse", "volunteer:v1", "issuance:c1", 10, f"entry:{earn['seq']}")
    assert out["reversal"] == {"id": "rev-1", "entry": earn["seq"],
                               "reason": "entered by mistake", "by": "admin",
                               "at": entry["at"]}
    assert state(data_dir)["balances"]["volunteer:v1"] == 0

    replay = reverse(api, earn["seq"], id="rev-1")
    assert replay.status_code == 200 and replay.get_json() == out
    before = state(data_dir)
    twice = reverse(api, earn["seq"], id="rev-2")
    assert twice.status_code == 409 and error_code(twice) == "already_reversed"
    other = reverse(api, earn["seq"], id="rev-1", reason="another reason")
    assert other.status_code == 409 and error_code(other) == "id_reused"
    assert state(data_dir) == before


def test_reversal_that_would_take_a_volunteer_below_zero(world, api, data_dir):
    shop = api.enroll("shop1")
    earn = give(api, "volunteer:v1", 10)["entry"]
    api.ok(api.post("/redemptions", redemption_body("v1", world.cards["v1"], [("soap", 2)]),
                    token=shop.token), 201)
    before = state(data_dir)
    assert before["balances"]["volunteer:v1"] == 2
    resp = reverse(api, earn["seq"])
    assert resp.status_code == 409 and error_code(resp) == "insufficient_points"
    assert state(data_dir) == before


def test_reversing_a_redemption_gives_points_back_without_restocking(world, api, data_dir):
    shop = api.enroll("shop1")
    give(api, "volunteer:v1", 40)
    out = api.ok(api.post("/redemptions",
                          redemption_body("v1", world.cards["v1"], [("rice", 1)]),
                          token=shop.token), 201)
    api.ok(reverse(api, out["entry"]["seq"]), 201)
    now = state(data_dir)
    assert now["balances"]["volunteer:v1"] == 40 and now["balances"]["shop:s1"] == 0
    assert now["stock"]["rice"] == 4


def test_unknown_entry_and_reversal_of_a_reversal(world, api, data_dir):
    give(api, "volunteer:v1", 10)
    resp = reverse(api, 99)
    assert resp.status_code == 404 and error_code(resp) == "not_found"
    rev = api.ok(reverse(api, 1, id="rev-1"), 201)["entry"]
    again = reverse(api, rev["seq"], id="rev-2")
    assert again.status_code == 400 and "entry" in again.get_json()["error"]["fields"]
    for bad in ({"entry": 0}, {"entry": "1"}, {"entry": 1.0}, {"reason": ""}):
        body = {"id": "rev-x", "entry": 1, "reason": "r", **bad}
        assert api.post("/ledger/reversals", body).status_code == 400
    assert state(data_dir)["entries"] == 2


def test_ledger_with_adjustments_and_reversals_verifies(world, api, data_dir):
    give(api, "volunteer:v1", 10)
    give(api, "shop:s1", 3)
    api.ok(adjust(api, "volunteer:v1", -4), 201)
    api.ok(reverse(api, 2), 201)
    balances = state(data_dir)["balances"]
    assert sum(balances.values()) == 0
    assert balances == {"issuance:c1": -6, "volunteer:v1": 6, "shop:s1": 0}
    result = verify_cli("--data-dir", str(data_dir), "--workers", "1")
    assert result.exit_code == 0, result.output


def test_balances_never_leave_the_safe_integer_range(world, api, data_dir):
    top = 2**53 - 1
    api.ok(adjust(api, "volunteer:v1", top, id="adj-big-1", reason="max"), 201)
    resp = adjust(api, "volunteer:v1", 1, id="adj-big-2", reason="one more")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "validation"
    assert len(entries(data_dir)) == 1
