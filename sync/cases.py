"""Cases: the status steps as pure, guarded transitions (docs/protocol.md: Cases).

::

    open ──assign/claim──► assigned ──accept──► accepted ──done──► done ──close──► closed
      ▲                      │                     │
      └───────退回 (return)───┴─────────────────────┘
    any but closed ──cancel──► cancelled            (closed, cancelled: final)

A step is one change (or one admin/resident call) that sets ``status`` and
that step's own fields, nothing else. Who may take which step is decided
here from plain data (the case's fields and the actor), so the rules can be
tested without a server. Order of checks for a device's step, each raising
``ChangeRejected``: a final case → ``locked``; a stale ``base`` → ``stale``
(the caller checks it, before anything else here); a step that does not
follow from the current status, or carries other fields → ``validation``;
a step this sender may not take → ``forbidden``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .collections import CASE_DEVICE_FIELDS, CASE_FINAL, CASE_STEP_FIELDS
from .errors import ChangeRejected
from .merge import MergeResult, merge

#: The roles whose devices open cases and change their device-set fields.
CASE_OPENERS = ("worker",)
#: The roles whose devices confirm (close) another's done case (four eyes).
CASE_CONFIRMERS = ("worker",)

#: status → the statuses a step may come from.
STEP_FROM: dict[str, frozenset[str]] = {
    "assigned": frozenset({"open"}),
    "accepted": frozenset({"assigned"}),
    "open": frozenset({"assigned", "accepted"}),
    "done": frozenset({"accepted"}),
    "closed": frozenset({"done"}),
    "cancelled": frozenset({"open", "assigned", "accepted", "done"}),
}

#: status → (fields the step must send besides status, fields it may send).
STEP_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "assigned": (frozenset({"assignee"}), frozenset()),
    "accepted": (frozenset(), frozenset()),
    "open": (frozenset(), frozenset()),
    "done": (frozenset({"resolution"}), frozenset()),
    "closed": (frozenset(), frozenset({"rating"})),
    "cancelled": (frozenset(), frozenset({"resolution"})),
}

#: Server-set fields, all present (null until set) in a case's state.
SERVER_SET = ("status", "assignee", "difficulty", "created_by", "resolution", "rating",
              "rating_note", "points", "created_at", "assigned_at", "accepted_at",
              "done_at", "closed_at")

DEFAULT_DIFFICULTY = 1

#: A case's reporter details: what a volunteer does not see of a case of their grids
#: that is not assigned to them (a wish), wherever they see it (a pull, the case's
#: detail, their /me page).
REPORTER_FIELDS = ("reporter_name", "reporter_phone")


@dataclass(frozen=True)
class Actor:
    """Who takes a step from a device: their person, role, and whether they hold
    the case's grid (a grid under one of theirs counts)."""

    person: str
    role: str
    in_grid: bool


def sees(fields: dict[str, Any], actor: Actor) -> bool:
    """Whether a worker's or volunteer's devices see a case at all: its assignee, a
    worker of its grid, a volunteer of its grid when it is a wish. A change to a case
    its sender does not see is refused before anything about the case is checked, so
    the answer tells them nothing about it."""
    if fields.get("assignee") == actor.person:
        return True
    return actor.in_grid and (actor.role == "worker" or (
        actor.role == "volunteer" and fields.get("kind") == "wish"))


def step_target(values: dict[str, Any]) -> str | None:
    """The status a change steps to, or None for a change of device-set fields."""
    status = values.get("status")
    return status if isinstance(status, str) else None


def without_reporter(fields: dict[str, Any]) -> dict[str, Any]:
    """A case's ``fields`` (a copy) without the reporter's details."""
    return {name: value for name, value in fields.items() if name not in REPORTER_FIELDS}


def new_case(values: dict[str, Any], *, created_by: str | None, at: str) -> dict[str, Any]:
    """A new case's fields: what was sent plus every server-set field."""
    fields = {name: None for name in SERVER_SET}
    fields.update(status="open", difficulty=DEFAULT_DIFFICULTY, created_by=created_by,  # type: ignore[call-overload]
                  created_at=at)
    fields.update(values)
    return fields


def check_create(values: dict[str, Any], actor: Actor) -> None:
    """A device opening a case: workers of the grid only, device-set fields only."""
    steps = sorted(CASE_STEP_FIELDS & values.keys())
    if steps:
        raise ChangeRejected(
            "validation", f"{', '.join(steps)} are set by status steps, not on create",
            {"fields": {name: ["Set by a status step."] for name in steps}})
    if actor.role not in CASE_OPENERS or not actor.in_grid:
        raise ChangeRejected("forbidden", "only workers of the grid open cases")


def check_edit(fields: dict[str, Any], values: dict[str, Any], actor: Actor) -> None:
    """A change of device-set fields to an existing case."""
    status = fields.get("status")
    if status in CASE_FINAL or status == "done":
        raise ChangeRejected("locked", f"the case is {status}")
    steps = sorted(CASE_STEP_FIELDS & values.keys())
    if steps:
        raise ChangeRejected(
            "validation", f"{', '.join(steps)} are sent only with a status step",
            {"fields": {name: ["Sent only with status."] for name in steps}})
    if actor.role not in CASE_OPENERS or not actor.in_grid:
        raise ChangeRejected("forbidden", "only workers of the grid change a case")


def check_locked(fields: dict[str, Any]) -> None:
    """A step out of a final status → ``locked``."""
    if fields.get("status") in CASE_FINAL:
        raise ChangeRejected("locked", f"the case is {fields['status']}")


