"""The whole cases loop through the real server (gunicorn) and a real browser
(Playwright driving Debian's chromium): a resident reports through the poster's
page on a phone, the office assigns it on the dispatch board, a volunteer's
device (`gridsync field`) accepts and finishes it offline and syncs, the
resident rates it with the receipt, the volunteer's balance rises by the
difficulty's points exactly once, `gridsync ledger verify` passes and the
办结率 report counts it. Screenshots of every cases page, phone and desktop,
Chinese and English, land in tests/artifacts/web/cases-*.png.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import requests
from click.testing import CliRunner

from client_sdk.cli import field
from tests.browser_support import needs_chromium
from tests.cases.cases_support import CASE_RULES
from tests.helpers import gridsync_command
from tests.web.web_support import ADMIN_LOGIN, ADMIN_PASSWORD, V1_PHONE, V1_PIN

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "web"
PHONE, DESKTOP = {"width": 360, "height": 760}, {"width": 1280, "height": 900}

pytestmark = needs_chromium


def page_for(browser, viewport: dict):
    context = browser.new_context(viewport=viewport, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    return context, context.new_page()


def shots(page, name: str, *, phone_only: bool = False) -> None:
    """The page as it is (zh_CN), then in English, then back; at phone width the page
    must fit 360 px."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tag = "phone" if page.viewport_size["width"] <= 400 else "desktop"
    url = page.url.split("#")[0]
    for lang in ("zh_CN", "en"):
        if lang == "en":
            page.goto(url + ("&" if "?" in url else "?") + "lang=en")
        page.screenshot(path=str(ARTIFACTS / f"cases-{name}-{tag}-{lang}.png"), full_page=True)
        if tag == "phone":
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{name} ({lang}) is {width}px wide"
    page.goto(url + ("&" if "?" in url else "?") + "lang=zh_CN")


def sign_in(page, base: str, path: str, login: str, secret: str) -> None:
    page.goto(base + path)
    page.fill("input[name=login]", login)
    page.fill("input[name=secret]", secret)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(base + path)


