"""POST /api/v1/sync: result statuses, every rejection code, scope, cursors, restarts."""

from __future__ import annotations

import pytest

from server.clock import now_ms
from sync.hlc import format_hlc
from tests.conftest import BOTH_BACKENDS
from tests.helpers import raw_db

pytestmark = BOTH_BACKENDS

HH = "0193a1b2-0000-7000-8000-00000000000{}"


def snapshot(data_dir) -> dict:
    """Everything a rejected change must leave untouched."""
    conn = raw_db(data_dir)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                for t in ("records", "conflicts", "entries", "balances", "scope_exits")}
    finally:
        conn.close()


@pytest.fixture
def w1(world, api):
    return api.enroll("w1")


@pytest.fixture
def household(w1):
    hid = HH.format(1)
    out = w1.sync([w1.change("households", {"grid": "g1", "address": "1 号楼 101",
                                            "members": 2}, id=hid)])
    assert out["results"][0]["status"] == "applied"
    return hid


def push_one(device, change):
    return device.sync([change])["results"][0]


def test_applied_then_duplicate_returns_first_result(w1, household):
    change = w1.change("households", {"members": 3}, id=household, base=1)
    first = push_one(w1, change)
    again = push_one(w1, change)
    assert first == {"op": change["op"], "status": "applied", "version": 2}
    assert again == {"op": change["op"], "status": "duplicate", "version": 2}


def test_rejection_is_remembered_and_replayed_as_duplicate(w1, data_dir):
    bad = w1.change("households", {"grid": "g1", "members": 1.0})
    first = push_one(w1, bad)
    assert first["status"] == "rejected" and first["error"]["code"] == "validation"
    again = push_one(w1, bad)
    assert again["status"] == "duplicate" and again["error"]["code"] == "validation"


def test_one_bad_change_never_blocks_the_rest(w1, data_dir):
    good1 = w1.change("households", {"grid": "g1"})
    bad = w1.change("households", {"grid": "g2"})
    good2 = w1.change("households", {"grid": "g1a"})
    results = w1.sync([good1, bad, good2])["results"]
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert results[1]["error"]["code"] == "forbidden"


