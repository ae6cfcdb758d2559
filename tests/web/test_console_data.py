"""Field data read back, Excel in and out, conflicts in plain words, the dashboard, print
layouts, and the language and plain-http sign-in behaviour (Flask test client)."""

from __future__ import annotations

import dataclasses
import io
import re

import pytest
from openpyxl import load_workbook

from server.services import roster_import
from tests.helpers import db_dump
from tests.web.web_support import ADMIN_LOGIN, ADMIN_PASSWORD, WebClient, push


@pytest.fixture
def office(app, web_world):
    client = WebClient(app.test_client())
    client.sign_in(ADMIN_LOGIN, ADMIN_PASSWORD)
    return client


@pytest.fixture
def field(web_world):
    """Two households in g1 with visits by w1 (one noting a hazard and a need)."""
    w1 = web_world["w1"]
    homes = []
    for address, head in (("幸福路12号3单元", "王芳"), ("和平街7号", "李明")):
        change = w1.change("households", {"grid": "g1", "address": address, "head_name": head,
                                          "members": 2})
        push(w1, change)
        homes.append(change["id"])
    push(w1, w1.change("visits", {"household": homes[0], "visited_at": "2026-11-20T02:00:00.000Z",
                                  "outcome": "met", "needs": ["助餐"],
                                  "hazards": ["燃气管老化"]}))
    push(w1, w1.change("visits", {"household": homes[1], "visited_at": "2026-11-21T02:00:00.000Z",
                                  "outcome": "not_home"}))
    return homes


def text(resp) -> str:
    assert resp.mimetype == "text/html"
    return resp.get_data(as_text=True)


def test_household_search_matches_chinese_substrings(office, field):
    def found(q: str, grid: str = "") -> list[str]:
        html = text(office.get(f"/admin/households?q={q}&grid={grid}"))
        return re.findall(r'<tr class="household"><td><a [^>]*>([^<]+)<', html)

    assert found("幸福路") == ["幸福路12号3单元"]      # trigram index (3+ characters)
    assert found("12号3") == ["幸福路12号3单元"]
    assert found("王") == ["幸福路12号3单元"]           # shorter than a trigram: LIKE
    assert found("李明") == ["和平街7号"]
    assert found("") == ["和平街7号", "幸福路12号3单元"]
    assert found("幸福路", "g2") == []
    assert found('"OR*') == []                          # FTS syntax is quoted, not run


def test_household_search_past_its_first_pass_cap(office, field, monkeypatch):
    """More matches than one bounded pass takes: the page and the total are exact."""
    from server.storage import fielddata

    monkeypatch.setattr(fielddata, "SEARCH_CAP", 1)
    html = text(office.get("/admin/households?q="))
    assert re.findall(r'<tr class="household"><td><a [^>]*>([^<]+)<', html) == [
        "和平街7号", "幸福路12号3单元"]
    assert re.search(r'id="household-count">2\D', html)
    html = text(office.get("/admin/households?q=&page=2"))     # past the end: still counted
    assert re.search(r'id="household-count">2\D', html)
    monkeypatch.setattr(fielddata, "SEARCH_CAP", 0)              # the FTS path too
    html = text(office.get("/admin/households?q=幸福路"))
    assert re.search(r'id="household-count">1\D', html) and "幸福路12号3单元" in html


def test_visits_with_filters_and_one_household(office, field):
    html = text(office.get("/admin/visits?grid=g1&hazard=燃气"))
    assert len(re.findall(r'<tr class="visit"', html)) == 1 and "燃气管老化" in html
    html = text(office.get("/admin/visits?worker=w1&outcome=not_home"))
    assert len(re.findall(r'<tr class="visit"', html)) == 1 and "和平街7号" in html
    html = text(office.get("/admin/visits?from=2026-11-21&to=2026-11-21"))
    assert len(re.findall(r'<tr class="visit"', html)) == 1
    bad = office.get("/admin/visits?from=yesterday")
    assert bad.status_code == 400 and "field-error" in text(bad)
    home = text(office.get(f"/admin/households/{field[0]}"))
    assert "王芳" in home and "燃气管老化" in home
    assert office.get("/admin/households/nope").status_code == 404


def test_needs_hazards_and_hours(office, field):
    html = text(office.get("/admin/needs?kind=hazards"))
    assert re.search(r"<span>燃气管老化</span> <strong>1</strong>", html)
    assert "助餐" in text(office.get("/admin/needs?kind=needs"))
    hours = text(office.get("/admin/hours?grid=g1"))
    # v1: 4 h verified, 1 h recorded, 0.5 h rejected (see make_web_world); v2 is in g2.
    row = re.search(r'<tr id="hours-v1">(.*?)</tr>', hours, re.S).group(1)
    assert re.findall(r'class="num">([^<]+)<', row) == ["1", "4", "0.5", "40"]
    assert 'id="hours-v2"' not in hours


