"""Every merge rule of docs/protocol.md's Sync section, one at a time."""

from __future__ import annotations

import copy

import pytest

from sync.errors import ChangeRejected
from sync.merge import merge, record_view, status_change
from tests.sync.sync_support import change, stamp

LOG_FIELDS = {"volunteer": "p_1", "activity": "care", "started_at": "2026-11-26T09:00:00Z",
              "minutes": 60}


def apply(state, device="dev_a", **kwargs):
    return merge(state, change(**kwargs), device_id=device)


def rejection(state, device="dev_a", **kwargs) -> str:
    before = copy.deepcopy(state)
    with pytest.raises(ChangeRejected) as info:
        apply(state, device, **kwargs)
    assert state == before  # a rejection changes nothing
    return info.value.code


@pytest.fixture
def household():
    """A household at version 1: grid g1, notes "a", set at wall 1000 by dev_a."""
    return apply(None, fields={"grid": "g1", "notes": "a"}, hlc=stamp(1_000), op="op-1").state


@pytest.fixture
def log():
    return apply(None, collection="service_logs", fields=LOG_FIELDS, hlc=stamp(1_000)).state


# -- create ---------------------------------------------------------------------------


def test_create(household):
    assert household["version"] == 1
    assert household["deleted"] is False
    assert household["fields"] == {"grid": "g1", "notes": "a"}
    assert set(household["meta"]) == {"grid", "notes", "deleted"}
    assert household["meta"]["notes"] == {"hlc": stamp(1_000), "version": 1, "op": "op-1",
                                          "device": "dev_a"}
    result = apply(None, fields={"grid": "g1"})
    assert result.created and result.conflicts == []


def test_create_needs_the_required_fields():
    assert rejection(None, fields={"notes": "x"}) == "validation"
    assert rejection(None, collection="visits", fields={"household": "h1"}) == "validation"
    fields = dict(LOG_FIELDS)
    del fields["minutes"]
    with pytest.raises(ChangeRejected) as info:
        apply(None, collection="service_logs", fields=fields)
    assert info.value.fields == {"fields": {"minutes": ["Missing data for required field."]}}


def test_a_delete_creates_a_tombstone_without_required_fields():
    result = apply(None, fields={}, deleted=True, hlc=stamp(1_000))
    assert result.created and result.state["deleted"] and result.state["version"] == 1
    assert record_view(result.state)["fields"] == {}
    # Bringing it back still needs the required fields...
    assert rejection(result.state, fields={"notes": "x"}, hlc=stamp(2_000)) == "validation"
    # ...unless they come with it.
    back = apply(result.state, fields={"grid": "g1"}, hlc=stamp(2_000)).state
    assert back["deleted"] is False and back["version"] == 2


def test_base_on_an_unknown_record():
    assert rejection(None, fields={"grid": "g1"}, base=0) == "unknown_record"
    assert rejection(None, fields={"grid": "g1"}, base=3) == "unknown_record"


# -- update ---------------------------------------------------------------------------


def test_base_above_version(household):
    assert rejection(household, fields={"notes": "b"}, base=2) == "validation"


def test_newer_edit_that_saw_the_value_overwrites_without_conflict(household):
    result = apply(household, "dev_b", fields={"notes": "b"}, base=1, hlc=stamp(2_000, 0, "dev_b"))
    assert result.state["fields"] == {"grid": "g1", "notes": "b"}
    assert result.state["version"] == 2
    assert result.state["meta"]["notes"]["version"] == 2
    assert result.state["meta"]["notes"]["device"] == "dev_b"
    assert result.state["meta"]["grid"]["version"] == 1
    assert result.conflicts == [] and not result.created


def test_older_stamp_loses_and_is_kept_as_a_conflict(household):
    # dev_b saw version 1 but its clock is behind: its value loses, yet is kept.
    result = apply(household, "dev_b", fields={"notes": "b"}, base=1, hlc=stamp(500, 0, "dev_b"),
                   op="op-2")
    assert result.state["fields"]["notes"] == "a"
    assert result.state["version"] == 2  # accepted, even though every field lost
    assert result.conflicts == [{
        "field": "notes",
        "winner": {"value": "a", "hlc": stamp(1_000), "device": "dev_a", "op": "op-1"},
        "loser": {"value": "b", "hlc": stamp(500, 0, "dev_b"), "device": "dev_b", "op": "op-2"},
    }]


def test_concurrent_edit_that_wins_keeps_the_old_value_as_loser(household):
    edited = apply(household, fields={"notes": "b"}, base=1, hlc=stamp(2_000)).state
    # dev_b edits from version 1 with a newer stamp: notes changed after its base.
    result = apply(edited, "dev_b", fields={"notes": "c"}, base=1, hlc=stamp(3_000, 0, "dev_b"))
    assert result.state["fields"]["notes"] == "c"
    [conflict] = result.conflicts
    assert conflict["winner"]["value"] == "c" and conflict["loser"]["value"] == "b"


