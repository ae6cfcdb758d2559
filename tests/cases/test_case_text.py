"""A resident cannot put a NUL character (or another control character) into a case:
PostgreSQL's jsonb refuses "\\u0000", so one anonymous report holding it made every pull
of its grid an internal error."""

from __future__ import annotations

from tests.cases.cases_support import case_rules, public_report, report_code
from tests.conftest import BOTH_BACKENDS
from tests.helpers import api_validation, db_dump
from tests.web.web_support import WebClient

pytestmark = BOTH_BACKENDS


def test_a_nul_in_a_report_is_refused_and_the_grid_still_syncs(app, api, tokens):
    case_rules(api)
    w1 = api.enroll("w1")
    code = report_code(api)
    api_validation(public_report(api, code, title="灯\x00坏"), "title")
    api_validation(public_report(api, code, detail="\x00"), "detail")
    case, receipt = public_report(api, code).get_json().values()
    api_validation(api.client.post(f"/api/v1/public/reports/{receipt}/rating",
                                   json={"rating": 5, "note": "\x00"}), "note")
    web = WebClient(app.test_client())
    web.get(f"/r/{code}")
    resp = web.post(f"/r/{code}", {"category": "road", "title": "灯坏", "name": "王\x00"})
    assert resp.status_code == 400 and 'role="alert"' in web.last_html
    out = w1.sync()
    assert [c["id"] for c in out["changes"] if c["collection"] == "cases"] == [case]


def test_control_characters_are_refused_on_the_api_and_the_pages_alike(app, api, tokens):
    """The one rule (case_public.CONTROL_CHARS): NUL and the other C0 controls and DEL are
    refused in every resident's text; tab and newline are text."""
    case_rules(api)
    code = report_code(api)
    for bad in ("\x07", "\x1b[31m", "\x7f", "\x0b"):
        api_validation(public_report(api, code, title=f"灯{bad}坏"), "title")
    kept = public_report(api, code, detail="第一行\n\t第二行")
    assert kept.status_code == 201
    detail = api.ok(api.get(f"/cases/{kept.get_json()['case']}"))["fields"]["detail"]
    assert detail == "第一行\n\t第二行"
    web = WebClient(app.test_client())
    web.get(f"/r/{code}")
    resp = web.post(f"/r/{code}", {"category": "road", "title": "灯\x1b坏", "detail": "a\x00b"})
    assert resp.status_code == 400 and "控制字符" in web.last_html
    assert 'value="灯坏"' in web.last_html and ">ab</textarea>" in web.last_html  # taken out


def test_the_rating_form_refuses_a_nul_in_the_note_and_keeps_what_was_typed(app, api, tokens,
                                                                             data_dir):
    case_rules(api)
    w1 = api.enroll("w1")
    case_id, receipt = public_report(api, report_code(api)).get_json().values()
    api.ok(api.post(f"/cases/{case_id}/assign", {"assignee": "w1"}))
    for n, status in ((2, "accepted"), (3, "done")):
        change = w1.change("cases", {"status": status, **({"resolution": "修好了"} if n == 3
                                                           else {})}, id=case_id, base=n)
        assert w1.sync([change])["results"][0]["status"] == "applied"
    web = WebClient(app.test_client())
    page = f"/r/receipt/{receipt}"
    before = db_dump(data_dir)
    for note in ("很好\x00", "很\x08好"):
        resp = web.post(f"{page}/rating", {"rating": "4", "note": note}, page=page)
        assert resp.status_code == 400 and 'role="alert"' in web.last_html
        assert "控制字符" in web.last_html and ">很好</textarea>" in web.last_html
        assert 'value="4" required checked' in web.last_html
    assert db_dump(data_dir) == before                       # nothing changed, not rated
    resp = web.post(f"{page}/rating", {"rating": "4", "note": "很好\n谢谢"}, page=page)
    assert resp.status_code == 303
    f = api.ok(api.get(f"/cases/{case_id}"))["fields"]
    assert (f["status"], f["rating"], f["rating_note"]) == ("closed", 4, "很好\n谢谢")