def _rejection_cases(api, w1, household):
    """(name, device, change, expected code) for every rejection code."""
    w2 = api.enroll("w2")
    v1 = api.enroll("v1")
    w1b = api.enroll("w1b")
    skew = format_hlc(now_ms() + 10 * 60_000, 0, w1.id)
    signed = w1.change("households", {"members": 5}, id=household, base=1)
    tampered = {**signed, "fields": {"members": 6}}
    visit = w1.change("visits", {"household": household, "visited_at": "2026-11-26T12:00:00Z",
                                 "outcome": "met"})
    assert push_one(w1, visit)["status"] == "applied"
    log = w1.change("service_logs", {"volunteer": "v1", "activity": "cleanup",
                                     "started_at": "2026-11-26T01:00:00Z", "minutes": 60})
    assert push_one(w1, log)["status"] == "applied"
    verify = w1b.change("service_logs", {"status": "verified"}, id=log["id"], base=1)
    assert push_one(w1b, verify)["status"] == "applied"
    log2 = w1.change("service_logs", {"volunteer": "v1", "activity": "cleanup",
                                      "started_at": "2026-11-26T02:00:00Z", "minutes": 30})
    assert push_one(w1, log2)["status"] == "applied"
    edit2 = w1.change("service_logs", {"minutes": 45}, id=log2["id"], base=1)
    assert push_one(w1, edit2)["status"] == "applied"
    used = w1.change("households", {"grid": "g1"})
    assert push_one(w1, used)["status"] == "applied"
    return [
        ("float", w1, w1.change("households", {"grid": "g1", "members": 2.0}), "validation"),
        ("unknown field", w1, w1.change("households", {"grid": "g1", "colour": "red"}),
         "validation"),
        ("server-set field", w1, w1.change("service_logs", {
            "volunteer": "v1", "activity": "cleanup", "started_at": "2026-11-26T01:00:00Z",
            "minutes": 60, "points": 99}), "validation"),
        ("missing required", w1, w1.change("households", {"address": "x"}), "validation"),
        ("unknown activity", w1, w1.change("service_logs", {
            "volunteer": "v1", "activity": "karaoke", "started_at": "2026-11-26T01:00:00Z",
            "minutes": 60}), "validation"),
        ("hlc of another device", w1, w1.change(
            "households", {"grid": "g1"}, hlc=format_hlc(now_ms(), 0, w2.id)), "validation"),
        ("base above version", w1, w1.change("households", {"members": 1}, id=household,
                                             base=9), "validation"),
        ("tampered", w1, tampered, "bad_signature"),
        ("missing sig", w1, {k: v for k, v in w1.change("households", {"grid": "g1"}).items()
                             if k != "sig"}, "bad_signature"),
        ("other grid household", w2, w2.change("households", {"members": 1}, id=household,
                                               base=1), "forbidden"),
        ("move out of scope", w1, w1.change("households", {"grid": "g2"}, id=household,
                                            base=1), "forbidden"),
        ("volunteer writes household", v1, v1.change("households", {"grid": "g1"}),
         "forbidden"),
        ("volunteer logs for another", v1, v1.change("service_logs", {
            "volunteer": "v2", "activity": "cleanup", "started_at": "2026-11-26T01:00:00Z",
            "minutes": 60}), "forbidden"),
        ("created verified", w1, w1.change("service_logs", {
            "volunteer": "v1", "activity": "cleanup", "started_at": "2026-11-26T01:00:00Z",
            "minutes": 60, "status": "verified"}), "forbidden"),
        ("recorder verifies", w1, w1.change("service_logs", {"status": "verified"},
                                            id=log2["id"], base=2), "forbidden"),
        ("volunteer verifies", v1, v1.change("service_logs", {"status": "verified"},
                                             id=log2["id"], base=2), "forbidden"),
        ("base on unknown record", w1, w1.change("households", {"members": 1}, base=1),
         "unknown_record"),
        ("visit to unknown household", w1, w1.change("visits", {
            "household": HH.format(9), "visited_at": "2026-11-26T12:00:00Z",
            "outcome": "met"}), "unknown_record"),
        ("visit edited", w1, w1.change("visits", {"notes": "again"}, id=visit["id"], base=1),
         "immutable"),
        ("volunteer of log changed", w1, w1.change("service_logs", {"volunteer": "v2"},
                                                   id=log2["id"], base=2), "immutable"),
        ("verified log edited", w1, w1.change("service_logs", {"minutes": 10}, id=log["id"],
                                              base=2), "locked"),
        ("stale status change", w1b, w1b.change("service_logs", {"status": "verified"},
                                                id=log2["id"], base=1), "stale"),
        ("clock skew", w1, w1.change("households", {"grid": "g1"}, hlc=skew), "clock_skew"),
        ("op reused with other content", w1, w1.change("households", {"grid": "g1a"},
                                                       op=used["op"]), "id_reused"),
        ("op reused by another device", w1b, w1b.change("households", {"grid": "g1"},
                                                        op=used["op"]), "id_reused"),
    ]


def test_every_rejection_code_changes_nothing(api, w1, household, data_dir):
    cases = _rejection_cases(api, w1, household)
    codes = set()
    for name, device, change, code in cases:
        before = snapshot(data_dir)
        result = push_one(device, change)
        assert result["status"] == "rejected", (name, result)
        assert result["error"]["code"] == code, (name, result)
        assert snapshot(data_dir) == before, name
        codes.add(code)
    assert codes == {"validation", "bad_signature", "forbidden", "unknown_record", "immutable",
                     "locked", "stale", "clock_skew", "id_reused"}


def test_concurrent_edit_later_hlc_wins_in_either_order(world, api):
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    for n, order in enumerate(((0, 1), (1, 0))):
        hid = HH.format(n + 2)
        assert push_one(w1, w1.change("households", {"grid": "g1", "phone": "0"},
                                      id=hid))["status"] == "applied"
        w1b.pull_all()
        t = now_ms()
        early = w1.change("households", {"phone": "111"}, id=hid, base=1,
                          hlc=format_hlc(t, 0, w1.id))
        late = w1b.change("households", {"phone": "222"}, id=hid, base=1,
                          hlc=format_hlc(t + 5, 0, w1b.id))
        pushes = [(w1, early), (w1b, late)]
        statuses = [push_one(d, c)["status"] for d, c in (pushes[i] for i in order)]
        assert statuses == ["applied", "conflict"]
        record = w1.pull_all(fresh=True)[("households", hid)]
        assert record["fields"]["phone"] == "222"
        assert record["version"] == 3
        open_conflicts = [c for c in api.ok(api.get("/conflicts"))["conflicts"]
                          if c["record"] == hid]
        assert len(open_conflicts) == 1
        c = open_conflicts[0]
        assert (c["field"], c["winner"]["value"], c["loser"]["value"]) == ("phone", "222", "111")
        assert c["winner"]["device"] == w1b.id and c["loser"]["device"] == w1.id
        assert c["loser"]["op"] == early["op"]