def xlsx_rows(data: bytes, sheet: str | None = None) -> list[tuple]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    ws = book[sheet] if sheet else book.worksheets[0]
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def test_exports(office, field):
    rows = xlsx_rows(office.client.get("/admin/export/visits?hazard=燃气").data)
    assert rows[0][:3] == ("走访时间", "网格", "地址") and len(rows) == 2
    assert rows[1][2] == "幸福路12号3单元" and rows[1][7] == "燃气管老化"
    assert str(rows[1][0]) == "2026-11-20 10:00:00"        # local time (Asia/Shanghai)
    needs = office.client.get("/admin/export/needs").data
    assert len(xlsx_rows(needs, "隐患")) == 2 and len(xlsx_rows(needs, "需求")) == 2
    ledger = xlsx_rows(office.client.get("/admin/export/ledger?from=2020-01-01").data)
    assert {r[2] for r in ledger[1:]} == {"earn", "adjust"}
    assert len(xlsx_rows(office.client.get("/admin/export/redemptions").data)) == 1
    assert office.get("/admin/export/secrets").status_code == 404
    form = office.client.get("/admin/export?what=ledger&from=2020-01-01&to=&grid=")
    assert form.status_code == 303 and form.headers["Location"] == (
        "/admin/export/ledger?from=2020-01-01")
    cases = office.client.get("/admin/export/cases?grid=g1")
    assert cases.status_code == 200 and xlsx_rows(cases.data)[0][:2] == ("案件", "网格")


def test_exports_never_write_formulas(office, web_world):
    w1 = web_world["w1"]
    home = w1.change("households", {"grid": "g1", "address": '=HYPERLINK("http://x","y")'})
    push(w1, home)
    push(w1, w1.change("visits", {"household": home["id"], "outcome": "met",
                                  "visited_at": "2026-11-20T02:00:00.000Z",
                                  "hazards": ["=1+1"]}))
    book = load_workbook(io.BytesIO(office.client.get("/admin/export/visits").data))
    cells = [c for row in book.worksheets[0].iter_rows(min_row=2) for c in row]
    assert {c.data_type for c in cells if str(c.value).startswith("=")} == {"s"}
    assert any(c.value == '=HYPERLINK("http://x","y")' for c in cells)


def roster(rows: list[list], people: list[list] | None = None) -> bytes:
    book = load_workbook(io.BytesIO(roster_import.template()))
    for row in rows:
        book["住户"].append(row)
    for row in people or []:
        book["人员"].append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(office, data: bytes, name: str = "roster.xlsx"):
    csrf = office.csrf("/admin/excel")
    return office.client.post("/admin/excel/import", data={"csrf": csrf,
                              "file": (io.BytesIO(data), name)},
                              content_type="multipart/form-data")


@pytest.fixture
def in_request(app):
    app.extensions["gridsync.settings"] = dataclasses.replace(
        app.extensions["gridsync.settings"], import_in_request=True)


def test_import_dry_run_lists_every_problem_then_writes_good_rows_once(office, in_request,
                                                                        data_dir, web_world):
    data = roster([["H1", "g1", "幸福路1号", "张三", 3, 13800000000, "独居老人、低保", None],
                   ["H2", "一网格", "幸福路2号", None, None, None, None, None],
                   ["H3", "nowhere", "x", None, "many", None, None, None],
                   ["H1", "g1", "again", None, None, None, None, None]],
                  [["v8", "赵六", "志愿者", "g1", None], ["x", "钱七", "厨师", "g1", None]])
    before = db_dump(data_dir)
    resp = upload(office, data)
    assert resp.status_code == 303
    job = resp.headers["Location"]
    html = text(office.get(job))
    assert "已检查 6 行：新增 3，修改 0，无变化 0，有问题 3。" in html
    problems = re.findall(r"<tr><td>(住户|人员)</td><td class=\"num\">(\d+)</td>", html)
    assert problems == [("人员", "3"), ("住户", "4"), ("住户", "4"), ("住户", "5")]
    assert "没有编号或名称为“nowhere”的网格。" in html and "人数须为整数" in html
    assert "与第 2 行是同一户或同一人。" in html
    after = db_dump(data_dir)
    assert {k for k in after if after[k] != before[k]} == {"import_jobs"}   # a dry run

    office.post(job + "/apply", {}, page=job)
    html = text(office.get(job))
    assert "完成：写入 2 户、1 人" in html
    w1 = web_world["w1"]
    pulled = {k: v for k, v in w1.pull_all(fresh=True).items() if k[0] == "households"}
    assert sorted(v["fields"]["address"] for v in pulled.values()) == ["幸福路1号", "幸福路2号"]
    one = next(v for v in pulled.values() if v["fields"]["address"] == "幸福路1号")
    assert one["fields"] == {"grid": "g1", "address": "幸福路1号", "head_name": "张三",
                             "members": 3, "phone": "13800000000", "tags": ["独居老人", "低保"]}

    settled = db_dump(data_dir, skip=("rate_limits", "import_jobs"))
    office.post(job + "/apply", {}, page=job)              # a second click writes nothing
    assert db_dump(data_dir, skip=("rate_limits", "import_jobs")) == settled
    again = upload(office, data).headers["Location"]
    assert "新增 0，修改 0，无变化 3" in text(office.get(again))
    assert 'id="nothing-to-do"' in office.last_html
    assert db_dump(data_dir, skip=("rate_limits", "import_jobs")) == settled
    recent = text(office.get("/admin/excel"))     # each import's state in words
    assert "· 已导入" in recent and "· 已检查，尚未导入" in recent and "· done" not in recent