def run_field(*args: str) -> str:
    result = CliRunner().invoke(field, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_whole_loop(browser, make_live_server, data_dir, tmp_path):
    server = make_live_server(env={"GRIDSYNC_WEB_COOKIE_SECURE": "false"})
    base, api = server.url, server.api_url
    admin = server.headers()
    assert requests.put(api + "/rules", json=CASE_RULES, headers=admin).status_code == 200

    # the office makes the grid's poster
    ctx, office = page_for(browser, DESKTOP)
    sign_in(office, base, "/admin/posters", ADMIN_LOGIN, ADMIN_PASSWORD)
    office.goto(base + "/admin/grids/g1/poster")
    office.click("form[action$='/poster'] button[type=submit]")
    office.wait_for_selector("#poster")
    code = re.search(r"/r/([0-9A-Z]{12})", office.inner_text(".poster-url")).group(1)
    shots(office, "poster")
    office.emulate_media(media="print")
    office.screenshot(path=str(ARTIFACTS / "cases-poster-print.png"), full_page=True)
    office.emulate_media(media="screen")

    # a resident scans it on a phone and reports
    rctx, resident = page_for(browser, PHONE)
    resident.goto(f"{base}/r/{code}")
    shots(resident, "report-form")
    resident.check("input[name=category][value=road]")
    resident.fill("input[name=title]", "三楼楼道灯不亮")
    resident.fill("textarea[name=detail]", "二单元，好几天了")
    resident.fill("input[name=phone]", "13900000000")
    resident.click("#report-form button[type=submit]")
    resident.wait_for_selector("#receipt")
    receipt = resident.inner_text("#receipt").strip()
    follow = resident.url.split("?")[0]
    assert resident.inner_text("#case-status") == "待派单"
    shots(resident, "receipt")

    # the office assigns it on the dispatch board: to v1, medium difficulty
    office.goto(base + "/admin/cases")
    item = office.locator("li.case", has_text="三楼楼道灯不亮")
    case_id = item.get_attribute("id").removeprefix("case-")
    item.locator("select[name=assignee]").select_option("v1")
    item.locator("select[name=difficulty]").select_option("2")
    item.locator("button[type=submit]").first.click()
    office.wait_for_selector("p.notice.good")
    shots(office, "board")
    office.set_viewport_size(PHONE)
    shots(office, "board")
    office.set_viewport_size(DESKTOP)
    office.goto(f"{base}/admin/cases/{case_id}")
    assert "已派单" in office.inner_text("#case-status")

    # the volunteer's device pulls it, then accepts and finishes it offline
    enrol = requests.post(api + "/enrollments", json={"person": "v1"}, headers=admin).json()
    phone_dir = str(tmp_path / "v1-phone")
    run_field("--dir", phone_dir, "enroll", base, enrol["code"], "--name", "v1 phone")
    run_field("--dir", phone_dir, "sync")
    listed = json.loads(run_field("--dir", phone_dir, "case", "list", "--mine", "--json"))
    assert [c["id"] for c in listed] == [case_id]
    assert listed[0]["fields"]["reporter_phone"] == "13900000000"
    server.stop()                                       # no signal: the steps wait
    run_field("--dir", phone_dir, "case", "accept", case_id)
    run_field("--dir", phone_dir, "case", "done", case_id, "--resolution", "已更换灯泡")
    server.start()
    run_field("--dir", phone_dir, "sync")
    status = json.loads(run_field("--dir", phone_dir, "status", "--json"))
    assert status["pending"] == 0 and status["rejected"] == []

    # the resident follows the receipt and rates it
    resident.goto(follow)
    assert resident.inner_text("#case-status") == "已完成，待评价"
    assert "已更换灯泡" in resident.inner_text("#resolution")
    shots(resident, "rate")
    resident.check("input[name=rating][value='5']")
    resident.click("#rate-form button[type=submit]")
    resident.wait_for_selector("#rating")
    assert resident.inner_text("#case-status") == "已办结"
    assert receipt.replace("-", "") in follow.replace("-", "")

    # points: once, by the difficulty; the ledger verifies; the rate counts it
    account = requests.get(api + "/accounts/volunteer:v1", headers=admin).json()
    earns = [e for e in account["entries"] if e["ref"] == f"case:{case_id}"]
    assert [e["amount"] for e in earns] == [10] and account["balance"] == 40 + 10
    verify = subprocess.run([*gridsync_command(), "ledger", "verify", "--data-dir",
                             str(data_dir)], capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    report = requests.get(api + "/reports/cases", headers=admin, params={
        "grid": "c1", "from": "2020-01-01", "to": "2099-01-01"}).json()
    assert (report["received"], report["closed"], report["closure_rate_bp"],
            report["ratings"]["5"]) == (1, 1, 10000, 1)
    office.goto(f"{base}/admin/cases/{case_id}")
    assert [li.inner_text().split()[0] for li in office.locator("#history li").all()] == [
        "待派单", "已派单", "办理中", "已完成，待评价", "已办结"]
    shots(office, "case")
    office.goto(base + "/admin/reports/cases?grid=c1")
    assert office.inner_text("#t-rate strong") == "100.00%"
    shots(office, "report")
    office.set_viewport_size(PHONE)  # the office's pages on a phone too
    for path, name in ((f"/admin/cases/{case_id}", "case"),
                       ("/admin/reports/cases?grid=c1", "report")):
        office.goto(base + path)
        shots(office, name)

    # the volunteer's own page shows the case and its points (phone)
    vctx, volunteer = page_for(browser, PHONE)
    sign_in(volunteer, base, "/me", V1_PHONE, V1_PIN)
    assert "+10" in volunteer.inner_text(f"#mine-{case_id}")
    shots(volunteer, "me")
    for context in (ctx, rctx, vctx):
        context.close()
