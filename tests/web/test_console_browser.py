"""The office console in a real browser (Playwright + Debian's chromium): a community set
up from nothing using only the pages, a phone enrolled with the code the page shows (by
the field CLI), 500 households imported from a template-filled .xlsx, a worker's visits
read back with a hazard filter and exported to .xlsx, read back here.

Every console page is saved as tests/artifacts/web/console-<page>-<zh_CN|en>-<360|desktop>.png
and checked to fit a 360 px wide screen.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from server.bootstrap import initialise
from server.services import roster_import
from tests.browser_support import needs_chromium
from tests.conftest import wider_database
from tests.web.test_browser import ARTIFACTS

pytestmark = needs_chromium

GRIDSYNC = str(Path(sys.executable).parent / "gridsync")
DESKTOP, PHONE = 1280, 360


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, make_app_module, request):
    """A data dir with nothing in it but the first admin, served over plain http; on the
    PostgreSQL run a database of the module's own (not the first test's, dropped with it)."""
    from werkzeug.serving import make_server

    data = tmp_path_factory.mktemp("console") / "data"
    with pytest.MonkeyPatch.context() as mp, wider_database(request) as url:
        mp.delenv("GRIDSYNC_DATABASE_URL", raising=False)
        token = initialise(str(data), url)["token"]
        app = make_app_module(data, WEB_COOKIE_SECURE=False,
                              **({"DATABASE_URL": url} if url else {}))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield {"url": f"http://127.0.0.1:{server.server_port}", "token": token, "data": data}
        server.shutdown()
        thread.join(10)
        server.server_close()


@pytest.fixture(scope="module")
def make_app_module():
    from server import create_app

    def factory(data_dir, **config):
        return create_app({"DATA_DIR": str(data_dir), "TESTING": True, **config})
    return factory


def shots(page, name: str) -> None:
    """The page in Chinese and English, on a desktop and a 360 px phone; each must fit."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    url = page.url.split("#")[0]
    sep = "&" if "?" in url else "?"
    for lang in ("zh_CN", "en"):
        page.goto(url + sep + "lang=" + lang)
        for width in (DESKTOP, PHONE):
            page.set_viewport_size({"width": width, "height": 800})
            label = "360" if width == PHONE else "desktop"
            page.screenshot(path=str(ARTIFACTS / f"console-{name}-{lang}-{label}.png"),
                            full_page=True)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{name} ({lang}) is {scroll}px wide at {width}px"
    page.goto(url + sep + "lang=zh_CN")
    page.set_viewport_size({"width": DESKTOP, "height": 800})


def submit(page, form: str) -> None:
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")


