"""Evict lists name only records the device may have held (issue 14 item 8): never a
record of a grid the device could not see (a household moved out of the community grid
above a worker's grid), nothing to a device pulling from scratch, and still every record
a device did hold when it leaves the device's grids."""

from __future__ import annotations

import pytest


@pytest.fixture
def devices(api, world):
    api.person("wc", "worker", ["c1"])  # holds the community grid, so every grid under it
    return {p: api.enroll(p) for p in ("wc", "w1", "w1b", "w2")}


def evicted(device, **kw):
    out = []
    device.cursor = None
    while True:
        page = device.sync(**kw)
        out += [(e["collection"], e["id"]) for e in page["evict"]]
        if not page["has_more"]:
            return out


def test_a_household_moved_out_of_the_community_grid_is_not_named_to_a_grid_worker(devices):
    wc, w1 = devices["wc"], devices["w1"]
    h = wc.change("households", {"grid": "c1", "address": "社区办公室"})
    assert wc.sync([h])["results"][0]["status"] == "applied"
    moved = wc.change("households", {"grid": "g2"}, id=h["id"], base=1)
    assert wc.sync([moved])["results"][0]["status"] == "applied"
    assert ("households", h["id"]) not in evicted(w1)
    w1.sync([w1.change("households", {"grid": "g1"})])  # a later pull: still not named
    assert all(e["id"] != h["id"] for e in w1.sync()["evict"])


def test_a_device_pulling_from_scratch_is_told_to_evict_nothing(devices):
    wc, w1b = devices["wc"], devices["w1b"]
    homes = [wc.change("households", {"grid": "g1", "address": f"{i} 号"}) for i in range(4)]
    assert {r["status"] for r in wc.sync(homes)["results"]} == {"applied"}
    wc.sync([wc.change("households", {"grid": "g2"}, id=homes[0]["id"], base=1)])
    assert evicted(w1b) == []
    assert evicted(w1b, limit=1) == []  # page after page too


def test_a_device_that_held_a_record_is_still_told_to_evict_it(devices):
    wc, w1 = devices["wc"], devices["w1"]
    h = wc.change("households", {"grid": "g1"})
    wc.sync([h])
    w1.cursor = None
    seen = w1.pull_all()
    assert ("households", h["id"]) in seen
    wc.sync([wc.change("households", {"grid": "g2"}, id=h["id"], base=1)])
    assert {"collection": "households", "id": h["id"]} in w1.sync()["evict"]
