"""Cases through sync: opening, the status steps from devices, earning on close, every
forbidden step with its documented code (and nothing changed), and scope."""

from __future__ import annotations

import pytest

from tests.cases.cases_support import (
    balance,
    case_rules,
    case_state,
    new_report,
    open_case,
    report_code,
    step,
)
from tests.helpers import api_error, db_dump
from tests.server.ledger_support import verify_cli


@pytest.fixture
def phones(api, tokens):
    case_rules(api)
    return {p: api.enroll(p) for p in ("w1", "w1b", "w2", "v1", "v2")}


def rejected(result: dict, code: str) -> None:
    assert result["status"] == "rejected" and result["error"]["code"] == code, result


def test_a_worker_opens_a_case_and_a_volunteer_takes_it_to_closed(api, phones, data_dir):
    w1, v1 = phones["w1"], phones["v1"]
    case_id, result = open_case(w1, detail="三号楼", due_at="2030-01-01T00:00:00Z")
    assert result["status"] == "applied" and result["version"] == 1
    f = case_state(api, case_id)["fields"]
    assert (f["status"], f["created_by"], f["difficulty"], f["assignee"]) == (
        "open", "w1", 1, None)
    api.ok(api.post(f"/cases/{case_id}/assign", {"assignee": "v1", "difficulty": 3}))
    assert step(v1, case_id, 2, status="accepted")["status"] == "applied"
    done = v1.change("cases", {"status": "done", "resolution": "已更换井盖"}, id=case_id, base=3)
    assert v1.sync([done])["results"][0]["status"] == "applied"
    assert balance(api, "v1") == 0
    # a worker of the grid who is not the assignee confirms, with a rating
    assert step(phones["w1b"], case_id, 4, status="closed", rating=5)["status"] == "applied"
    detail = case_state(api, case_id)
    assert detail["fields"]["status"] == "closed" and detail["fields"]["points"] == 20
    assert balance(api, "v1") == 20
    assert [(h["status"], h["by"]) for h in detail["history"]] == [
        ("open", "w1"), ("assigned", "admin"), ("accepted", "v1"), ("done", "v1"),
        ("closed", "w1b")]
    assert detail["history"][3]["op"] == done["op"]
    earn = api.ok(api.get("/accounts/volunteer:v1"))["entries"][-1]
    assert (earn["ref"], earn["evidence"], earn["amount"]) == (f"case:{case_id}", done["op"], 20)
    assert verify_cli("--data-dir", str(data_dir)).exit_code == 0
    # closed is final: nothing changes it, and the pay is once
    before = db_dump(data_dir, skip=("rate_limits", "ops", "devices"))
    rejected(step(phones["w1b"], case_id, 5, status="closed"), "locked")
    rejected(step(phones["w1"], case_id, 5, title="改标题"), "locked")
    api_error(api.post(f"/cases/{case_id}/cancel", {"reason": "x"}), 409, "invalid_state")
    assert db_dump(data_dir, skip=("rate_limits", "ops", "devices")) == before
    assert balance(api, "v1") == 20


def test_the_resident_rates_a_report_a_volunteer_finished_offline(api, phones, data_dir):
    case_id, receipt = new_report(api, report_code(api))
    api.ok(api.post(f"/cases/{case_id}/assign", {"assignee": "v1", "difficulty": 2}))
    v1 = phones["v1"]
    v1.pull_all()
    # offline: accept and done are queued, then sent in one sync
    accept = v1.change("cases", {"status": "accepted"}, id=case_id, base=2)
    done = v1.change("cases", {"status": "done", "resolution": "修好了"}, id=case_id, base=3)
    results = v1.sync([accept, done])["results"]
    assert [r["status"] for r in results] == ["applied", "applied"]
    rate = api.client.post(f"/api/v1/public/reports/{receipt}/rating",
                           json={"rating": 4, "note": "很及时"})
    assert api.ok(rate)["status"] == "closed" and balance(api, "v1") == 10
    f = case_state(api, case_id)["fields"]
    assert (f["rating"], f["rating_note"], f["points"]) == (4, "很及时", 10)
    assert case_state(api, case_id)["history"][-1] == {
        "status": "closed", "by": None, "at": f["closed_at"], "op": None}
    before = db_dump(data_dir)
    api_error(api.client.post(f"/api/v1/public/reports/{receipt}/rating", json={"rating": 5}),
              409, "invalid_state")
    rejected(step(phones["w1"], case_id, 5, status="closed"), "locked")
    assert db_dump(data_dir, skip=("rate_limits", "ops", "devices")) == \
        {k: v for k, v in before.items() if k not in ("ops", "devices")}
    assert verify_cli("--data-dir", str(data_dir)).exit_code == 0
    today = f["created_at"][:10]
    report = api.ok(api.get("/reports/cases?grid=c1&from=2020-01-01&to=2099-01-01"))
    assert report["closed"] == 1 and report["closure_rate_bp"] == 10000 and today
    assert report["ratings"]["4"] == 1 and report["satisfaction_bp"] == 10000