def test_resolve_conflict_keeping_loser_writes_new_version(world, api):
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    hid = HH.format(5)
    push_one(w1, w1.change("households", {"grid": "g1", "notes": "a"}, id=hid))
    push_one(w1, w1.change("households", {"notes": "mine"}, id=hid, base=1))
    push_one(w1b, w1b.change("households", {"notes": "theirs"}, id=hid, base=1))
    (conflict,) = api.ok(api.get("/conflicts"))["conflicts"]
    loser = conflict["loser"]["value"]
    out = api.ok(api.post(f"/conflicts/{conflict['id']}/resolve", {"keep": "loser"}))
    assert out["status"] == "resolved" and out["kept"] == "loser"
    assert api.ok(api.get("/conflicts"))["conflicts"] == []
    record = w1.pull_all(fresh=True)[("households", hid)]
    assert record["fields"]["notes"] == loser and record["version"] == 4
    assert record["hlc"].endswith(":server")
    again = api.post(f"/conflicts/{conflict['id']}/resolve", {"keep": "winner"})
    assert again.status_code == 400


def test_racing_status_changes_first_arrival_wins(world, api):
    w1, w1b, w2 = api.enroll("w1"), api.enroll("w1b"), api.enroll("w1b", "tablet")
    log = w1.change("service_logs", {"volunteer": "v1", "activity": "elderly_care",
                                     "started_at": "2026-11-26T01:00:00Z", "minutes": 90})
    push_one(w1, log)
    later_stamp = w2.change("service_logs", {"status": "rejected"}, id=log["id"], base=1)
    first = w1b.change("service_logs", {"status": "verified"}, id=log["id"], base=1)
    assert push_one(w1b, first)["status"] == "applied"
    second = push_one(w2, later_stamp)
    assert second["status"] == "rejected" and second["error"]["code"] == "locked"
    state = w1.pull_all(fresh=True)[("service_logs", log["id"])]
    assert state["fields"]["status"] == "verified"
    assert state["fields"]["points"] == 15
    assert state["fields"]["verified_by"] == "w1b" and state["fields"]["recorded_by"] == "w1"


def test_pull_pages_by_limit_and_scope(world, api):
    w1, w2 = api.enroll("w1"), api.enroll("w2")
    w1.sync([w1.change("households", {"grid": "g1", "address": f"{i}"}) for i in range(7)])
    w2.sync([w2.change("households", {"grid": "g2"})])
    fresh = api.enroll("w1b")
    pages = []
    while True:
        out = fresh.sync(limit=3)
        pages.append(len(out["changes"]))
        if not out["has_more"]:
            break
    assert sum(pages) >= 7 and max(pages) == 3
    seen = fresh.pull_all(fresh=True)
    hh = [k for k in seen if k[0] == "households"]
    assert len(hh) == 7
    people = {k[1] for k in seen if k[0] == "people"}
    assert {"w1", "w1b", "v1"} <= people and "v2" not in people and "w2" not in people


def test_pull_bounded_by_bytes(world, api, make_app, data_dir):
    w1 = api.enroll("w1")
    w1.sync([w1.change("households", {"grid": "g1", "notes": "x" * 3000}) for _ in range(10)])
    small = make_app(data_dir, PULL_MAX_BYTES=8000)
    from tests.helpers import ApiClient
    other = ApiClient(small.test_client(), api.token).enroll("w1b")
    out = other.sync()
    households = [c for c in out["changes"] if c["collection"] == "households"]
    assert out["has_more"] and 1 <= len(households) <= 3


