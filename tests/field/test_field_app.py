"""The field app on a real `gridsync serve` in Debian's chromium at 360×740: a day
offline, two phones racing on one household, a network drop after the server
committed, the four-eyes check, and screenshots of every screen in both languages
(tests/artifacts/field/<screen>-<zh_CN|en>.png)."""

from __future__ import annotations

from tests.field.conftest import device_of
from tests.field.phone_support import (
    add_household,
    enrol,
    go,
    log_hours,
    ready,
    record_visit,
    shot,
    sync,
    to_english,
    wait_synced,
)


def pulled(device) -> dict:
    """Everything in ``device``'s scope, from scratch: {(collection, id): record}."""
    return device.pull_all(fresh=True)


def test_a_day_offline_lands_each_record_exactly_once(field_server, new_phone, admin):
    context = new_phone()
    page = enrol(context, field_server.app_url, field_server.code("w1"))
    device_id = page.evaluate("() => window.fieldApp.app.device.device_id")

    context.set_offline(True)
    page.reload()
    ready(page)
    assert page.inner_text("#net") == "离线"
    hh = add_household(page, address="幸福路 8 号 302", head="李大爷", members=1, tags="独居老人")
    record_visit(page, hh, "met", needs=["送药"], hazards=["飞线充电"], notes="每周回访")
    record_visit(page, hh, "not_home")
    log_hours(page, "v1", "elderly_care", "2026-12-01", "09:30", 90, notes="陪老人就医")
    go(page, "home")
    assert page.inner_text("#pending") == "待同步 4 条"

    context.set_offline(False)         # the app syncs by itself when the network is back
    out = wait_synced(page)
    assert out["applied"] == 4 and out["rejected"] == 0, out
    assert page.locator("#pending").is_hidden()

    reader = pulled(admin.enroll("w9"))
    mine = [r for r in reader.values() if device_of(r) == device_id]
    households = [r for r in mine if r["collection"] == "households"]
    visits = [r for r in mine if r["collection"] == "visits"]
    logs = [r for r in mine if r["collection"] == "service_logs"]
    assert [h["fields"]["address"] for h in households] == ["幸福路 8 号 302"]
    assert households[0]["fields"] == {"grid": "g1", "address": "幸福路 8 号 302",
                                       "head_name": "李大爷", "members": 1, "tags": ["独居老人"]}
    assert sorted(v["fields"]["outcome"] for v in visits) == ["met", "not_home"]
    assert all(v["fields"]["household"] == hh for v in visits)
    met = next(v for v in visits if v["fields"]["outcome"] == "met")
    assert met["fields"]["needs"] == ["送药"] and met["fields"]["hazards"] == ["飞线充电"]
    assert len(logs) == 1
    assert logs[0]["fields"]["started_at"] == "2026-12-01T01:30:00.000Z"   # 09:30 in Shanghai
    assert (logs[0]["fields"]["minutes"], logs[0]["fields"]["status"]) == (90, "recorded")

    again = sync(page)                 # nothing left to send; nothing doubles
    assert again["applied"] == 0 and again["duplicate"] == 0
    assert len([r for r in pulled(admin.enroll("w9")).values()
                if device_of(r) == device_id]) == 4


def edit_phone(page, household: str, phone: str) -> None:
    go(page, f"edit/{household}")
    page.wait_for_selector("#household-form")
    page.fill("#hh-phone", phone)
    page.click("#save")
    page.wait_for_selector("#record-visit")


def test_two_phones_edit_one_household_offline_conflict_recorded_and_both_converge(
        field_server, new_phone, admin):
    office = admin.enroll("w9")
    hh = office.change("households", {"grid": "g1", "address": "和平街 1 号", "head_name": "赵"})
    assert office.sync([hh])["results"][0]["status"] == "applied"
    ctx_a, ctx_b = new_phone(), new_phone()
    a = enrol(ctx_a, field_server.app_url, field_server.code("w1"))
    b = enrol(ctx_b, field_server.app_url, field_server.code("w1b"))
    ctx_a.set_offline(True)
    ctx_b.set_offline(True)
    edit_phone(a, hh["id"], "13800000001")
    edit_phone(b, hh["id"], "13900000002")
    ctx_a.set_offline(False)
    assert wait_synced(a)["applied"] == 1
    ctx_b.set_offline(False)
    assert wait_synced(b)["conflict"] == 1

    conflicts = [c for c in admin.ok(admin.get("/conflicts"))["conflicts"]
                 if c["record"] == hh["id"]]
    assert [(c["field"], c["status"]) for c in conflicts] == [("phone", "open")]
    values = {conflicts[0]["winner"]["value"], conflicts[0]["loser"]["value"]}
    assert values == {"13800000001", "13900000002"}
    winner = conflicts[0]["winner"]["value"]

    sync(a)
    for page in (a, b):
        go(page, f"household/{hh['id']}")
        assert winner in page.inner_text("main")
    go(b, "home")
    b.wait_for_selector("#conflict-notice")
    b.click("#conflict-notice")
    b.wait_for_selector("#conflicts")
    assert "13900000002" in b.inner_text("#conflicts")
    shot(b, "conflicts")
    to_english(b)
    b.wait_for_selector("#conflicts")
    shot(b, "conflicts", "en")


