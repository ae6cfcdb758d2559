"""The office's Excel page in a real browser (Playwright + Debian's chromium): cases
exported for a date range, a grid and a status, downloaded and read back with
openpyxl; a backwards range answered on the page with nothing downloaded.

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
from tests.cases.cases_support import case_rules, new_report, open_case, report_code, step
from tests.helpers import ApiClient
from tests.web.test_console_browser import DESKTOP, shots

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[dict]:
    """A community with three cases (one closed by a volunteer, one rated by a resident,
    one cancelled), served over plain http on a free port."""
    from werkzeug.serving import make_server

    from server import create_app

    data = tmp_path_factory.mktemp("export-browser") / "data"
    token = initialise(str(data))["token"]
    app = create_app({"DATA_DIR": str(data), "TESTING": True, "WEB_COOKIE_SECURE": False})
    api = ApiClient(app.test_client(), token)
    api.make_world()
    case_rules(api)
    w1, w1b, v1 = api.enroll("w1"), api.enroll("w1b"), api.enroll("v1")
    patrol, _ = open_case(w1, title="井盖松动")
    api.ok(api.post(f"/cases/{patrol}/assign", {"assignee": "v1", "difficulty": 2}))
    assert step(v1, patrol, 2, status="accepted")["status"] == "applied"
    assert step(v1, patrol, 3, status="done", resolution="已更换")["status"] == "applied"
    assert step(w1b, patrol, 4, status="closed", rating=5)["status"] == "applied"
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