def test_scope_grows_and_shrinks(world, api):
    w1, w2 = api.enroll("w1"), api.enroll("w2")
    in_g2 = w2.change("households", {"grid": "g2", "address": "二网格 9 号"})
    w2.sync([in_g2])
    w1.pull_all()
    api.ok(api.patch("/people/w1", {"grids": ["g1", "g2"]}))
    seen = w1.pull_all()
    assert ("households", in_g2["id"]) in seen
    api.ok(api.patch("/people/w1", {"grids": ["g1"]}))
    out = w1.sync()
    assert {"collection": "households", "id": in_g2["id"]} in out["evict"]


def test_household_move_takes_its_visits_along(world, api):
    w1, w1b, w2 = api.enroll("w1"), api.enroll("w1b"), api.enroll("w2")
    api.ok(api.patch("/people/w1", {"grids": ["g1", "g2"]}))
    hid = HH.format(7)
    push_one(w1, w1.change("households", {"grid": "g1"}, id=hid))
    visit = w1b.change("visits", {"household": hid, "visited_at": "2026-11-26T12:00:00Z",
                                  "outcome": "met"})
    assert push_one(w1b, visit)["status"] == "applied"
    w2.pull_all()
    assert push_one(w1, w1.change("households", {"grid": "g2"}, id=hid, base=1))["status"] \
        == "applied"
    out = w1b.sync()
    assert {"collection": "households", "id": hid} in out["evict"]
    assert {"collection": "visits", "id": visit["id"]} not in out["evict"]  # its author keeps it
    seen = w2.pull_all()
    assert ("households", hid) in seen and ("visits", visit["id"]) in seen


def test_cursor_errors(world, api, data_dir):
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    w1.sync()
    assert api.post("/sync", {"cursor": "garbage!", "changes": []},
                    token=w1.token).status_code == 400
    resp = api.post("/sync", {"cursor": w1.cursor, "changes": []}, token=w1b.token)
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "validation"
    # A purge past the device's cursor makes it expire: 410, then a fresh start works.
    push_one(w1, w1.change("households", {"grid": "g1"}))
    w1.sync()
    conn = raw_db(data_dir)
    conn.execute("INSERT INTO settings (key, value) VALUES ('purged_seq', '1000000')")
    conn.close()
    resp = api.post("/sync", {"cursor": w1.cursor, "changes": []}, token=w1.token)
    assert resp.status_code == 410 and resp.get_json()["error"]["code"] == "cursor_expired"
    assert w1.sync(cursor=None)["changes"]


def test_tombstone_and_revival(world, api):
    w1 = api.enroll("w1")
    hid = HH.format(8)
    push_one(w1, w1.change("households", {"grid": "g1", "address": "a"}, id=hid))
    push_one(w1, w1.change("households", {}, id=hid, base=1, deleted=True))
    rec = w1.pull_all(fresh=True)[("households", hid)]
    assert rec["deleted"] is True and rec["fields"] == {}
    push_one(w1, w1.change("households", {"address": "b"}, id=hid, base=2))
    rec = w1.pull_all(fresh=True)[("households", hid)]
    assert rec["deleted"] is False and rec["fields"]["address"] == "b"


def test_who_may_sync(world, api):
    shop = api.enroll("shop1")
    assert api.post("/sync", {"cursor": None, "changes": []},
                    token=shop.token).status_code == 403
    assert api.post("/sync", {"cursor": None, "changes": []}).status_code == 403
    w1 = api.enroll("w1")
    api.ok(api.post(f"/devices/{w1.id}/revoke"))
    resp = api.post("/sync", {"cursor": None, "changes": []}, token=w1.token)
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "device_revoked"


@pytest.mark.parametrize("body", [
    [], "x", {"changes": [{"no": "op"}]}, {"changes": "x"}, {"limit": 0}, {"limit": 5001},
    {"limit": 10.0}, {"cursor": None, "changes": [], "extra": 1},
])
def test_malformed_requests_are_400(world, api, body):
    w1 = api.enroll("w1")
    resp = api.post("/sync", body, token=w1.token)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.get_json()["error"]["code"] == "validation"


def test_idempotent_across_restart(world, api, make_app, data_dir):
    w1 = api.enroll("w1")
    change = w1.change("households", {"grid": "g1"})
    first = push_one(w1, change)
    from tests.helpers import ApiClient
    restarted = ApiClient(make_app(data_dir).test_client(), api.token)
    w1.api = restarted
    assert push_one(w1, change) == {**first, "status": "duplicate"}


