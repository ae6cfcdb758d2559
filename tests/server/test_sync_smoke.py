def test_two_workers_household_roundtrip(world, api):
    d1 = api.enroll("w1")
    d2 = api.enroll("w1b")
    hid = "0193a1b2-0000-7000-8000-000000000001"
    out = d1.sync([d1.change("households", {"grid": "g1", "address": "1 号楼", "members": 2}, id=hid)])
    assert out["results"][0]["status"] == "applied", out
    assert any(c["id"] == hid for c in out["changes"])
    seen = d2.pull_all()
    assert ("households", hid) in seen
    vis = d1.change("visits", {"household": hid, "visited_at": "2026-11-26T12:00:00Z", "outcome": "met"})
    out = d1.sync([vis, vis])
    assert [r["status"] for r in out["results"]] == ["applied", "duplicate"], out
    a = d1.change("households", {"members": 3}, id=hid, base=1)
    b = d2.change("households", {"members": 4}, id=hid, base=1)
    r1 = d1.sync([a])["results"][0]
    r2 = d2.sync([b])["results"][0]
    assert r1["status"] == "applied"
    assert r2["status"] == "conflict", r2
    conflicts = api.ok(api.get("/conflicts"))
