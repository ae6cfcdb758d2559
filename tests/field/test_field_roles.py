"""Each role sees only what it may do (GET /me's ``may``, read from the server's own
push rules), names instead of ids, and a change the server refused is never shown as
synced: the home screen says how many were refused and why, in Chinese, and keeps what
was typed until the user copies or deletes it on purpose."""

from __future__ import annotations

from tests.field.phone_support import add_household, enrol, go, ready, shot, wait_synced


def person(field_server, id: str, name: str, role: str, grids: list[str]) -> None:
    field_server.api("POST", "/people", {"id": id, "name": name, "role": role, "grids": grids},
                     status=201)


def visible_tabs(page) -> list[str]:
    return page.locator("#nav a:visible").all_inner_texts()


def test_a_volunteer_is_offered_only_what_a_volunteer_may_do_by_name(field_server, new_phone):
    person(field_server, "v-zhang", "张阿姨", "volunteer", ["g1"])
    page = new_phone().new_page()
    page.goto(field_server.app_url)
    ready(page)
    page.fill("#code", field_server.code("v-zhang"))
    page.click("form button[type=submit]")
    page.wait_for_selector("#start")
    enrolled = page.inner_text("main")
    assert "张阿姨（志愿者）" in enrolled and "负责网格：一网格" in enrolled, enrolled
    assert "编号" not in enrolled and "g1" not in enrolled
    shot(page, "volunteer-enrolled")
    page.click("#start")
    assert "error" not in wait_synced(page)

    assert visible_tabs(page) == ["首页", "时长", "案件"]
    home = page.inner_text("main")
    assert "张阿姨（志愿者）" in home and "一网格" in home and "g1" not in home
    assert "✓ 全部已同步" in home and "手机里有" not in home
    shot(page, "volunteer-home")
    for route in ("households", "new-household", "verify"):     # typed or bookmarked
        page.evaluate("(r) => window.fieldApp.go(r)", route)
        page.wait_for_selector("#sync")
        assert page.locator("#household-form, #households, #to-verify").count() == 0
    go(page, "cases")
    cases = page.inner_text("#cases")
    assert "可认领的微心愿" in cases
    assert "网格里待派单的" not in cases and "等我确认办结" not in cases
    go(page, "hours")                       # their own hours: the one volunteer offered is them
    options = page.locator("#log-volunteer option").all_inner_texts()
    assert options[1:] == ["张阿姨（v-zhang）"], options
    assert page.input_value("#log-volunteer") == "v-zhang"     # chosen for her


def test_a_refused_household_stays_on_the_phone_with_its_reason_until_deleted(
        field_server, new_phone):
    person(field_server, "w-li", "李红", "worker", ["g1"])
    context = new_phone()
    page = enrol(context, field_server.app_url, field_server.code("w-li"))
    assert visible_tabs(page) == ["首页", "住户", "时长", "审核", "案件"]
    home = page.inner_text("main")
    assert "李红（网格员）" in home and "负责网格：一网格" in home
    go(page, "new-household")
    assert page.locator("#hh-grid option").all_inner_texts() == ["一网格"]

    context.set_offline(True)
    page.reload()
    ready(page)
    add_household(page, address="幸福路 8 号 302", head="李大爷", members=2)
    # meanwhile the office moves her to grid g2: the household of g1 is no longer hers
    field_server.api("PATCH", "/people/w-li", {"grids": ["g2"]}, status=200)
    context.set_offline(False)
    out = wait_synced(page)
    assert (out["applied"], out["rejected"]) == (0, 1), out
    assert "没有被接受" in page.inner_text("#toast")
    page.wait_for_selector("#rejected")     # from the household's page to where it is explained
    status = page.inner_text("#pending-count")
    assert status == "⚠ 有 1 条没有被接受", status
    refused = page.locator("#rejected")
    text = refused.inner_text()
    assert "您没有权限" in text and "联系社区" in text          # the reason, in Chinese
    assert "地址：幸福路 8 号 302" in text and "户主姓名：李大爷" in text and "人数：2" in text
    assert "网格：一网格" in text
    assert "moving a household" not in text                     # the server's English stays folded
    assert "负责网格：二网格" in page.inner_text("main")         # GET /me after the sync
    shot(page, "refused")

    page.reload()                                               # kept on the phone
    ready(page)
    page.wait_for_selector("#rejected")
    refused.get_by_role("button", name="复制内容").click()
    page.wait_for_function("() => document.getElementById('toast').textContent.includes('已复制')")
    delete = refused.get_by_role("button", name="删除这条")
    delete.click()                                              # one tap asks first
    assert refused.get_by_role("button", name="确定删除？删了就找不回了").is_visible()
    refused.get_by_role("button", name="确定删除？删了就找不回了").click()
    page.wait_for_selector("#rejected", state="detached")
    assert page.inner_text("#pending-count") == "✓ 全部已同步"
