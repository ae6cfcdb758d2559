"""My cases in the field app: a hazard seen at a door becomes a case (上报问题), the office
assigns it, the worker accepts it and marks it done with a resolution, and a second
worker confirms it with a rating (four eyes): every step from the phones, offline
first, landing on the server exactly as the API tells it. Screenshots of the case
screens in both languages."""

from __future__ import annotations

from tests.field.phone_support import add_household, enrol, go, record_visit, shot, sync, to_english
from tests.helpers import RULES

CATEGORIES = {"fire": "消防隐患", "repair": "设施维修"}


def test_a_hazard_becomes_a_case_taken_done_and_confirmed_from_the_phones(
        field_server, new_phone, admin):
    admin.ok(admin.put("/rules", {**RULES, "case_categories": CATEGORIES}))
    a = enrol(new_phone(), field_server.app_url, field_server.code("w1"))
    hh = add_household(a, address="消防巷 9 号", head="郑")
    record_visit(a, hh, "met", hazards=["飞线充电"], notes="电动车在楼道充电")
    a.locator("#visits .report").first.click()
    a.wait_for_selector("#case-form")
    assert a.input_value("#case-title") == "飞线充电"
    assert a.input_value("#case-detail") == "电动车在楼道充电"
    a.select_option("#case-category", "fire")
    shot(a, "case-new")
    a.click("#save")
    a.wait_for_selector("#case")
    case_id = a.evaluate("() => location.hash.split('/')[1]")
    out = sync(a)
    assert out["applied"] == 3 and out["rejected"] == 0, out

    state = admin.ok(admin.get(f"/cases/{case_id}"))
    assert state["fields"]["status"] == "open" and state["fields"]["household"] == hh
    assert (state["fields"]["kind"], state["fields"]["category"]) == ("patrol", "fire")
    admin.ok(admin.post(f"/cases/{case_id}/assign", {"assignee": "w1"}))

    sync(a)
    go(a, "home")
    a.wait_for_selector("#my-cases")
    a.click("#my-cases")
    a.wait_for_selector("#cases")
    shot(a, "cases")
    go(a, f"case/{case_id}")
    a.click("#case-accept")
    a.wait_for_selector("#case .tag.wait")
    assert sync(a)["applied"] == 1
    go(a, f"case/{case_id}")
    a.fill("#case-resolution", "已劝导，车已移到充电棚")
    shot(a, "case")
    a.click("#case-done")
    a.wait_for_selector("#case .tag.wait")
    assert sync(a)["applied"] == 1

    b = enrol(new_phone(), field_server.app_url, field_server.code("w1b"))
    go(b, "cases")
    b.wait_for_selector(f"#cases a[href='#case/{case_id}']")
    go(b, f"case/{case_id}")
    assert "已劝导" in b.inner_text("#case")
    assert "承办人\nname of w1" in b.inner_text("#case")     # the assignee by name, not id
    shot(b, "case-confirm")
    b.click("#case-close-5")
    b.wait_for_selector("#case .tag.wait")
    assert sync(b)["applied"] == 1

    state = admin.ok(admin.get(f"/cases/{case_id}"))
    assert (state["fields"]["status"], state["fields"]["rating"]) == ("closed", 5)
    assert [s["status"] for s in state["history"]] == ["open", "assigned", "accepted", "done",
                                                      "closed"]
    assert [s["by"] for s in state["history"]][2:] == ["w1", "w1", "w1b"]

    to_english(b)
    go(b, f"case/{case_id}")
    b.wait_for_selector("#case")
    shot(b, "case-confirm", "en")
    for page, route, name in ((b, "cases", "cases"), (a, f"new-case/{hh}", "case-new")):
        if page is a:
            to_english(page)
        go(page, route)
        page.wait_for_selector("#cases, #case-form")
        shot(page, name, "en")