def test_reimport_over_a_phone_edit_keeps_the_phone_value_as_a_conflict(office, in_request,
                                                                        web_world, api):
    data = roster([["H1", "g1", "幸福路1号", "张三", 3, None, None, None]])
    job = upload(office, data).headers["Location"]
    office.post(job + "/apply", {}, page=job)
    w1 = web_world["w1"]
    (key, record), = [(k, v) for k, v in w1.pull_all(fresh=True).items() if k[0] == "households"]
    push(w1, w1.change("households", {"members": 4}, id=key[1], base=record["version"]))
    changed = roster([["H1", "g1", "幸福路1号", "张三", 5, None, None, None]])
    job = upload(office, changed).headers["Location"]
    assert "修改 1" in text(office.get(job))
    office.post(job + "/apply", {}, page=job)
    (conflict,) = api.ok(api.get("/conflicts"))["conflicts"]
    assert (conflict["field"], conflict["winner"]["value"], conflict["loser"]["value"]) == (
        "members", 5, 4)
    html = text(office.get("/admin/conflicts"))
    assert "幸福路1号" in html and ">人数<" in html
    assert "name of w1 · 手机“w1 phone”" in html and "社区办公室（name of adm2）" in html


def test_bad_uploads_get_a_clear_page(office, data_dir, monkeypatch):
    before = db_dump(data_dir)
    for data, needle in ((b"not a spreadsheet", "这不是 .xlsx 文件"),
                         (b"", "请先选择填好的 .xlsx 文件")):
        resp = upload(office, data)
        assert resp.status_code == 400 and needle in resp.get_data(as_text=True)
    from openpyxl import Workbook

    out = io.BytesIO()
    Workbook().save(out)
    assert "没有“住户”或“人员”工作表" in upload(office, out.getvalue()).get_data(as_text=True)
    monkeypatch.setattr(roster_import, "MAX_ROWS", 2)
    many = upload(office, roster([["H1", "g1", "a"], ["H2", "g1", "b"], ["H3", "g1", "c"]]))
    assert many.status_code == 400 and "超过 2 行" in many.get_data(as_text=True)
    from server.services import xlsx_rows

    monkeypatch.setattr(xlsx_rows, "MAX_CELL_CHARS", 10)
    huge = upload(office, roster([["H1", "g1", "幸福路" * 4]]))
    assert huge.status_code == 400 and "超出花名册的上限" in huge.get_data(as_text=True)
    assert db_dump(data_dir) == before


def test_a_count_int_cannot_read_is_a_row_problem_not_a_crash(office):
    """"²" is a digit to str.isdigit and not to int(); 5,000 digits are past int()'s limit."""
    resp = upload(office, roster([["H1", "g1", "幸福路1号", None, "²", None, None, None],
                                  ["H2", "g1", "幸福路2号", None, "9" * 5000, None, None, None],
                                  ["H3", "g1", "幸福路3号", None, "٣", None, None, None]]))
    assert resp.status_code == 303
    html = text(office.get(resp.headers["Location"]))
    assert html.count("人数须为整数") == 2, html[:2000]   # ² and the 5,000 digits; ٣ is 3


def test_conflicts_name_the_household_the_field_and_who(office, web_world):
    w1, w1b = web_world["w1"], web_world["w1b"]
    change = w1.change("households", {"grid": "g1", "address": "和平街9号"})
    push(w1, change)
    push(w1, w1.change("households", {"phone": "111"}, id=change["id"], base=1))
    push(w1b, w1b.change("households", {"phone": "222"}, id=change["id"], base=1))
    html = text(office.get("/admin/conflicts"))
    assert "<strong>和平街9号</strong>" in html
    assert '<strong class="field-label">电话</strong>' in html
    assert "name of w1 · 手机“w1 phone”" in html and "name of w1b · 手机“w1b phone”" in html


