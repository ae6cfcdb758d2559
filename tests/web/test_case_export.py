"""Cases exported to Excel for a date range from the Excel page (issue #15): the
cases received in the range, of a grid and a status, with Chinese headers and cells
people read (status names, display names, local times, ratings); a bad range gets the
page again saying why, and changes nothing."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from primitives import times
from tests.cases.cases_support import (
    case_state,
    closed_by_volunteer,
    new_report,
    open_case,
    report_code,
    step,
)
from tests.helpers import db_dump

HEADERS = ("案件", "网格", "来源", "类别", "标题", "状态", "登记人", "承办人", "难度", "上报时间",
           "办理期限", "完成时间", "办结时间", "评价（1至5星）", "评价留言", "积分", "办理结果")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def three_cases(api, office_web):
    """A worker's patrol case a volunteer closed (rated 5 by another worker), a resident's
    report rated 4 with a note, and a cancelled report in the other grid."""
    patrol = closed_by_volunteer(api, "井盖松动", 3, "已更换井盖")
    w1 = api.enroll("w1", "w1's second phone")
    report, receipt = new_report(api, report_code(api), title="=1+1", category="noise")
    api.ok(api.post(f"/cases/{report}/assign", {"assignee": "w1"}))
    assert step(w1, report, 2, status="accepted")["status"] == "applied"
    assert step(w1, report, 3, status="done", resolution="已劝导")["status"] == "applied"
    api.ok(api.client.post(f"/api/v1/public/reports/{receipt}/rating",
                           json={"rating": 4, "note": "很及时"}))
    cancelled, _ = new_report(api, report_code(api, "g2"), title="重复")
    api.ok(api.post(f"/cases/{cancelled}/cancel", {"reason": "重复上报"}))
    return {"patrol": patrol, "report": report, "cancelled": cancelled}


def rows(resp) -> list[tuple]:
    assert resp.status_code == 200, resp.get_data(as_text=True)[-800:]
    assert resp.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in resp.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(resp.data))
    return [tuple(r) for r in book.worksheets[0].iter_rows(values_only=True)]


def local(text: str) -> dt.datetime:
    return times.parse(text).astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0)


def today() -> str:
    return dt.datetime.now(SHANGHAI).date().isoformat()


def test_cases_for_a_date_range_read_as_people_say_them(office_web, api, three_cases):
    got = rows(office_web.client.get(f"/admin/export/cases?from={today()}&to={today()}"))
    assert got[0] == HEADERS
    by_id = {r[0]: r for r in got[1:]}
    assert set(by_id) == set(three_cases.values())
    patrol = by_id[three_cases["patrol"]]
    f = case_state(api, three_cases["patrol"])["fields"]
    assert patrol[1:9] == ("一网格", "巡查发现", "道路设施", "井盖松动", "已办结", "name of w1",
                           "name of v1", "困难")
    assert patrol[9].replace(microsecond=0) == local(f["created_at"])     # local time
    assert patrol[12].replace(microsecond=0) == local(f["closed_at"])
    assert (patrol[13], patrol[15], patrol[16]) == (5, 20, "已更换井盖")
    report = by_id[three_cases["report"]]
    assert report[2:9] == ("群众上报", "噪音扰民", "=1+1", "已办结", "居民", "name of w1", "简单")
    assert report[13:15] == (4, "很及时")
    assert by_id[three_cases["cancelled"]][5] == "已撤销"


def test_grid_status_and_dates_narrow_the_export(office_web, three_cases):
    export = office_web.client.get
    assert [r[0] for r in rows(export("/admin/export/cases?grid=g2"))[1:]] == [
        three_cases["cancelled"]]
    closed = rows(export("/admin/export/cases?status=closed&grid=c1"))[1:]
    assert {r[0] for r in closed} == {three_cases["patrol"], three_cases["report"]}
    tomorrow = (dt.date.fromisoformat(today()) + dt.timedelta(days=1)).isoformat()
    assert rows(export(f"/admin/export/cases?from={tomorrow}")) == [HEADERS]
    form = export(f"/admin/export?what=visits&from={today()}&to=")
    assert form.status_code == 303


def test_a_title_typed_as_a_formula_stays_text(office_web, three_cases):
    book = load_workbook(io.BytesIO(office_web.client.get("/admin/export/cases").data))
    cells = [c for row in book.worksheets[0].iter_rows(min_row=2) for c in row]
    assert "=1+1" in {c.value for c in cells}
    assert {c.data_type for c in cells if str(c.value).startswith("=")} == {"s"}


@pytest.mark.parametrize(("query", "says"), [
    ("from=2026-12-09&to=2026-12-01", "“开始日期”晚于“结束日期”"),
    ("from=0001-01-01", "1970"),
    ("to=9999-12-31", "1970"),
    ("from=2026-13-01", "例如 2026-12-01"),
    ("status=lost", "案件状态"),
    ("grid=nowhere", "没有这个网格"),
])
def test_bad_filters_get_the_page_again_and_change_nothing(office_web, three_cases, data_dir,
                                                            query, says):
    before = db_dump(data_dir, skip=("rate_limits", "web_sessions"))
    resp = office_web.get(f"/admin/export/cases?{query}")
    assert resp.status_code == 400 and resp.mimetype == "text/html"
    assert 'id="export-error"' in office_web.last_html and says in office_web.last_html
    assert 'id="cases-export-form"' in office_web.last_html
    assert db_dump(data_dir, skip=("rate_limits", "web_sessions")) == before


def test_the_other_exports_refuse_a_backwards_range_too(office_web):
    resp = office_web.get("/admin/export/ledger?from=2026-12-09&to=2026-12-01")
    assert resp.status_code == 400 and 'id="export-error"' in office_web.last_html
    assert office_web.get("/admin/visits?from=2026-12-09&to=2026-12-01").status_code == 400


def test_a_control_character_from_a_device_does_not_fail_the_export(office_web, api):
    """A device's fields keep control characters (sync stores what it was sent), which a
    worksheet cannot hold: the export takes them out instead of failing (500) for all."""
    w1 = api.enroll("w1")
    case_id, result = open_case(w1, title="井盖\x07松动\x1b")
    assert result["status"] == "applied"
    got = rows(office_web.client.get(f"/admin/export/cases?from={today()}&to={today()}"))
    assert [r[4] for r in got[1:] if r[0] == case_id] == ["井盖松动"]