def test_network_drop_after_the_server_committed_duplicates_nothing(
        field_server, new_phone, admin):
    context = new_phone()
    page = enrol(context, field_server.app_url, field_server.code("w1"))
    hh = add_household(page, address="团结巷 5 号", head="钱")
    dropped = []

    def drop_the_answer(route):
        if not dropped and '"changes":[{' in (route.request.post_data or ""):
            dropped.append(route.fetch().status)     # the server commits the push ...
            route.abort("connectionreset")           # ... and the phone never hears back
        else:
            route.continue_()

    page.route("**/api/v1/sync", drop_the_answer)
    out = sync(page)
    assert dropped == [200]
    assert out["duplicate"] == 1 and out["applied"] == 0, out    # the retry: same op id
    page.unroute("**/api/v1/sync")
    device_id = page.evaluate("() => window.fieldApp.app.device.device_id")
    mine = [r for r in pulled(admin.enroll("w9")).values()
            if device_of(r) == device_id and r["collection"] == "households"]
    assert [r["id"] for r in mine] == [hh]


def test_four_eyes_and_every_screen_in_both_languages(field_server, new_phone, admin):
    other = admin.enroll("w1b")          # another worker records v1's hours, twice
    log, raced = (other.change("service_logs", {"volunteer": "v1", "activity": "cleanup",
                                                 "minutes": minutes,
                                                 "started_at": "2026-12-02T01:00:00.000Z"})
                  for minutes in (120, 30))
    assert [r["status"] for r in other.sync([log, raced])["results"]] == ["applied"] * 2

    context = new_phone()
    page = enrol(context, field_server.app_url, field_server.code("w1"), shots=True)
    shot(page, "home")
    hh = add_household(page, address="光明路 12 号 101", head="孙阿姨", members=3,
                       tags="独居老人,低保", shots=True)
    record_visit(page, hh, "met", needs=["陪诊"], hazards=["燃气隐患"], other_hazard="电线老化",
                 notes="下周带药", shots=True)
    shot(page, "household")
    go(page, f"edit/{hh}")
    shot(page, "household-edit")
    go(page, "households")
    page.fill("#search", "光明路")
    page.wait_for_function("() => document.querySelectorAll('#households li a').length === 1")
    shot(page, "households")
    log_hours(page, "v1", "elderly_care", "2026-12-03", "14:00", 60, shots=True)

    go(page, "verify")
    item = page.locator(f"#to-verify li[data-id='{log['id']}']")
    assert "120" in item.inner_text()
    shot(page, "verify")
    item.get_by_role("button", name="通过").click()
    item.wait_for(state="detached")
    second = page.locator(f"#to-verify li[data-id='{raced['id']}']")
    second.get_by_role("button", name="通过").click()
    second.wait_for(state="detached")
    third = admin.enroll("w9")           # meanwhile a third worker verified that one first
    first = third.change("service_logs", {"status": "verified"}, id=raced["id"], base=1)
    assert third.sync([first])["results"][0]["status"] == "applied"
    out = sync(page)
    assert (out["applied"], out["rejected"]) == (4, 1), out
    page.wait_for_selector("#rejected")
    assert "已经审核过" in page.inner_text("#rejected")   # the reason in plain words
    shot(page, "home-synced")
    state = other.pull_all()[("service_logs", log["id"])]["fields"]
    assert (state["status"], state["verified_by"], state["points"]) == ("verified", "w1", 12)

    to_english(page)
    for route, name in (("home", "home"), ("households", "households"),
                        (f"household/{hh}", "household"), (f"edit/{hh}", "household-edit"),
                        (f"visit/{hh}", "visit"), ("hours", "hours"), ("verify", "verify"),
                        ("new-household", "household-new")):
        go(page, route)
        page.wait_for_selector("main > *:not(p.card)")
        shot(page, name, "en")
    fresh = new_phone("en").new_page()      # the console's QR: /field/#enrol=<code>
    fresh.goto(field_server.app_url + "#enrol=ENR-7Q2M-K9XD-4TPA-X8WC")
    ready(fresh)
    to_english(fresh)
    assert fresh.input_value("#code") == "ENR-7Q2M-K9XD-4TPA-X8WC"
    shot(fresh, "enrol", "en")