def test_forbidden_steps_get_their_codes_and_change_nothing(api, phones, data_dir):
    w1, w1b, w2, v1, v2 = (phones[p] for p in ("w1", "w1b", "w2", "v1", "v2"))
    case_id, _ = open_case(w1)
    api.ok(api.post(f"/cases/{case_id}/assign", {"assignee": "w1b"}))
    skip = ("rate_limits", "ops", "devices")
    before = db_dump(data_dir, skip=skip)
    checks = [
        (v1.change("cases", {"grid": "g1", "kind": "wish", "category": "road",
                             "title": "x"}), "forbidden"),             # a volunteer opens one
        (w2.change("cases", {"grid": "g1", "kind": "patrol", "category": "road",
                             "title": "x"}), "forbidden"),             # outside the grid
        (w1.change("cases", {"grid": "g1", "kind": "patrol", "category": "nope",
                             "title": "x"}), "validation"),            # unknown category
        (w1.change("cases", {"grid": "g1", "kind": "patrol", "category": "road",
                             "title": "x", "household": "nope"}), "validation"),
        (w1.change("cases", {"grid": "g1", "kind": "patrol", "category": "road",
                             "title": "x", "status": "done"}), "validation"),
        (w1.change("cases", {"grid": "g1", "kind": "patrol", "category": "road",
                             "title": "x", "points": 5}), "validation"),   # server-set
        (w1.change("cases", {"title": "y"}, id=case_id, base=2, deleted=True), "validation"),
        (w1.change("cases", {"grid": "g2"}, id=case_id, base=2), "immutable"),
        (w1.change("cases", {"status": "accepted"}, id=case_id, base=1), "stale"),
        (w1.change("cases", {"status": "accepted"}, id=case_id, base=2), "forbidden"),
        (w1b.change("cases", {"status": "done", "resolution": "x"}, id=case_id, base=2),
         "validation"),                                               # out of order
        (w1b.change("cases", {"status": "accepted", "title": "x"}, id=case_id, base=2),
         "validation"),                                               # not alone
        (w1b.change("cases", {"status": "accepted"}, id=case_id, base=3), "validation"),
        (v1.change("cases", {"title": "y"}, id=case_id, base=2), "forbidden"),
        (w1.change("cases", {"assignee": "w1"}, id=case_id, base=2), "validation"),
        # a case the sender does not see: refused before anything about it is checked,
        # so the answer tells nothing of its status or version (review finding S-3)
        (v1.change("cases", {"status": "assigned", "assignee": "v1"}, id=case_id, base=2),
         "forbidden"),                                 # a volunteer's grid, not a wish
        (w2.change("cases", {"status": "done", "resolution": "x"}, id=case_id, base=2),
         "forbidden"),                                 # another grid: not "cannot go from"
        (w2.change("cases", {"status": "accepted"}, id=case_id, base=1), "forbidden"),
        (w2.change("cases", {"title": "y"}, id=case_id, base=9), "forbidden"),
    ]
    for change, code in checks:
        rejected(change["api"].sync([change])["results"][0] if "api" in change else
                 _send(phones, change), code)
    assert db_dump(data_dir, skip=skip) == before
    # the assignee may not confirm their own case (four eyes); a volunteer never confirms
    assert step(w1b, case_id, 2, status="accepted")["status"] == "applied"
    assert step(w1b, case_id, 3, status="done", resolution="好了")["status"] == "applied"
    before = db_dump(data_dir, skip=skip)
    rejected(step(w1b, case_id, 4, status="closed"), "forbidden")
    rejected(step(v2, case_id, 4, status="closed"), "forbidden")
    rejected(step(w1, case_id, 4, title="改"), "locked")               # done: fields locked
    assert db_dump(data_dir, skip=skip) == before
    # a worker as assignee earns nothing when closed
    assert step(w1, case_id, 4, status="closed")["status"] == "applied"
    assert case_state(api, case_id)["fields"]["points"] == 0
    assert api.ok(api.get("/ledger/entries?after=0"))["entries"] == [] or all(
        not e["ref"].startswith("case:") for e in api.ok(api.get("/ledger/entries"))["entries"])