def test_ops_evidence(world, api):
    w1 = api.enroll("w1")
    change = w1.change("households", {"grid": "g1"})
    push_one(w1, change)
    out = api.ok(api.get(f"/ops/{change['op']}"))
    assert out["change"] == change and out["result"] == {"status": "applied", "version": 1}
    assert out["public_key"] == w1.key.public_key and out["person"] == "w1"
    from sync.signing import verify_change
    verify_change(out["change"], out["public_key"])
    assert api.get("/ops/nope").status_code == 404
    assert api.get(f"/ops/{change['op']}", token=w1.token).status_code == 403


def test_devices_list_counts(world, api):
    w1 = api.enroll("w1")
    w1.sync([w1.change("households", {"grid": "g1"}), w1.change("households", {"grid": "g2"})])
    (dev,) = [d for d in api.ok(api.get("/devices"))["devices"] if d["id"] == w1.id]
    assert (dev["applied"], dev["rejected"], dev["revoked"]) == (1, 1, False)
    assert dev["last_sync_at"]


def test_volunteer_moving_grids_moves_their_logs(world, api):
    w1, w2 = api.enroll("w1"), api.enroll("w2")
    log = w1.change("service_logs", {"volunteer": "v1", "activity": "cleanup",
                                     "started_at": "2026-11-26T01:00:00Z", "minutes": 60})
    push_one(w1, log)
    w2.pull_all()
    api.ok(api.patch("/people/v1", {"grids": ["g2"]}))
    seen = w2.pull_all()
    assert ("service_logs", log["id"]) in seen and ("people", "v1") in seen
    out = w1.sync()
    assert {"collection": "service_logs", "id": log["id"]} in out["evict"]
    assert {"collection": "people", "id": "v1"} in out["evict"]


def test_forged_cursor_is_refused(world, api):
    from sync.cursor import Cursor, encode_cursor
    w1 = api.enroll("w1")
    w1.sync()
    forged = encode_cursor(Cursor(w1.id, 0, ("g2",)))  # claims another scope, no MAC
    resp = api.post("/sync", {"cursor": forged, "changes": []}, token=w1.token)
    assert resp.status_code == 400
    body, _, mac = w1.cursor.rpartition(".")
    resp = api.post("/sync", {"cursor": forged + "." + mac, "changes": []}, token=w1.token)
    assert resp.status_code == 400


def test_cursor_from_another_history_expires(world, api, data_dir):
    w1 = api.enroll("w1")
    w1.sync([w1.change("households", {"grid": "g1"})])
    conn = raw_db(data_dir)
    conn.execute("UPDATE settings SET value = 'restored' WHERE key = 'epoch'")
    conn.close()
    resp = api.post("/sync", {"cursor": w1.cursor, "changes": []}, token=w1.token)
    assert resp.status_code == 410


def test_cursor_past_the_last_seq_expires_and_its_push_changes_nothing(world, api, data_dir):
    """A cursor of this history pointing past the newest record (a database rolled back
    without a new epoch) is 410 before anything is pushed."""
    w1 = api.enroll("w1")
    w1.sync([w1.change("households", {"grid": "g1"})])
    conn = raw_db(data_dir)
    conn.execute("DELETE FROM records")
    conn.close()
    change = w1.change("households", {"grid": "g1"})
    resp = api.post("/sync", {"cursor": w1.cursor, "changes": [change]}, token=w1.token)
    assert resp.status_code == 410, resp.get_json()
    assert "ahead of this server" in resp.get_json()["error"]["message"]
    conn = raw_db(data_dir)
    assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 0
    conn.close()


def test_a_sync_checks_and_hands_out_cursors_of_the_epoch_it_reads(world, api, data_dir):
    """A sync reads the cursor keys once, for the cursor it checks and the one it hands
    out: after a restore both are the new history's, in every later request."""
    w1 = api.enroll("w1")
    household = w1.change("households", {"grid": "g1"})
    w1.sync([household])
    conn = raw_db(data_dir)
    conn.execute("UPDATE settings SET value = 'restored' WHERE key = 'epoch'")
    conn.close()
    stale = api.post("/sync", {"cursor": w1.cursor, "changes": []}, token=w1.token)
    assert stale.status_code == 410
    fresh = w1.sync(cursor=None)  # from null: a cursor of the restored history
    assert household["id"] in {c["id"] for c in fresh["changes"]}
    again = api.post("/sync", {"cursor": fresh["cursor"], "changes": []}, token=w1.token)
    assert again.status_code == 200, again.get_json()