def test_concurrent_edit_that_loses(household):
    edited = apply(household, fields={"notes": "b"}, base=1, hlc=stamp(3_000)).state
    result = apply(edited, "dev_b", fields={"notes": "c"}, base=1, hlc=stamp(2_000, 0, "dev_b"))
    assert result.state["fields"]["notes"] == "b"
    [conflict] = result.conflicts
    assert conflict["winner"]["value"] == "b" and conflict["loser"]["value"] == "c"


def test_concurrent_edit_to_the_same_value_is_no_conflict(household):
    edited = apply(household, fields={"notes": "b"}, base=1, hlc=stamp(2_000)).state
    result = apply(edited, "dev_b", fields={"notes": "b"}, base=1, hlc=stamp(3_000, 0, "dev_b"))
    assert result.conflicts == []
    assert result.state["meta"]["notes"]["device"] == "dev_b"  # the stamp still advances


def test_untouched_fields_are_not_concurrent(household):
    edited = apply(household, fields={"notes": "b"}, base=1, hlc=stamp(2_000)).state
    result = apply(edited, "dev_b", fields={"address": "x"}, base=1, hlc=stamp(3_000, 0, "dev_b"))
    assert result.conflicts == []
    assert result.state["fields"] == {"grid": "g1", "notes": "b", "address": "x"}


def test_null_base_on_an_existing_record_makes_every_field_concurrent(household):
    result = apply(household, "dev_b", fields={"notes": "b", "grid": "g1"}, base=None,
                   hlc=stamp(2_000, 0, "dev_b"))
    assert result.state["fields"]["notes"] == "b"
    assert [c["field"] for c in result.conflicts] == ["notes"]  # grid: same value
    assert result.conflicts[0]["loser"]["value"] == "a"


def test_null_clears_a_field(household):
    result = apply(household, fields={"notes": None}, base=1, hlc=stamp(2_000))
    assert result.state["fields"]["notes"] is None
    assert result.conflicts == []


def test_equal_stamps_are_broken_by_op_id(household):
    same = stamp(2_000, 0, "dev_b")
    a = apply(household, "dev_b", fields={"notes": "x"}, hlc=same, op="op-a").state
    ab = apply(a, "dev_b", fields={"notes": "y"}, hlc=same, op="op-b").state
    b = apply(household, "dev_b", fields={"notes": "y"}, hlc=same, op="op-b").state
    ba = apply(b, "dev_b", fields={"notes": "x"}, hlc=same, op="op-a").state
    assert ab["fields"]["notes"] == ba["fields"]["notes"] == "y"


def test_input_state_is_not_mutated(household):
    before = copy.deepcopy(household)
    result = apply(household, fields={"notes": "b", "tags": ["t"]}, deleted=True, hlc=stamp(9_000))
    assert household == before
    assert result.state is not household
    assert result.state["meta"]["notes"] is not result.state["meta"]["tags"]


def test_change_for_another_record_is_a_programming_error(household):
    with pytest.raises(ValueError):
        apply(household, record="00000000-0000-7000-8000-000000000002", fields={"notes": "b"})
    with pytest.raises(ValueError):
        apply(household, collection="visits", fields={})


# -- deleted ----------------------------------------------------------------------------


def test_delete_and_bring_back(household):
    gone = apply(household, fields={}, deleted=True, base=1, hlc=stamp(2_000)).state
    assert gone["deleted"] and gone["version"] == 2
    view = record_view(gone)
    assert view["fields"] == {} and view["deleted"] is True and view["hlc"] == stamp(2_000)
    back = apply(gone, "dev_b", fields={"notes": "c"}, base=2, hlc=stamp(3_000, 0, "dev_b"))
    assert back.state["deleted"] is False and back.conflicts == []
    assert record_view(back.state)["fields"] == {"grid": "g1", "notes": "c"}


def test_an_older_edit_does_not_bring_a_tombstone_back(household):
    gone = apply(household, fields={}, deleted=True, base=1, hlc=stamp(3_000)).state
    result = apply(gone, "dev_b", fields={"notes": "c"}, base=1, hlc=stamp(2_000, 0, "dev_b"))
    assert result.state["deleted"] is True
    assert result.state["fields"]["notes"] == "c"  # merged, hidden until the record returns
    [conflict] = result.conflicts
    assert conflict["field"] == "deleted"
    assert conflict["winner"]["value"] is True and conflict["loser"]["value"] is False


def test_a_delete_racing_an_edit_is_a_conflict(household):
    edited = apply(household, fields={"notes": "b"}, base=1, hlc=stamp(2_000)).state
    result = apply(edited, "dev_b", fields={}, deleted=True, base=1, hlc=stamp(3_000, 0, "dev_b"))
    assert result.state["deleted"] is True
    assert [c["field"] for c in result.conflicts] == ["deleted"]


# -- visits -------------------------------------------------------------------------------

