"""Two four-eyes holes from the adversarial review (issue 14 items 3 and 4).

3. Worker A pushes `minutes: 720` with an old stamp: it loses to worker B's 60 and
   becomes the conflict's loser; an admin keeps the loser, the server stamps the field,
   and A verified his own 720 minutes. Whoever wrote a priced field's current value,
   directly or as the loser kept through conflict review, may not verify the log.
4. A volunteer could raise the minutes on a log a worker recorded for them (30 → 720),
   delete it or bring it back, and another worker then verified 720 minutes. Volunteers
   touch only logs they recorded themselves, and only while `recorded`.
"""

from __future__ import annotations

import pytest

from server.clock import now_ms
from sync.hlc import format_hlc

LOG = {"volunteer": "v1", "activity": "cleanup", "started_at": "2026-11-26T01:00:00Z",
       "minutes": 30}


@pytest.fixture
def devices(api, world):
    api.person("w1c", "worker", ["g1"])
    return {p: api.enroll(p) for p in ("w1", "w1b", "w1c", "v1")}


def push(device, change):
    return device.sync([change])["results"][0]


def status(result):
    return result["status"] if result["status"] != "rejected" else result["error"]["code"]


def test_the_loser_kept_through_conflict_review_cannot_verify_his_own_minutes(api, devices):
    w1, b, a = devices["w1"], devices["w1b"], devices["w1c"]
    log = w1.change("service_logs", LOG)
    assert push(w1, log)["version"] == 1
    assert push(b, b.change("service_logs", {"minutes": 60}, id=log["id"], base=1))[
        "status"] == "applied"
    old_stamp = format_hlc(now_ms() - 3_600_000, 0, a.id)
    assert push(a, a.change("service_logs", {"minutes": 720}, id=log["id"], base=1,
                            hlc=old_stamp))["status"] == "conflict"
    (conflict,) = [c for c in api.ok(api.get("/conflicts"))["conflicts"]
                   if c["record"] == log["id"]]
    assert conflict["loser"]["value"] == 720 and conflict["winner"]["value"] == 60
    api.ok(api.post(f"/conflicts/{conflict['id']}/resolve", {"keep": "loser"}))
    a.cursor = None
    state = a.pull_all()[("service_logs", log["id"])]
    assert state["fields"]["minutes"] == 720
    verify = a.change("service_logs", {"status": "verified"}, id=log["id"],
                      base=state["version"])
    result = push(a, verify)
    assert status(result) == "forbidden", result
    assert api.ok(api.get("/accounts/volunteer:v1"))["balance"] == 0
    # B's 60 is no longer the value: B is neither recorder nor writer, so B may verify.
    verify = b.change("service_logs", {"status": "verified"}, id=log["id"],
                      base=state["version"])
    assert push(b, verify)["status"] == "applied"
    assert api.ok(api.get("/accounts/volunteer:v1"))["balance"] == 72  # 720 min × 6/h


def test_a_volunteer_cannot_touch_a_log_a_worker_recorded(api, devices):
    w1, w1b, v1 = devices["w1"], devices["w1b"], devices["v1"]
    log = w1.change("service_logs", LOG)
    push(w1, log)
    attempts = {
        "raise the minutes": v1.change("service_logs", {"minutes": 720}, id=log["id"],
                                       base=1),
        "delete it": v1.change("service_logs", {}, id=log["id"], base=1, deleted=True),
    }
    for name, change in attempts.items():
        assert status(push(v1, change)) == "forbidden", name
    push(w1, w1.change("service_logs", {}, id=log["id"], base=1, deleted=True))
    back = v1.change("service_logs", {"minutes": 30}, id=log["id"], base=2, deleted=False)
    assert status(push(v1, back)) == "forbidden"  # bring it back
    w1b.cursor = None
    state = w1b.pull_all()[("service_logs", log["id"])]
    assert state["deleted"] and state["version"] == 2


def test_a_volunteer_edits_their_own_log_only_while_recorded(api, devices):
    w1, v1 = devices["w1"], devices["v1"]
    own = v1.change("service_logs", LOG)
    assert push(v1, own)["status"] == "applied"
    assert push(v1, v1.change("service_logs", {"minutes": 45}, id=own["id"], base=1))[
        "status"] == "applied"
    assert push(w1, w1.change("service_logs", {"status": "verified"}, id=own["id"],
                              base=2))["status"] == "applied"
    late = v1.change("service_logs", {"minutes": 720}, id=own["id"], base=3)
    assert status(push(v1, late)) == "forbidden"