def test_a_case_conflict_reads_with_chinese_labels(office, data_dir):
    from server.config import database_target
    from server.storage import open_storage

    store = open_storage(database_target(str(data_dir)), migrate_schema=False)
    side = {"hlc": "001764000000000:00000:server", "device": "server:adm2", "op": "x"}
    with store.transaction():
        store.records.add_conflicts([("cases", "c-1", "resolution", {**side, "value": "已修"},
                                      {**side, "value": "未修"}, "2026-12-01T00:00:00.000Z")])
    store.close()
    html = text(office.get("/admin/conflicts"))
    assert '<strong class="field-label">办理结果</strong>' in html
    assert "社区办公室（name of adm2）" in html


def test_dashboard_numbers(office, field):
    html = text(office.get("/admin/dashboard"))
    assert re.search(r'id="n-volunteers">2<', html) and re.search(r'id="n-workers">3<', html)
    assert re.search(r'id="n-visits">2<', html)
    assert html.count('<svg class="chart console-chart"') == 5
    assert re.search(r"<span>一网格</span> <strong>2</strong>", html)


def test_print_cards_shows_current_cards_or_makes_new_ones(office, api, web_world):
    resp = office.post("/admin/print/cards", {"person": ["v1", "w1", "nobody"],
                                              "mode": "current"}, page="/admin/print")
    assert resp.status_code == 200
    (first,) = re.findall(r'class="card-code">([^<]+)<', office.last_html)
    assert first == web_world["card"] and 'id="card-v1"' in office.last_html   # not replaced
    assert 'id="cards-made">共 1 张卡待打印，其中 0 张是新卡' in office.last_html
    assert "社区一" in office.last_html and 'data-print' in office.last_html
    office.post("/admin/print/cards", {"person": ["v1"], "mode": "current"}, page="/admin/print")
    assert re.findall(r'class="card-code">([^<]+)<', office.last_html) == [first]  # the same
    office.post("/admin/print/cards", {"person": ["v1"], "mode": "new"}, page="/admin/print")
    (renewed,) = re.findall(r'class="card-code">([^<]+)<', office.last_html)
    assert renewed != first
    assert office.post("/admin/print/cards", {}, page="/admin/print").status_code == 400
    posters = office.get("/admin/print").get_data(as_text=True)
    assert 'href="/admin/grids/g1/poster"' in posters


def test_accept_language_is_honoured_until_a_language_is_chosen(app):
    client = app.test_client()
    assert '<html lang="en">' in client.get(
        "/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in client.get(
        "/login", headers={"Accept-Language": "zh-TW,zh;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in client.get(
        "/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    client.get("/login?lang=zh_CN")
    assert '<html lang="zh-CN">' in client.get(
        "/login", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_plain_http_from_another_machine_explains_what_to_do(app, data_dir):
    client = app.test_client()
    remote = {"base_url": "http://192.168.1.20:8000"}
    html = client.get("/login", **remote).get_data(as_text=True)
    assert 'id="https-needed"' in html and "GRIDSYNC_WEB_COOKIE_SECURE=false" in html
    before = db_dump(data_dir)         # the browser dropped the Secure gs_pre cookie:
    resp = app.test_client().post("/login", data={"login": "office", "secret": "x", "csrf": "y"},
                                  **remote)
    assert resp.status_code == 400 and "登录需要 HTTPS" in resp.get_data(as_text=True)
    assert db_dump(data_dir) == before
    assert 'id="https-needed"' not in client.get("/login").get_data(as_text=True)  # localhost
    secure = client.get("/login", base_url="https://192.168.1.20").get_data(as_text=True)
    assert 'id="https-needed"' not in secure


def test_an_export_past_one_files_rows_is_refused_with_a_reason_not_cut(office, field,
                                                                         monkeypatch):
    """Nothing is left out of a file without a word: past MAX_ROWS the page asks for a
    shorter range; at MAX_ROWS the file holds every row."""
    from server.services import excel_export

    ledger = xlsx_rows(office.client.get("/admin/export/ledger?from=2020-01-01").data)
    monkeypatch.setattr(excel_export, "MAX_ROWS", len(ledger) - 1)
    assert xlsx_rows(office.client.get("/admin/export/ledger?from=2020-01-01").data) == ledger
    monkeypatch.setattr(excel_export, "MAX_ROWS", len(ledger) - 2)
    refused = office.get("/admin/export/ledger?from=2020-01-01")
    assert refused.status_code == 400 and "请缩短日期范围" in office.last_html
    monkeypatch.setattr(excel_export, "MAX_ROWS", 1)
    assert office.get("/admin/export/visits").status_code == 400