def test_people_leaving_any_grid_of_the_scope_are_evicted(world, api):
    api.person("v3", "volunteer", ["c1"])
    w1 = api.enroll("w1")
    seen = w1.pull_all()
    assert ("people", "v3") in seen and ("people", "w1b") in seen
    api.ok(api.patch("/people/v3", {"grids": ["g2"]}))
    api.ok(api.patch("/people/w1b", {"grids": ["g2"]}))
    out = w1.sync()
    assert {"collection": "people", "id": "v3"} in out["evict"]
    assert {"collection": "people", "id": "w1b"} in out["evict"]


def test_four_eyes_covers_anyone_who_edited_the_points(world, api):
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    log = w1.change("service_logs", {"volunteer": "v1", "activity": "cleanup",
                                     "started_at": "2026-11-26T01:00:00Z", "minutes": 30})
    push_one(w1, log)
    assert push_one(w1b, w1b.change("service_logs", {"minutes": 720}, id=log["id"],
                                    base=1))["status"] == "applied"
    verify = push_one(w1b, w1b.change("service_logs", {"status": "verified"}, id=log["id"],
                                      base=2))
    assert verify["status"] == "rejected" and verify["error"]["code"] == "forbidden"


def test_verifying_a_log_whose_activity_left_the_rules_is_rejected_not_500(world, api):
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    log = w1.change("service_logs", {"volunteer": "v1", "activity": "cleanup",
                                     "started_at": "2026-11-26T01:00:00Z", "minutes": 30})
    push_one(w1, log)
    api.ok(api.put("/rules", {"activities": {"elderly_care": {"points_per_hour": 10}},
                              "daily_cap": None, "timezone": "Asia/Shanghai"}))
    other = w1b.change("households", {"grid": "g1"})
    verify = w1b.change("service_logs", {"status": "verified"}, id=log["id"], base=1)
    results = w1b.sync([verify, other])["results"]
    assert results[0]["status"] == "rejected" and results[0]["error"]["code"] == "validation"
    assert results[1]["status"] == "applied"
    reject = w1b.change("service_logs", {"status": "rejected"}, id=log["id"], base=1)
    out = push_one(w1b, reject)
    assert out["status"] == "applied", out


def test_log_with_base_unknown_and_visits_of_other_grids(world, api):
    w1, w2 = api.enroll("w1"), api.enroll("w2")
    hid = HH.format(4)
    push_one(w2, w2.change("households", {"grid": "g2"}, id=hid))
    visit = w2.change("visits", {"household": hid, "visited_at": "2026-11-26T12:00:00Z",
                                 "outcome": "met"})
    push_one(w2, visit)
    r = push_one(w1, w1.change("visits", {"notes": "x"}, id=visit["id"], base=1))
    assert r["error"]["code"] == "forbidden"
    r = push_one(w1, w1.change("service_logs", {"minutes": 5}, base=1))
    assert r["error"]["code"] == "unknown_record"
    # A losing move into a grid the sender does not hold is still refused.
    r = push_one(w1, w1.change("households", {"grid": "g1"}, id=hid, base=1))
    assert r["error"]["code"] == "forbidden"


def test_keep_loser_refused_when_the_field_changed_since(world, api):
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    hid = HH.format(6)
    push_one(w1, w1.change("households", {"grid": "g1", "address": "0"}, id=hid))
    push_one(w1, w1.change("households", {"address": "A"}, id=hid, base=1))
    push_one(w1b, w1b.change("households", {"address": "B"}, id=hid, base=1))
    (conflict,) = api.ok(api.get("/conflicts"))["conflicts"]
    push_one(w1, w1.change("households", {"address": "C"}, id=hid, base=3))
    assert api.post(f"/conflicts/{conflict['id']}/resolve", {"keep": "loser"}).status_code == 400
    assert w1.pull_all(fresh=True)[("households", hid)]["fields"]["address"] == "C"
    api.ok(api.post(f"/conflicts/{conflict['id']}/resolve", {"keep": "winner"}))