def check_step(fields: dict[str, Any], values: dict[str, Any], actor: Actor) -> str:
    """Check a device's status step against the case's current ``fields``; returns
    the target status. The caller has checked ``locked`` and ``base`` first."""
    target = values["status"]
    current = fields.get("status")
    if target not in STEP_FROM or current not in STEP_FROM[target]:
        raise ChangeRejected(
            "validation", f"a case cannot go from {current} to {target}",
            {"fields": {"status": [f"Cannot go from {current} to {target}."]}})
    required, optional = STEP_FIELDS[target]
    sent = values.keys() - {"status"}
    missing, extra = sorted(required - sent), sorted(sent - required - optional)
    if missing or extra:
        errors = {name: ["Missing data for required field."] for name in missing}
        errors.update({name: ["Not part of this step."] for name in extra})
        raise ChangeRejected("validation", f"the step to {target} sends status"
                             f"{''.join(', ' + n for n in sorted(required | optional))} only",
                             {"fields": errors})
    _check_permission(target, fields, values, actor)
    return target


def _check_permission(target: str, fields: dict[str, Any], values: dict[str, Any],
                      actor: Actor) -> None:
    assignee = fields.get("assignee")
    if target == "assigned":
        if fields.get("kind") != "wish":
            raise ChangeRejected("forbidden", "only wishes are claimed; the office assigns "
                                 "other cases")
        if values["assignee"] != actor.person:
            raise ChangeRejected("forbidden", "a claim names the claimer as assignee")
        if actor.role not in ("worker", "volunteer") or not actor.in_grid:
            raise ChangeRejected("forbidden", "only workers and volunteers of the grid claim")
    elif target in ("accepted", "open", "done"):
        if assignee != actor.person:
            raise ChangeRejected("forbidden", "only the assignee takes this step")
    elif target == "closed":
        if actor.role not in CASE_CONFIRMERS or not actor.in_grid:
            raise ChangeRejected("forbidden", "only a worker of the grid confirms a case")
        if assignee == actor.person:
            raise ChangeRejected("forbidden", "four eyes: the assignee does not confirm "
                                 "their own case")
    elif target == "cancelled":
        if fields.get("status") != "open" or fields.get("created_by") != actor.person:
            raise ChangeRejected("forbidden", "a device cancels only a case it opened, "
                                 "while open; the office cancels others")


def step_updates(target: str, values: dict[str, Any], *, at: str) -> dict[str, Any]:
    """The fields a step to ``target`` sets (``values``: the step's own fields)."""
    updates: dict[str, Any] = {"status": target}
    if target == "assigned":
        updates.update(assignee=values["assignee"], assigned_at=at, accepted_at=None)
        for name in ("difficulty", "due_at"):
            if name in values:
                updates[name] = values[name]
    elif target == "accepted":
        updates["accepted_at"] = at
    elif target == "open":
        updates.update(assignee=None, assigned_at=None, accepted_at=None)
    elif target == "done":
        updates.update(resolution=values["resolution"], done_at=at)
    elif target == "closed":
        updates["closed_at"] = at
        for name in ("rating", "rating_note"):
            if values.get(name) is not None:
                updates[name] = values[name]
    elif target == "cancelled":
        if values.get("resolution") is not None:
            updates["resolution"] = values["resolution"]
    return updates


def editable(fields: dict[str, Any]) -> bool:
    """Whether device-set fields may still change (before ``done``)."""
    return fields.get("status") not in (*CASE_FINAL, "done")




def apply_change(state: dict[str, Any] | None, change: dict[str, Any], *, device_id: str,
                 actor: Actor, at: str) -> MergeResult:
    """Apply a device's change to a case (already parsed, signed, stamped; references
    checked by the server). Device-set fields merge per field by stamp, like
    households (``sync.merge``); a step is a guarded transition, first to arrive
    wins. Raises ``ChangeRejected`` and then changes nothing."""
    values = change["fields"]
    if change["deleted"]:
        raise ChangeRejected("validation", "cases are never deleted",
                             {"deleted": ["Cases are never deleted."]})
    if state is None:
        if change["base"] is not None:
            raise ChangeRejected("unknown_record", "base given for a case the server lacks")
        check_create(values, actor)
        result = merge(None, change, device_id=device_id)
        stamp = result.state["meta"]["grid"]
        for name, value in new_case({}, created_by=actor.person, at=at).items():
            result.state["fields"].setdefault(name, value)
            result.state["meta"].setdefault(name, dict(stamp))
        return result
    if not sees(state["fields"], actor):
        raise ChangeRejected("forbidden", "not a case of your grids")
    version = state["version"]
    if change["base"] is not None and change["base"] > version:
        raise ChangeRejected("validation", f"base {change['base']} is above the case's "
                             f"version {version}", {"base": [f"Must be at most {version}."]})
    target = step_target(values)
    if target is None:
        check_edit(state["fields"], values, actor)
        return merge(state, change, device_id=device_id)
    check_locked(state["fields"])
    if change["base"] != version:
        raise ChangeRejected("stale", f"a status step needs base {version} "
                             f"(got {change['base']})")
    check_step(state["fields"], values, actor)
    stamp = {"hlc": change["hlc"], "version": version + 1, "op": change["op"],
             "device": device_id}
    updates = step_updates(target, values, at=at)
    meta = dict(state["meta"])
    for name in updates:
        meta[name] = dict(stamp)
    new = {**state, "version": version + 1, "fields": {**state["fields"], **updates},
           "meta": meta}
    return MergeResult(new)


__all__ = ["Actor", "CASE_DEVICE_FIELDS", "SERVER_SET", "STEP_FIELDS", "STEP_FROM",
           "apply_change", "check_create", "check_edit", "check_locked", "check_step",
           "editable", "new_case", "step_target", "step_updates"]