VISIT = {"household": "h1", "visited_at": "2026-11-26T12:00:00Z", "outcome": "met"}


@pytest.mark.parametrize(
    "kwargs",
    [{"fields": {"notes": "later"}, "base": 1}, {"fields": {}, "deleted": True, "base": 1},
     {"fields": {}, "base": 1}, {"fields": VISIT, "base": None}],
)
def test_visits_are_written_once(kwargs):
    visit = apply(None, collection="visits", fields=VISIT).state
    assert rejection(visit, collection="visits", hlc=stamp(9_000), **kwargs) == "immutable"


# -- service logs -------------------------------------------------------------------------


def test_log_created_as_recorded(log):
    assert log["fields"]["status"] == "recorded"
    explicit = apply(None, collection="service_logs", fields={**LOG_FIELDS, "status": "recorded"})
    assert explicit.state["fields"]["status"] == "recorded"


@pytest.mark.parametrize("status", ["verified", "rejected"])
def test_creating_a_log_in_a_final_status_is_forbidden(status):
    fields = {**LOG_FIELDS, "status": status}
    assert rejection(None, collection="service_logs", fields=fields) == "forbidden"


def test_volunteer_and_activity_never_change(log):
    for field in ("volunteer", "activity"):
        code = rejection(log, collection="service_logs", fields={field: "other"}, base=1,
                         hlc=stamp(2_000))
        assert code == "immutable"
    same = apply(log, collection="service_logs", fields={"volunteer": "p_1", "minutes": 90},
                 base=1, hlc=stamp(2_000))
    assert same.state["fields"]["minutes"] == 90


def test_other_log_fields_merge_as_usual(log):
    result = apply(log, collection="service_logs", fields={"minutes": 30, "notes": "n"}, base=1,
                   hlc=stamp(2_000))
    assert result.state["fields"]["minutes"] == 30 and result.state["version"] == 2


def test_status_change(log):
    # The verifier's clock is behind the recorder's: first to arrive still wins.
    result = apply(log, "dev_v", collection="service_logs", fields={"status": "verified"},
                   base=1, hlc=stamp(500, 0, "dev_v"))
    assert result.state["fields"]["status"] == "verified"
    assert result.state["version"] == 2 and result.conflicts == []
    assert status_change(change("service_logs", fields={"status": "verified"})) == "verified"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"fields": {"status": "verified", "minutes": 30}, "base": 1}, "validation"),
        ({"fields": {"status": "rejected"}, "deleted": True, "base": 1}, "validation"),
        ({"fields": {"status": "verified"}, "base": None}, "stale"),
        ({"fields": {"status": "verified"}, "base": 0}, "stale"),
    ],
)
def test_status_change_rules(log, kwargs, code):
    assert rejection(log, collection="service_logs", hlc=stamp(2_000), **kwargs) == code


def test_status_change_after_an_edit_is_stale(log):
    edited = apply(log, collection="service_logs", fields={"minutes": 30}, base=1,
                   hlc=stamp(2_000)).state
    code = rejection(edited, collection="service_logs", fields={"status": "verified"}, base=1,
                     hlc=stamp(3_000))
    assert code == "stale"


def test_a_deleted_log_cannot_change_status(log):
    gone = apply(log, collection="service_logs", fields={}, deleted=True, base=1,
                 hlc=stamp(2_000)).state
    code = rejection(gone, collection="service_logs", fields={"status": "verified"}, base=2,
                     hlc=stamp(3_000))
    assert code == "validation"


@pytest.mark.parametrize("final", ["verified", "rejected"])
@pytest.mark.parametrize(
    "kwargs",
    [{"fields": {"notes": "x"}}, {"fields": {}, "deleted": True},
     {"fields": {"status": "rejected"}}, {"fields": {"status": "recorded"}}],
)
def test_final_logs_are_locked(log, final, kwargs):
    done = apply(log, collection="service_logs", fields={"status": final}, base=1,
                 hlc=stamp(2_000)).state
    code = rejection(done, collection="service_logs", base=2, hlc=stamp(3_000), **kwargs)
    assert code == "locked"


def test_status_change_helper_ignores_other_changes():
    assert status_change(change("service_logs", fields={"status": "recorded"})) is None
    assert status_change(change("service_logs", fields={"minutes": 5})) is None
    assert status_change(change("households", fields={"notes": "verified"})) is None


# -- record_view --------------------------------------------------------------------------


def test_record_view(household):
    edited = apply(household, "dev_b", fields={"address": "x"}, base=1,
                   hlc=stamp(5_000, 0, "dev_b")).state
    assert record_view(edited) == {
        "collection": "households", "id": household["id"], "version": 2,
        "hlc": stamp(5_000, 0, "dev_b"), "fields": {"grid": "g1", "notes": "a", "address": "x"},
        "deleted": False,
    }
    view = record_view(edited)
    view["fields"]["grid"] = "changed"
    assert edited["fields"]["grid"] == "g1"
