"""The push's permission rules, called as pure functions: no database, no app.

``Lookups`` here is a few dicts, so every rule is checked directly against
(change, stored state, scope, lookups) — the cases a new collection's rules
add go here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from server.services.sync import policy
from server.services.sync.scope import Scope
from server.storage.records import Placement
from sync.collections import COLLECTIONS
from sync.errors import ChangeRejected

WORKER = Scope("w1", "worker", ("g1",), frozenset({"g1", "g1a"}), frozenset({"v1", "w1", "w2"}))
OTHER_WORKER = Scope("w2", "worker", ("g1",), frozenset({"g1", "g1a"}), frozenset({"v1", "w1"}))
VOLUNTEER = Scope("v1", "volunteer", (), frozenset(), frozenset({"v1"}))


@dataclass
class Lookups:
    records: dict = field(default_factory=dict)
    placements: dict = field(default_factory=dict)
    people: dict = field(default_factory=lambda: {"v1": {"role": "volunteer"},
                                                 "w1": {"role": "worker"}})
    devices: dict = field(default_factory=lambda: {"d_w1": "w1", "d_w2": "w2", "d_v1": "v1"})
    activities: tuple = ("cleanup",)
    kept_losers: dict = field(default_factory=dict)  # conflict id -> losing change's device

    def record(self, collection, id):
        return self.records.get((collection, id))

    def placement(self, collection, id):
        return self.placements.get((collection, id), Placement())

    def person(self, person_id):
        return self.people.get(person_id)

    def device_person(self, device_id):
        return self.devices.get(device_id)

    def activity_known(self, activity):
        return activity in self.activities

    def kept_loser_device(self, conflict_id):
        return self.kept_losers.get(conflict_id)


def change(collection, fields, *, id="r1", base=None):
    return {"collection": collection, "id": id, "fields": fields, "base": base, "op": "o1"}


def state(fields, devices=None, default="d_w2"):
    """A stored state whose fields were set by ``default``'s device unless ``devices`` says."""
    devices = devices or {}
    return {"fields": fields, "meta": {f: {"device": devices.get(f, default)} for f in fields},
            "version": 1}


def rejected(code, c, st, scope, lookups=None):
    with pytest.raises(ChangeRejected) as info:
        policy.authorize(c, st, scope, lookups or Lookups())
    assert info.value.code == code
    return info.value.message


def test_every_collection_has_a_rule_and_its_writers():
    assert set(policy.RULES) == set(COLLECTIONS) == set(policy.WRITERS)


# --- households ---------------------------------------------------------------
def test_households_only_workers_in_their_grids():
    policy.authorize(change("households", {"grid": "g1a"}), None, WORKER, Lookups())
    assert rejected("forbidden", change("households", {"grid": "g1"}), None,
                    VOLUNTEER) == "only workers write households"
    assert "outside your grids" in rejected(
        "forbidden", change("households", {"notes": "x"}), state({"grid": "g9"}), WORKER)
    assert "both grids" in rejected(
        "forbidden", change("households", {"grid": "g9"}), state({"grid": "g1"}), WORKER)


# --- visits -------------------------------------------------------------------
def test_a_new_visit_needs_a_household_in_the_workers_grids():
    lookups = Lookups(records={("households", "h1"): state({"grid": "g1"}),
                               ("households", "h9"): state({"grid": "g9"})})
    policy.authorize(change("visits", {"household": "h1"}), None, WORKER, lookups)
    assert rejected("unknown_record", change("visits", {"household": "h2"}), None,
                    WORKER, lookups) == "no such household"
    assert rejected("forbidden", change("visits", {"household": "h9"}), None, WORKER,
                    lookups) == "household is outside your grids"
    assert rejected("forbidden", change("visits", {"household": "h1"}), None,
                    VOLUNTEER, lookups) == "only workers write visits"


def test_a_stored_visit_is_its_grids_or_its_authors():
    lookups = Lookups(placements={("visits", "r1"): Placement(grid="g9", author="w1")})
    stored = state({"household": "h1"})
    policy.authorize(change("visits", {}), stored, WORKER, lookups)
    assert rejected("forbidden", change("visits", {}), stored, OTHER_WORKER,
                    lookups) == "visit is outside your grids"
    lookups.placements[("visits", "r1")] = Placement(grid="g1", author="w9")
    policy.authorize(change("visits", {}), stored, OTHER_WORKER, lookups)


