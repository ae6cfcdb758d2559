"""Pages in a real browser (Playwright + Debian's chromium): cases exported for a date
range, a grid and a status, downloaded and read back with openpyxl, and a backwards
range answered on the page; sign-in slips for a batch and for one person, used to sign
in; a control character in a resident's rating note; a weak device key marked.

Pages are saved as tests/artifacts/web/console-<page>-<zh_CN|en>-<360|desktop>.png and
checked to fit a 360 px wide screen (``shots``).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from server.bootstrap import initialise
from tests.browser_support import needs_chromium
from tests.cases.cases_support import (
    case_rules,
    closed_by_volunteer,
    new_report,
    report_code,
    step,
)
from tests.conftest import wider_database
from tests.helpers import ApiClient, raw_db
from tests.web.test_browser import ARTIFACTS
from tests.web.test_console_browser import DESKTOP, shots

pytestmark = needs_chromium
WIDER_WORLDS = ("site",)  # the module's one data dir and database (tests/conftest.py)


@pytest.fixture(scope="module")
def site(tmp_path_factory, request) -> Iterator[dict]:
    """A community with three cases (one closed by a volunteer, one rated by a resident,
    one cancelled), served over plain http on a free port (its own database on the
    PostgreSQL run: ``WIDER_WORLDS``)."""
    from werkzeug.serving import make_server

    from server import create_app

    with pytest.MonkeyPatch.context() as mp, wider_database(request) as url:
        if url:
            mp.setenv("GRIDSYNC_DATABASE_URL", url)
        data = tmp_path_factory.mktemp("export-browser") / "data"
        token = initialise(str(data), url)["token"]
        app = create_app({"DATA_DIR": str(data), "TESTING": True, "WEB_COOKIE_SECURE": False,
                          **({"DATABASE_URL": url} if url else {})})
        api = ApiClient(app.test_client(), token)
        api.make_world()
        case_rules(api)
        patrol = closed_by_volunteer(api, "井盖松动", 2, "已更换")
        report, receipt = new_report(api, report_code(api), title="楼道堆物")
        api.ok(api.post(f"/cases/{report}/assign", {"assignee": "w1"}))
        new_report(api, report_code(api, "g2"), title="噪音")
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield {"url": f"http://127.0.0.1:{server.server_port}", "token": token, "data": data,
               "api": api, "patrol": patrol, "report": report, "receipt": receipt}
        server.shutdown()
        thread.join(10)
        server.server_close()


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": DESKTOP, "height": 800}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(site["url"] + "/login")
    page.click("details summary")
    page.fill("input[name=token]", site["token"])
    page.click("form[action='/login/token'] button")
    page.wait_for_url(site["url"] + "/admin/dashboard")
    yield page
    context.close()


def widths(page, name: str) -> None:
    """The page as it is (a form's answer cannot be loaded again), on a desktop and a
    360 px phone, which it must fit."""
    for width, label in ((DESKTOP, "desktop"), (360, "360")):
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    page.set_viewport_size({"width": DESKTOP, "height": 800})


def today() -> str:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def test_cases_for_a_date_range_downloaded_and_read_back(page, site, tmp_path):
    page.goto(site["url"] + "/admin/excel")
    shots(page, "excel-cases")
    form = "#cases-export-form"
    page.select_option(f"{form} select[name=grid]", "g1")
    page.select_option(f"{form} select[name=status]", "closed")
    page.fill(f"{form} input[name=from]", today())
    page.fill(f"{form} input[name=to]", today())
    with page.expect_download() as download:
        page.click(f"{form} button[type=submit]")
    saved = tmp_path / "cases.xlsx"
    download.value.save_as(saved)
    assert download.value.suggested_filename == f"gridsync-cases-{today()}-{today()}.xlsx"
    rows = list(load_workbook(saved).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:8] == ("案件", "网格", "来源", "类别", "标题", "状态", "登记人", "承办人")
    assert len(rows) == 2 and rows[1][0] == site["patrol"]
    assert rows[1][4:9] == ("井盖松动", "已办结", "name of w1", "name of v1", "一般")
    assert rows[1][13] == 5 and isinstance(rows[1][9], dt.datetime)

    # Backwards dates: the page says so beside the cases form, and nothing downloads.
    page.goto(site["url"] + "/admin/excel")
    page.fill(f"{form} input[name=from]", "2026-12-09")
    page.fill(f"{form} input[name=to]", "2026-12-01")
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")
    assert "晚于" in page.inner_text("#export-cases-card #export-error")
    assert page.input_value(f"{form} input[name=from]") == "2026-12-09"   # kept as typed
    shots(page, "excel-cases-error")


def test_sign_in_slips_for_a_batch_and_one_person_then_used_to_sign_in(page, browser, site):
    """Volunteers and a cashier made without a sign-in (as a roster import makes them)
    get slips from the print page; one slip from a person's page; the printed name and
    PIN sign in."""
    api = site["api"]
    api.person("v-201", "volunteer", ["g1"])
    api.person("v-202", "volunteer", ["g1a"])
    page.goto(site["url"] + "/admin/print")
    assert page.is_checked("#sign-ins-form input[value=v-201]")
    shots(page, "print-sign-ins")
    page.goto(site["url"] + "/admin/print")
    page.evaluate("document.querySelectorAll('#sign-ins-form input').forEach("
                  "b => { b.checked = false; })")
    page.check("#sign-ins-form input[value=v-201]")
    page.check("#sign-ins-form input[value=shop1]")
    with page.expect_navigation():
        page.click("#issue-sign-ins")              # its confirm is accepted
    assert page.locator("article.sign-in-slip").count() == 2
    login = page.inner_text("#slip-v-201 .slip-login")
    pin = page.inner_text("#slip-v-201 .slip-secret")
    widths(page, "console-sign-in-slips-zh_CN")
    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / "console-sign-in-slips-print.png"), full_page=True)
    page.emulate_media(media="screen")

    page.goto(site["url"] + "/admin/people/v-202")
    shots(page, "person-issue-login")
    page.goto(site["url"] + "/admin/people/v-202?lang=en")
    with page.expect_navigation():
        page.click("#issue-login")
    assert page.inner_text("#slip-v-202 .slip-login") == "v-202"
    assert "Keep this slip to yourself" in page.inner_text("#slip-v-202")
    widths(page, "console-sign-in-slip-en")
    page.goto(site["url"] + "/admin/print?lang=zh_CN")

    volunteer = browser.new_context(viewport={"width": 360, "height": 800}, locale="zh-CN")
    phone = volunteer.new_page()
    phone.goto(site["url"] + "/login")
    phone.fill("input[name=login]", login)
    phone.fill("input[name=secret]", pin)
    with phone.expect_navigation():
        phone.click("form[action='/login'] button[type=submit]")
    assert phone.url.endswith("/me")
    volunteer.close()


def test_a_rating_note_with_a_control_character_is_answered_on_the_page(browser, site):
    """The resident's rating form: a NUL typed into the note (as a broken keyboard or a
    pasted text can) is refused with a message, the note kept without it."""
    api, case_id = site["api"], site["report"]
    w1 = api.enroll("w1", "w1 second phone")
    for base, status in ((2, "accepted"), (3, "done")):
        extra = {"resolution": "已清理"} if status == "done" else {}
        assert step(w1, case_id, base, status=status, **extra)["status"] == "applied"
    context = browser.new_context(viewport={"width": 360, "height": 800}, locale="zh-CN")
    resident = context.new_page()
    for lang, says in (("en", "control characters"), ("zh_CN", "控制字符")):
        resident.goto(site["url"] + f"/r/receipt/{site['receipt']}?lang={lang}")
        resident.check("#rate-form input[name=rating][value='4']")
        resident.evaluate(
            "document.querySelector('#rate-form textarea').value = '很好\\u0000谢谢'")
        with resident.expect_navigation():
            resident.click("#rate-form button[type=submit]")
        assert says in resident.inner_text("[role=alert]")
        assert resident.input_value("#rate-form textarea") == "很好谢谢"
        assert resident.is_checked("#rate-form input[name=rating][value='4']")
        widths(resident, f"public-rating-control-chars-{lang}")
    with resident.expect_navigation():
        resident.click("#rate-form button[type=submit]")
    assert "★★★★" in resident.inner_text("#rating")
    context.close()


def test_a_device_with_a_weak_key_is_marked_on_the_devices_page(page, site):
    from tests.server.test_weak_device_keys import IDENTITY

    phone = site["api"].enroll("w1b", "旧手机")
    with raw_db(site["data"]) as db:                         # enrolled before the key check
        db.execute("UPDATE devices SET public_key = ? WHERE id = ?", (IDENTITY, phone.id))
    page.goto(site["url"] + "/admin/devices")
    assert "1 台设备的密钥不安全" in page.inner_text("#weak-keys")
    assert page.locator(f"#device-{phone.id} .weak-key").count() == 1
    shots(page, "devices-weak-key")


def test_a_report_with_a_control_character_is_answered_on_the_page(browser, site):
    """The resident's report form: an escape character pasted into the title is refused
    with the same message, the title shown again without it, and nothing is stored."""
    code = report_code(site["api"], "g2")
    before = site["api"].ok(site["api"].get("/cases?grid=g2"))["cases"]
    context = browser.new_context(viewport={"width": 360, "height": 800}, locale="zh-CN")
    resident = context.new_page()
    for lang, says in (("en", "control characters"), ("zh_CN", "控制字符")):
        resident.goto(site["url"] + f"/r/{code}?lang={lang}")
        resident.check("#report-form input[name=category][value=road]")
        resident.evaluate("document.querySelector('#report-form input[name=title]').value = "
                          "'路灯\\u001b[31m坏了'")
        with resident.expect_navigation():
            resident.click("#report-form button[type=submit]")
        assert says in resident.inner_text("[role=alert]")
        assert resident.input_value("#report-form input[name=title]") == "路灯[31m坏了"
        widths(resident, f"public-report-control-chars-{lang}")
    assert site["api"].ok(site["api"].get("/cases?grid=g2"))["cases"] == before
    context.close()