def test_tab_closed_while_the_server_committed_a_push_loses_and_doubles_nothing(
        field_server, new_phone, admin):
    context = new_phone()
    page = enrol(context, field_server.app_url, field_server.code("w1"))
    device_id = page.evaluate("() => window.fieldApp.app.device.device_id")
    hh = add_household(page, address="长寿里 3 号", head="吴")
    record_visit(page, hh, "refused")
    held = []

    def commit_then_hang(route):
        if not held and '"changes":[{' in (route.request.post_data or ""):
            held.append(route.fetch().status)          # committed on the server
        else:
            route.continue_()                          # (the hung one is never answered)

    page.route("**/api/v1/sync", commit_then_hang)
    go(page, "home")
    page.click("#sync")
    for _ in range(200):                               # route handlers run while we wait
        if held:
            break
        page.wait_for_timeout(50)
    page.close()                                       # the worker swipes the tab away
    assert held == [200]

    page = context.new_page()
    page.goto(field_server.app_url)             # reopened with signal and 2 waiting:
    ready(page)                                  # the app syncs by itself
    out = wait_synced(page)
    assert (out["duplicate"], out["applied"], out["rejected"]) == (2, 0, 0), out
    mine = [r for r in pulled(admin.enroll("w9")).values() if device_of(r) == device_id]
    assert sorted(r["collection"] for r in mine) == ["households", "visits"]


def test_a_phone_clock_ten_minutes_fast_is_corrected_and_its_change_lands(
        field_server, new_phone, admin):
    context = new_phone()
    context.add_init_script("(() => { const real = Date.now.bind(Date);"
                            " Date.now = () => real() + 600000; })()")
    page = enrol(context, field_server.app_url, field_server.code("w1"))
    add_household(page, address="快钟路 1 号", head="冯")
    out = sync(page)
    assert (out["restamped"], out["applied"], out["rejected"]) == (1, 1, 0), out
    clock = page.evaluate("() => import('/field/static/js/db.js')"
                          ".then((db) => db.getMeta('clock'))")
    assert -660_000 < clock["offset"] < -540_000       # the server's time adopted


def test_a_refused_cursor_pulls_again_from_the_start_and_keeps_the_outbox(
        field_server, new_phone, admin):
    context = new_phone()
    page = enrol(context, field_server.app_url, field_server.code("w1"))
    hh = add_household(page, address="重来路 2 号", head="蒋")
    sync(page)
    count = "() => import('/field/static/js/db.js').then((db) => db.records('households'))" \
            ".then((rows) => rows.length)"
    before = page.evaluate(count)
    record_visit(page, hh, "met", notes="游标被拒后也不丢")
    page.evaluate("() => import('/field/static/js/db.js').then((db) =>"
                  " db.write(['meta'], (tx) => tx.put('meta', 'not-a-cursor', 'cursor')))")
    out = sync(page)
    assert (out["restarts"], out["applied"], out["rejected"]) == (1, 1, 0), out
    assert page.evaluate(count) == before
    go(page, f"household/{hh}")
    assert "游标被拒后也不丢" in page.inner_text("#visits")


def test_a_browser_without_webcrypto_ed25519_signs_with_the_vendored_library(
        field_server, new_phone, admin):
    context = new_phone()
    context.add_init_script("""(() => {
      const generate = crypto.subtle.generateKey.bind(crypto.subtle);
      crypto.subtle.generateKey = (alg, ...rest) => ((alg && (alg.name || alg)) === "Ed25519"
        ? Promise.reject(new DOMException("Ed25519 is not supported", "NotSupportedError"))
        : generate(alg, ...rest));
    })()""")
    page = enrol(context, field_server.app_url, field_server.code("w1"))
    kind = page.evaluate("() => import('/field/static/js/db.js')"
                         ".then((db) => db.getMeta('key')).then((k) => k.kind)")
    assert kind == "noble"
    hh = add_household(page, address="老手机路 1 号", head="韩")
    record_visit(page, hh, "met")
    out = sync(page)
    assert (out["applied"], out["rejected"]) == (2, 0), out    # the server took the sigs
