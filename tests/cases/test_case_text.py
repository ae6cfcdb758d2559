"""A resident cannot put a NUL character into a case: PostgreSQL's jsonb refuses
"\\u0000", so one anonymous report holding it made every pull of its grid an internal
error."""

from __future__ import annotations

from tests.cases.cases_support import case_rules, public_report, report_code
from tests.conftest import BOTH_BACKENDS
from tests.helpers import api_validation
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
