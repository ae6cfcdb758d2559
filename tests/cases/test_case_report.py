"""The 办结率 report: its arithmetic (pure) and the endpoint over real cases."""

from __future__ import annotations

import datetime as dt

from server.services.case_report import lower_median, summarise, utc_bound
from tests.cases.support import case_rules, new_report, report_code
from tests.helpers import api_validation

D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 12, 1)


def test_closure_rate_satisfaction_and_median():
    groups = [  # (category, status, rating, overdue, hours_to_close, n)
        ("road", "closed", 5, 0, 3, 9895), ("road", "closed", 2, 0, 40, 0),
        ("road", "open", None, 1, None, 100), ("road", "cancelled", None, 0, None, 7),
        ("noise", "accepted", None, 0, None, 5),
    ]
    out = summarise(groups, grid="c1", start=D1, end=D2)
    assert out["received"] == 9895 + 100 + 7 + 5
    assert out["closure_rate_bp"] == 10000 * 9895 // (out["received"] - 7) == 9895
    assert (out["open"], out["overdue"], out["cancelled"]) == (105, 100, 7)
    assert out["satisfaction_bp"] == 10000 and out["median_hours_to_close"] == 3
    assert out["ratings"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 9895}
    assert out["by_category"] == {"noise": {"received": 5, "closed": 0},
                                  "road": {"received": 10002, "closed": 9895}}
    empty = summarise([], grid="c1", start=D1, end=D2)
    assert (empty["closure_rate_bp"], empty["satisfaction_bp"],
            empty["median_hours_to_close"]) == (0, 0, None)
    assert list(empty["ratings"]) == ["1", "2", "3", "4", "5"]


def test_lower_median_takes_the_lower_middle():
    from collections import Counter
    assert lower_median(Counter({1: 1, 5: 1})) == 1
    assert lower_median(Counter({1: 1, 5: 1, 9: 1})) == 5
    assert lower_median(Counter({2: 3, 7: 3})) == 2
    assert lower_median(Counter()) is None


def test_local_dates_bound_in_the_rules_time_zone():
    assert utc_bound(dt.date(2026, 12, 1), "Asia/Shanghai") == "2026-11-30T16:00:00.000Z"


def test_the_endpoint_counts_received_cancelled_and_overdue(api, tokens):
    case_rules(api)
    code = report_code(api)
    a, _ = new_report(api, code)
    b, _ = new_report(api, code, category="noise")
    new_report(api, report_code(api, "g2"))
    api.ok(api.post(f"/cases/{a}/cancel", {"reason": "重复"}))
    api.ok(api.post(f"/cases/{b}/assign", {"assignee": "w1", "due_at": "2020-01-01T00:00:00Z"}))
    today = dt.date.today()
    span = f"from={today - dt.timedelta(days=1)}&to={today + dt.timedelta(days=2)}"
    out = api.ok(api.get(f"/reports/cases?grid=g1&{span}"))
    assert (out["received"], out["cancelled"], out["open"], out["overdue"]) == (2, 1, 1, 1)
    assert out["closure_rate_bp"] == 0 and out["by_category"]["noise"] == {
        "received": 1, "closed": 0}
    assert api.ok(api.get(f"/reports/cases?grid=c1&{span}"))["received"] == 3
    assert api.ok(api.get(f"/reports/cases?grid=g2&{span}"))["received"] == 1
    old = api.ok(api.get("/reports/cases?grid=c1&from=2020-01-01&to=2020-02-01"))
    assert old["received"] == 0 and old["from"] == "2020-01-01"
    api_validation(api.get("/reports/cases?grid=c1&from=2026-12-02&to=2026-12-01"), "to")
    api_validation(api.get("/reports/cases?grid=nope&from=2026-12-01&to=2026-12-02"), "grid")
    api_validation(api.get("/reports/cases?grid=c1&from=2026-13-01&to=2026-12-02"), "from")
    api_validation(api.get("/reports/cases?from=2026-12-01&to=2026-12-02"), "grid")