def _send(phones: dict, change: dict) -> dict:
    device = next(d for d in phones.values() if change["hlc"].endswith(":" + d.id))
    return device.sync([change])["results"][0]


def test_racing_claims_from_two_phones_first_wins(api, phones, tokens):
    api.person("v1b", "volunteer", ["g1"])
    v1b = api.enroll("v1b")
    wish_id, _ = open_case(phones["w1"], kind="wish", title="帮独居老人买菜",
                           reporter_name="李奶奶", reporter_phone="13700000000")
    first = step(phones["v1"], wish_id, 1, status="assigned", assignee="v1")
    second = step(v1b, wish_id, 1, status="assigned", assignee="v1b")
    assert first["status"] == "applied"
    rejected(second, "stale")
    rejected(step(v1b, wish_id, 2, status="assigned", assignee="v1b"), "validation")
    assert case_state(api, wish_id)["fields"]["assignee"] == "v1"
    # a claim must name the claimer; reports are not claimed
    report_id, _ = open_case(phones["w1"], kind="report")
    rejected(step(v1b, report_id, 1, status="assigned", assignee="v1b"), "forbidden")
    wish2, _ = open_case(phones["w1"], kind="wish")
    rejected(step(v1b, wish2, 1, status="assigned", assignee="v1"), "forbidden")


def test_volunteers_see_wishes_without_reporter_details_until_assigned(api, phones):
    w1, v1, v2 = phones["w1"], phones["v1"], phones["v2"]
    wish_id, _ = open_case(w1, kind="wish", title="帮忙修水龙头", reporter_name="李奶奶",
                           reporter_phone="13700000000")
    report_id, _ = open_case(w1, kind="report", reporter_name="张三")
    seen = v1.pull_all(fresh=True)
    assert ("cases", report_id) not in seen
    wish = seen[("cases", wish_id)]["fields"]
    assert "reporter_name" not in wish and "reporter_phone" not in wish
    assert wish["title"] == "帮忙修水龙头"
    # the case's detail shows them what their pull sent: one rule for both
    detail = api.ok(api.get(f"/cases/{wish_id}", token=v1.token))
    assert {k: v for k, v in detail.items() if k != "history"} == seen[("cases", wish_id)]
    assert ("cases", wish_id) not in v2.pull_all(fresh=True)    # another grid's volunteer
    assert ("cases", wish_id) in w1.pull_all(fresh=True)
    out = v1.sync([v1.change("cases", {"status": "assigned", "assignee": "v1"}, id=wish_id,
                             base=1)])
    assert out["results"][0]["status"] == "applied"
    mine = next(r for r in out["changes"] if r["id"] == wish_id)["fields"]
    assert mine["reporter_phone"] == "13700000000" and mine["assignee"] == "v1"
    api_error(api.get(f"/cases/{report_id}", token=v1.token), 404, "not_found")
    # assigned to the volunteer, then away: the report leaves their phone
    api.ok(api.post(f"/cases/{report_id}/assign", {"assignee": "v1"}))
    assert ("cases", report_id) in v1.pull_all()
    api.ok(api.post(f"/cases/{report_id}/assign", {"assignee": "w1"}))
    out = v1.sync()
    assert {"collection": "cases", "id": report_id} in out["evict"]
    # giving the wish back (退回): it is open again and redacted again
    out = v1.sync([v1.change("cases", {"status": "open"}, id=wish_id, base=2)])
    assert out["results"][0]["status"] == "applied"
    again = next(r for r in out["changes"] if r["id"] == wish_id)["fields"]
    assert again["status"] == "open" and again["assignee"] is None
    assert "reporter_name" not in again