# --- service logs -------------------------------------------------------------
LOG = {"volunteer": "v1", "activity": "cleanup", "started_at": "2026-11-26T09:00:00Z",
       "minutes": 60}


def test_a_new_log_is_about_a_volunteer_in_scope_doing_a_priced_activity():
    policy.authorize(change("service_logs", LOG), None, WORKER, Lookups())
    policy.authorize(change("service_logs", LOG), None, VOLUNTEER, Lookups())
    assert rejected("unknown_record", change("service_logs", LOG, base=3), None, WORKER)
    assert rejected("validation", change("service_logs", {**LOG, "volunteer": "w1"}), None,
                    WORKER) == "no such volunteer"
    assert rejected("validation", change("service_logs", {**LOG, "activity": "golf"}), None,
                    WORKER) == "activity is not in the earning rules"
    outsider = Scope("w3", "worker", ("g2",), frozenset({"g2"}), frozenset({"w3"}))
    assert rejected("forbidden", change("service_logs", LOG), None,
                    outsider) == "volunteer is not in your grids"
    other = Scope("v2", "volunteer", (), frozenset(), frozenset({"v2"}))
    assert rejected("forbidden", change("service_logs", LOG), None, other)


def recorded(devices=None, **fields):
    """A log recorded by w2 (whose device set every field unless ``devices`` says)."""
    return state({**LOG, "status": "recorded", "recorded_by": "w2", **fields}, devices)


def test_four_eyes_a_worker_who_neither_is_nor_recorded_nor_priced_the_log():
    verify = change("service_logs", {"status": "verified"})
    policy.authorize(verify, recorded(), WORKER, Lookups())
    policy.authorize(change("service_logs", {"status": "rejected"}), recorded(), WORKER,
                     Lookups())
    assert rejected("forbidden", verify, recorded(recorded_by="v1"), VOLUNTEER) == (
        "only a worker of the grid verifies a log")
    assert rejected("forbidden", verify, recorded(), VOLUNTEER) == (
        "a volunteer changes only logs they recorded")
    assert "four eyes" in rejected("forbidden", verify, recorded(), OTHER_WORKER)  # recorder
    edited = recorded({"minutes": "d_w1"})  # w1 set a field that prices the log
    assert "four eyes" in rejected("forbidden", verify, edited, WORKER)
    notes = recorded({"notes": "d_w1"}, notes="x")  # notes do not price the log
    policy.authorize(verify, notes, WORKER, Lookups())


def test_the_volunteer_never_verifies_their_own_log():
    own = Scope("v1", "worker", ("g1",), frozenset({"g1"}), frozenset({"v1"}))
    assert "four eyes" in rejected("forbidden", change("service_logs", {"status": "verified"}),
                                   recorded(), own)


def test_four_eyes_counts_the_writer_of_a_loser_kept_in_conflict_review():
    """An admin kept w1's losing minutes: the field is stamped by the server, but w1 wrote
    its value and may not verify it (issue 14 item 3); w1's own losing value, not kept,
    would not count."""
    verify = change("service_logs", {"status": "verified"})
    kept = recorded()
    kept["meta"]["minutes"] = {"device": "server:admin", "op": "resolve:7"}
    lookups = Lookups(kept_losers={7: "d_w1"})
    assert "four eyes" in rejected("forbidden", verify, kept, WORKER, lookups)
    policy.authorize(verify, kept, WORKER, Lookups(kept_losers={7: "d_w2"}))


def test_a_volunteer_touches_only_logs_they_recorded_while_recorded():
    """Issue 14 item 4: not the minutes a worker recorded for them, not a deleted one
    brought back, not a verified one."""
    mine = state({**LOG, "status": "recorded", "recorded_by": "v1"}, default="d_v1")
    policy.authorize(change("service_logs", {"minutes": 90}), mine, VOLUNTEER, Lookups())
    for fields in ({"minutes": 720}, {}):
        assert rejected("forbidden", change("service_logs", fields), recorded(),
                        VOLUNTEER) == "a volunteer changes only logs they recorded"
    done = state({**LOG, "status": "verified", "recorded_by": "v1"}, default="d_v1")
    assert rejected("forbidden", change("service_logs", {"minutes": 720}), done,
                    VOLUNTEER) == "a volunteer changes a log only while recorded"
