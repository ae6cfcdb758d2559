"""The 办结率 report: its arithmetic (pure) and the endpoint over real cases."""

from __future__ import annotations

import datetime as dt

from server.services.case_report import lower_median, summarise
from server.services.community_time import utc_bound
from tests.cases.cases_support import case_rules, new_report, report_code
from tests.helpers import api_validation

D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 12, 1)


def test_closure_rate_satisfaction_and_median():
    groups = {"status": {("road", "closed"): 9895, ("road", "open"): 100,
                         ("road", "cancelled"): 7, ("noise", "accepted"): 5},
              "rating": {5: 9895}, "hours": {3: 9895}}
    out = summarise(groups, 100, grid="c1", start=D1, end=D2)
    assert out["received"] == 9895 + 100 + 7 + 5
    assert out["closure_rate_bp"] == 10000 * 9895 // (out["received"] - 7) == 9895
    assert (out["open"], out["overdue"], out["cancelled"]) == (105, 100, 7)
    assert out["satisfaction_bp"] == 10000 and out["median_hours_to_close"] == 3
    assert out["ratings"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 9895}
    assert out["by_category"] == {"noise": {"received": 5, "closed": 0},
                                  "road": {"received": 10002, "closed": 9895}}
    empty = summarise({"status": {}, "rating": {}, "hours": {}}, 0, grid="c1", start=D1,
                      end=D2)
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


def test_the_tally_follows_every_change_and_a_new_time_zone(api, tokens):
    from tests.cases.cases_support import CASE_RULES

    case_rules(api)
    codes = {g: report_code(api, g) for g in ("g1", "g2")}
    made = [new_report(api, codes["g1" if n % 3 else "g2"], category=("road", "noise")[n % 2])[0]
            for n in range(9)]
    api.ok(api.post(f"/cases/{made[0]}/cancel", {"reason": "重复"}))
    api.ok(api.post(f"/cases/{made[1]}/assign", {"assignee": "w1"}))
    api.ok(api.post(f"/cases/{made[1]}/assign", {"assignee": "w1b"}))   # reassigned
    api.ok(api.post(f"/cases/{made[1]}/cancel", {"reason": "不需要"}))
    span = "from=2020-01-01&to=2099-01-01"

    def expected(grid: str) -> tuple:
        cases = api.ok(api.get(f"/cases?grid={grid}&limit=1000"))["cases"]
        statuses = [c["fields"]["status"] for c in cases]
        return len(cases), statuses.count("cancelled"), statuses.count("open")

    for grid in ("c1", "g1", "g2"):
        out = api.ok(api.get(f"/reports/cases?grid={grid}&{span}"))
        assert (out["received"], out["cancelled"], out["open"]) == expected(grid), grid
    api.ok(api.put("/rules", {**CASE_RULES, "timezone": "America/New_York"}))
    out = api.ok(api.get(f"/reports/cases?grid=c1&{span}"))
    assert (out["received"], out["cancelled"]) == (9, 2)
    assert sum(v["received"] for v in out["by_category"].values()) == 9