def test_a_residents_rating_racing_a_workers_confirmation(api, phones):
    case_id, receipt = new_report(api, report_code(api))
    api.ok(api.post(f"/cases/{case_id}/assign", {"assignee": "v1"}))
    step(phones["v1"], case_id, 2, status="accepted")
    step(phones["v1"], case_id, 3, status="done", resolution="好了")
    assert step(phones["w1"], case_id, 4, status="closed", rating=3)["status"] == "applied"
    api_error(api.client.post(f"/api/v1/public/reports/{receipt}/rating", json={"rating": 5}),
              409, "invalid_state")
    assert balance(api, "v1") == 5
    assert case_state(api, case_id)["fields"]["rating"] == 3


def test_the_creator_cancels_while_open_and_the_office_cancels_later(api, phones):
    case_id, _ = open_case(phones["w1"])
    rejected(step(phones["w1b"], case_id, 1, status="cancelled"), "forbidden")
    out = step(phones["w1"], case_id, 1, status="cancelled", resolution="误报")
    assert out["status"] == "applied"
    assert case_state(api, case_id)["fields"]["resolution"] == "误报"
    other, _ = open_case(phones["w1"])
    api.ok(api.post(f"/cases/{other}/assign", {"assignee": "w1b"}))
    rejected(step(phones["w1"], other, 2, status="cancelled"), "forbidden")
    api.ok(api.post(f"/cases/{other}/cancel", {"reason": "不需要了"}))
    rejected(step(phones["w1b"], other, 3, status="accepted"), "locked")


@pytest.mark.parametrize("how", ["assignee", "points", "evidence", "signed", "reopened",
                                 "difficulty"])
def test_ledger_verify_checks_each_case_earn_against_its_case_and_evidence(
        api, phones, data_dir, how):
    import json

    from tests.helpers import raw_db

    case_id, _ = open_case(phones["w1"])
    api.ok(api.post(f"/cases/{case_id}/assign", {"assignee": "v1"}))
    step(phones["v1"], case_id, 2, status="accepted")
    step(phones["v1"], case_id, 3, status="done", resolution="好了")
    step(phones["w1b"], case_id, 4, status="closed")
    assert verify_cli("--data-dir", str(data_dir)).exit_code == 0
    edits = {"assignee": {"assignee": "v2"}, "points": {"points": 50},
             "reopened": {"status": "done"}, "difficulty": {"difficulty": 3}}
    with raw_db(data_dir) as db:   # behind the server's back
        if how in ("evidence", "signed"):
            # the "done" step's stored change now says "accepted", or (still "done") that
            # the assignee reported another resolution than the one they signed
            for op, text in db.execute("SELECT op, change FROM ops").fetchall():
                change = json.loads(text)
                if change["fields"].get("status") == "done":
                    change["fields"].update({"status": "accepted"} if how == "evidence"
                                            else {"resolution": "修好了，另加一次上门"})
                    db.execute("UPDATE ops SET change = ? WHERE op = ?",
                               (json.dumps(change), op))
        else:
            state = json.loads(db.scalar("SELECT state FROM records WHERE id = ?", (case_id,)))
            state["fields"].update(edits[how])
            db.execute("UPDATE records SET state = ? WHERE id = ?", (json.dumps(state), case_id))
    result = verify_cli("--data-dir", str(data_dir))
    assert result.exit_code != 0 and f"case {case_id}" in result.output, result.output
    if how in ("evidence", "signed"):
        assert "signature does not verify" in result.output, result.output
    if how == "difficulty":  # paid 5 for difficulty 1; the case now says 3, worth 20
        assert "it pays 5, but the case (difficulty 3) is worth 20 under its rules" \
            in result.output, result.output


def test_a_case_may_name_a_household_added_earlier_in_the_same_push(api, phones):
    """A phone that adds a household and reports its hazard offline sends both in one
    push: the case must see the household the push has just added."""
    w1 = phones["w1"]
    household = w1.change("households", {"grid": "g1a", "address": "新楼 1 号"})
    case = w1.change("cases", {"grid": "g1", "kind": "patrol", "category": "road",
                               "title": "楼道堆物", "household": household["id"]})
    other = w1.change("households", {"grid": "g2", "address": "别的网格"})
    wrong = w1.change("cases", {"grid": "g1", "kind": "patrol", "category": "road",
                                "title": "x", "household": other["id"]})
    results = w1.sync([household, case, other, wrong])["results"]
    assert [r["status"] for r in results[:2]] == ["applied", "applied"]
    assert case_state(api, case["id"])["fields"]["household"] == household["id"]
    rejected(results[2], "forbidden")      # g2 is not w1's: nothing to point at
    rejected(results[3], "validation")