def test_keep_loser_grid_moves_the_household_with_evictions(world, api):
    w1, w1b, w2 = api.enroll("w1"), api.enroll("w1b"), api.enroll("w2")
    api.ok(api.patch("/people/w1", {"grids": ["g1", "g2"]}))
    hid = HH.format(9)
    push_one(w1b, w1b.change("households", {"grid": "g1"}, id=hid))
    t = now_ms()
    push_one(w1b, w1b.change("households", {"grid": "g1a"}, id=hid, base=1,
                             hlc=format_hlc(t + 50, 0, w1b.id)))
    push_one(w1, w1.change("households", {"grid": "g2"}, id=hid, base=1,
                           hlc=format_hlc(t, 0, w1.id)))
    (conflict,) = [c for c in api.ok(api.get("/conflicts"))["conflicts"] if c["record"] == hid]
    assert conflict["loser"]["value"] == "g2"
    w1b.pull_all()
    w2.pull_all()
    api.ok(api.post(f"/conflicts/{conflict['id']}/resolve", {"keep": "loser"}))
    assert {"collection": "households", "id": hid} in w1b.sync()["evict"]
    assert ("households", hid) in w2.pull_all()


def test_null_body_and_huge_ids_are_clear_errors(world, api):
    w1 = api.enroll("w1")
    resp = api.client.post("/api/v1/sync", data="null", headers={
        **api.headers(w1.token), "Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "validation"
    resp = api.post(f"/conflicts/{2**70}/resolve", {"keep": "winner"})
    assert resp.status_code == 404


def test_pulled_views_built_by_sqlite_equal_record_view(world, api, app):
    """The storage layer builds record views in SQL; they must equal the library's."""
    import json as _json

    from server.state import storage
    from sync.merge import record_view
    w1, w1b = api.enroll("w1"), api.enroll("w1b")
    hid = HH.format(3)
    push_one(w1, w1.change("households", {"grid": "g1", "tags": ["独居", "低保"], "members": 0,
                                          "notes": 'say "hi"\n'}, id=hid))
    push_one(w1b, w1b.change("households", {"phone": None, "members": 2}, id=hid, base=1))
    gone = w1.change("households", {"grid": "g1"})
    push_one(w1, gone)
    push_one(w1, w1.change("households", {}, id=gone["id"], base=1, deleted=True))
    with app.app_context():
        store = storage()
        rows = store.records.pull(after=0, grids=["g1"], people=["v1"], author="w1", limit=100)
        assert rows
        for _, view in rows:
            pulled = _json.loads(view)
            stored = store.records.get(pulled["collection"], pulled["id"])
            assert pulled == record_view(stored.state)


@pytest.mark.parametrize("text", ["1\x00号", "C:\\u0000", "\\\x00\\"],
                         ids=["nul", "backslash-u0000 text", "backslashes and a nul"])
def test_a_nul_or_what_looks_like_its_escape_is_stored_and_pulled(world, api, text):
    """JSON allows U+0000 in a string and a device may send it (or the text \\u0000);
    PostgreSQL's text and JSON functions refuse a NUL, so storage must keep it (as
    SQLite does) in every collection, its indexes and its pulls, never answer 500."""
    from tests.cases.cases_support import CASE_RULES

    api.ok(api.put("/rules", CASE_RULES))
    w1, reader = api.enroll("w1"), api.enroll("w1b")
    house = w1.change("households", {"grid": "g1", "address": text, "head_name": text,
                                     "phone": text, "notes": text})
    visit = w1.change("visits", {"household": house["id"], "visited_at": "2026-11-26T12:00:00Z",
                                 "outcome": "met", "notes": text})
    log = w1.change("service_logs", {"volunteer": "v1", "activity": "cleanup",
                                     "started_at": "2026-11-26T08:00:00Z", "minutes": 30,
                                     "notes": text})
    case = w1.change("cases", {"grid": "g1", "kind": "wish", "category": "road",
                               "title": text, "detail": text})
    changes = [house, visit, log, case]
    results = w1.sync(changes)["results"]
    assert [r["status"] for r in results] == ["applied"] * 4, results
    seen = reader.pull_all(fresh=True)
    for change in changes:
        fields = seen[(change["collection"], change["id"])]["fields"]
        assert text in fields.values(), (change["collection"], fields)
    edit = w1.change("households", {"address": text + text}, id=house["id"], base=1)
    assert w1.sync([edit])["results"][0]["status"] == "applied"
    assert api.ok(api.get(f"/cases/{case['id']}"))["fields"]["title"] == text