def test_a_community_from_nothing_then_roster_visits_and_excel(browser, fresh, tmp_path):
    site = fresh["url"]
    context = browser.new_context(viewport={"width": DESKTOP, "height": 800}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(site + "/admin")
    page.click("details summary")
    page.fill("input[name=token]", fresh["token"])
    page.click("form[action='/login/token'] button")
    page.wait_for_url(site + "/admin/dashboard")
    shots(page, "dashboard-empty")

    # Grids: a community, two grids, one grid inside another; one renamed after a typo.
    page.goto(site + "/admin/grids")
    add = "form[action='/admin/grids']"
    for name, parent, gid in (("幸福社区", "", "xingfu"), ("第一网格", "xingfu", "xf-1"),
                              ("第二网隔", "xingfu", "xf-2"), ("一网格东片", "xf-1", "xf-1e")):
        page.fill(f"{add} input[name=name]", name)
        page.select_option("select[name=parent]", parent)
        page.fill(f"{add} input[name=id]", gid)
        submit(page, add)
    page.fill(f"{add} input[name=name]", "")                # refused in place
    page.fill(f"{add} input[name=id]", "bad id")
    page.evaluate("document.querySelector(\"form[action='/admin/grids']\").noValidate = true")
    submit(page, add)
    assert "请用1到64个字母" in page.inner_text(add)
    assert page.locator("#grid-tree li").count() == 4
    page.click("#grid-xf-2 details.rename summary")
    page.fill("#grid-xf-2 input[name=name]", "第二网格")
    submit(page, "#grid-xf-2 form")
    assert page.inner_text("#grid-xf-2 strong") == "第二网格"
    shots(page, "grids")

    # People: a worker, a second worker (the verifier), a volunteer.
    page.goto(site + "/admin/people")
    for name, role, grid, pid in (("王芳", "worker", "xf-1", "wang"), ("赵强", "worker", "xf-1",
                                  "zhao"), ("李阿姨", "volunteer", "xf-1e", "li")):
        page.fill("#add-person input[name=name]", name)
        page.select_option("#add-person select[name=role]", role)
        page.check(f"#add-person input[name=grids][value={grid}]")
        page.fill("#add-person input[name=id]", pid)
        submit(page, "#add-person form")
        page.wait_for_url(re.compile(rf".*/admin/people/{pid}\?added=1$"))
        page.goto(site + "/admin/people")
    page.fill("#people-search input[name=q]", "王")
    submit(page, "#people-search")
    assert page.locator("table.items tbody tr").count() == 1
    shots(page, "people")

    # A shop with a cashier and two catalog items.
    page.goto(site + "/admin/shops")
    page.fill("input[name=name]", "幸福积分超市")
    page.fill("input[name=id]", "xf-shop")
    submit(page, "form[action='/admin/shops']")
    page.wait_for_url(site + "/admin/shops/xf-shop")
    page.fill("form[action$='/staff'] input[name=name]", "收银员小陈")
    page.fill("form[action$='/staff'] input[name=id]", "chen")
    submit(page, "form[action$='/staff']")
    page.goto(site + "/admin/shops/xf-shop")
    for name, price, stock, sku in (("大米 5kg", "30", "20", "rice"), ("肥皂", "4", "100", "soap")):
        page.fill("#item-form input[name=name]", name)
        page.fill("#item-form input[name=price]", price)
        page.fill("#item-form input[name=stock]", stock)
        page.fill("#item-form input[name=sku]", sku)
        submit(page, "#item-form")
    assert page.locator("#catalog tbody tr").count() == 2
    shots(page, "shop")
    page.goto(site + "/admin/shops")
    shots(page, "shops")

    # Earning rules with display names.
    page.goto(site + "/admin/rules")
    keys = page.locator("input[name=key]")
    labels = page.locator("input[name=label]")
    rates = page.locator("input[name=points_per_hour]")
    for i, (key, label, rate) in enumerate((("elderly_care", "助老服务", "10"),
                                            ("cleanup", "环境整治", "6"))):
        keys.nth(i).fill(key)
        labels.nth(i).fill(label)
        rates.nth(i).fill(rate)
    page.fill("input[name=daily_cap]", "40")
    submit(page, "#rules-form")
    page.wait_for_url(site + "/admin/rules?saved=1")
    saved = [page.locator("input[name=label]").nth(i).input_value() for i in range(2)]
    assert sorted(saved) == ["助老服务", "环境整治"]
    shots(page, "rules")

    # An enrolment code for the worker's phone, used by the field CLI.
    page.goto(site + "/admin/people/wang")
    submit(page, "#enrol form")
    code = page.inner_text("#enrol-code")
    assert page.locator("#enrol svg.qr").count() >= 1
    shot_url = site + "/admin/people/wang"
    page.screenshot(path=str(ARTIFACTS / "console-enrol-code-zh_CN-desktop.png"), full_page=True)
    phone = tmp_path / "phone"
    field = [GRIDSYNC, "field", "--dir", str(phone)]
    out = subprocess.run([*field, "enroll", site, code, "--name", "王芳的手机"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    page.goto(shot_url)
    shots(page, "person")

    # 500 households from the template, filled in.
    page.goto(site + "/admin/excel")
    with page.expect_download() as download:
        page.click("#template-link")
    book_path = tmp_path / "template.xlsx"
    download.value.save_as(book_path)
    from openpyxl import load_workbook

    book = load_workbook(book_path)
    for i in range(500):
        book["住户"].append([f"H{i:04d}", "第一网格" if i % 2 else "xf-2",
                            f"幸福路{i // 10 + 1}号{i % 10 + 1}室", f"户主{i}", i % 5 + 1,
                            13900000000 + i, "独居老人" if i % 9 == 0 else None, None])
    book["住户"].append(["H9999", "nowhere", "坏数据1号", None, "三", None, None, None])
    filled = tmp_path / "roster.xlsx"
    book.save(filled)
    shots(page, "excel")
    page.set_input_files("#upload-form input[type=file]", str(filled))
    submit(page, "#upload-form")
    page.wait_for_url(re.compile(r".*/admin/excel/import/\w+$"))
    assert "新增 500" in page.inner_text("#plan-summary")
    assert page.locator("#problems tbody tr").count() == 2
    shots(page, "import-check")
    page.click("#apply")
    page.wait_for_selector("#import-done", timeout=120_000)
    assert "写入 500 户" in page.inner_text("#import-done")
    shots(page, "import-done")

    # The phone pulls its grid's imported households and records two visits.
    assert subprocess.run([*field, "sync"], capture_output=True, timeout=60).returncode == 0
    homes = [roster_import.household_id("xingfu", f"H{i:04d}", False) for i in (1, 3)]
    for home, hazard in zip(homes, ("飞线充电", None), strict=True):
        extra = ["--hazard", hazard, "--need", "助餐"] if hazard else []
        out = subprocess.run([*field, "visit", "--household", home, "--outcome", "met", *extra],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
    out = subprocess.run([*field, "sync"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr

    page.goto(site + "/admin/households?q=幸福路1号")
    assert page.locator("tr.household").count() >= 1
    shots(page, "households")
    page.click("tr.household a")
    shots(page, "household")

    # The worker's visits with a hazard filter, then exported and read back.
    page.goto(site + "/admin/visits")
    page.select_option("#filters select[name=worker]", "wang")
    page.fill("#filters input[name=hazard]", "飞线")
    submit(page, "#filters")
    assert page.locator("tr.visit").count() == 1
    assert "飞线充电" in page.inner_text("tr.visit")
    shots(page, "visits")
    with page.expect_download() as download:
        page.click("#export-visits")
    exported = tmp_path / "visits.xlsx"
    download.value.save_as(exported)
    rows = list(load_workbook(exported, read_only=True).worksheets[0].iter_rows(
        values_only=True))
    assert rows[0][:6] == ("走访时间", "网格", "地址", "户主", "网格员", "结果")
    assert len(rows) == 2 and rows[1][2] == "幸福路1号2室" and rows[1][7] == "飞线充电"
    assert rows[1][4] == "王芳" and rows[1][5] == "见到"

    # Two hours for the volunteer, recorded on 王芳's phone, verified on 赵强's.
    page.goto(site + "/admin/people/zhao")
    submit(page, "#enrol form")
    second = [GRIDSYNC, "field", "--dir", str(tmp_path / "phone2")]
    for command in ([*second, "enroll", site, page.inner_text("#enrol-code")],
                    [*field, "log-hours", "--volunteer", "li", "--activity", "elderly_care",
                     "--minutes", "120"], [*field, "sync"], [*second, "sync"]):
        out = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
    logs = subprocess.run([*second, "logs", "--json"], capture_output=True, text=True,
                          timeout=60)
    (log,) = json.loads(logs.stdout)["service_logs"]
    for command in ([*second, "verify", log["id"]], [*second, "sync"]):
        out = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
    page.goto(site + "/admin/hours")
    assert page.inner_text("#hours-li").split()[-1] == "20"          # points earned

    for path, name in (("/admin/needs", "needs"), ("/admin/hours", "hours"),
                       ("/admin/dashboard", "dashboard"), ("/admin/print", "print"),
                       ("/admin/conflicts", "conflicts")):
        page.goto(site + path)
        shots(page, name)
    page.goto(site + "/admin/print")
    with page.expect_navigation():
        page.click("#print-current")
    assert page.locator("article.points-card").count() == 1
    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / "console-cards-print.png"), full_page=True)
    page.emulate_media(media="screen")
    page.screenshot(path=str(ARTIFACTS / "console-cards-zh_CN-desktop.png"), full_page=True)
    context.close()


def test_a_long_name_without_spaces_wraps_instead_of_widening_pages(browser, fresh):
    """A name with no break opportunity (Latin letters, no spaces) made the dashboard and
    the people pages 1,900-2,200 px wide (review finding B-7). Runs after the community
    test above, on the same server: it adds a community of its own."""
    import urllib.request

    site, long_name = fresh["url"], "Wangxiaohongdemingzi" * 8
    for path, body in (("/api/v1/grids", {"id": "long-c", "name": long_name, "parent": None}),
                       ("/api/v1/people", {"id": "long-v", "name": long_name,
                                           "role": "volunteer", "grids": ["long-c"]})):
        request = urllib.request.Request(site + path, data=json.dumps(body).encode(),
                                         method="POST", headers={
                                             "Authorization": "Bearer " + fresh["token"],
                                             "Content-Type": "application/json"})
        assert urllib.request.urlopen(request, timeout=30).status == 201
    context = browser.new_context(viewport={"width": DESKTOP, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.goto(site + "/admin")
    page.click("details summary")
    page.fill("input[name=token]", fresh["token"])
    page.click("form[action='/login/token'] button")
    page.wait_for_url(site + "/admin/dashboard")
    for path in ("/admin/dashboard", "/admin/people?state=all", "/admin/people/long-v",
                 "/admin/grids"):
        page.goto(site + path)
        for width in (DESKTOP, PHONE):
            page.set_viewport_size({"width": width, "height": 800})
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{path} is {scroll}px wide at {width}px"
    context.close()
