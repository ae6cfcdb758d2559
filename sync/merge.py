"""Merging one accepted change into a record's stored state (pure; docs/protocol.md, Sync).

A stored state is a plain dict::

    {"collection", "id", "version": int, "deleted": bool,
     "fields": {name: value},
     "meta": {name: {"hlc", "version", "op", "device"}}}

``meta`` has an entry per field ever set, plus ``"deleted"`` for the
tombstone flag; ``meta[f]["version"]`` is the record version at which ``f``
took its current value.

Each field, and ``deleted``, is last-writer-wins by the greater ``hlc``
(ties, which only a misbehaving clock makes, go to the greater op id so the
result never depends on arrival order). The incoming change "sets"
``deleted`` every time: an edit to a tombstone with a newer stamp brings the
record back.

When is a conflict recorded? docs/protocol.md calls a field *concurrent* when it
was changed on the server after the change's ``base`` (``meta[f].version >
base``; a null base counts as 0, so every field it sets is concurrent), and
keeps both values of such a field. This module reads invariant 3 ("no value
typed on a device disappears without a conflict record") as also covering a
change that had seen the current value but loses on ``hlc`` (its device's
clock was behind): a conflict record is kept for a field whenever the two
values differ and either the field is concurrent or the incoming change
lost. A value only ever disappears silently when a change that had seen it
overwrites it. The server reports status ``conflict`` whenever the result
carries conflicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .collections import (
    DEFAULT_STATUS,
    FINAL_STATUSES,
    IMMUTABLE_AFTER_CREATE,
    REQUIRED_ON_CREATE,
    WRITE_ONCE,
)
from .errors import ChangeRejected


@dataclass
class MergeResult:
    """``state``: the new state (a new dict); ``conflicts``: one per field, by name."""

    state: dict[str, Any]
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    created: bool = False


def status_change(change: dict[str, Any]) -> str | None:
    """The final status a service-log change moves to (``verified``/``rejected``), else None."""
    if change["collection"] != "service_logs":
        return None
    status = change["fields"].get("status")
    return status if status in FINAL_STATUSES else None


def _side(value: Any, meta: dict[str, Any]) -> dict[str, Any]:
    return {"value": value, "hlc": meta["hlc"], "device": meta["device"], "op": meta["op"]}


def _check_create(change: dict[str, Any]) -> None:
    """Rules for a change to a record the server does not have."""
    if change["base"] is not None:
        raise ChangeRejected("unknown_record", "base given for a record the server lacks")
    status = change["fields"].get("status", DEFAULT_STATUS)
    if change["collection"] == "service_logs" and status != DEFAULT_STATUS:
        raise ChangeRejected("forbidden", f"a log is created with status {DEFAULT_STATUS}")


def _check_update(state: dict[str, Any], change: dict[str, Any]) -> None:
    """Rules for a change to an existing record, checked before any field is merged."""
    collection, values, base = change["collection"], change["fields"], change["base"]
    version = state["version"]
    if base is not None and base > version:
        raise ChangeRejected(
            "validation", f"base {base} is above the record's version {version}",
            {"base": [f"Must be at most {version}."]},
        )
    if collection in WRITE_ONCE:
        raise ChangeRejected("immutable", f"{collection} are written once")
    if collection == "service_logs" and state["fields"].get("status") in FINAL_STATUSES:
        raise ChangeRejected("locked", f"the log is {state['fields']['status']}")
    # Setting a value the record lacks (a bare tombstone) or already has is no change.
    changed = sorted(
        name for name in IMMUTABLE_AFTER_CREATE[collection] & values.keys()
        if state["fields"].get(name) not in (None, values[name])
    )
    if changed:
        raise ChangeRejected("immutable", f"{', '.join(changed)} never change")
    if status_change(change) is not None:
        if values.keys() != {"status"} or change["deleted"]:
            raise ChangeRejected(
                "validation", "a status change sets status alone",
                {"fields": {"_schema": ["A status change sets status alone."]}},
            )
        if state["deleted"]:
            raise ChangeRejected("validation", "a deleted log cannot change status")
        if base != version:
            raise ChangeRejected("stale", f"a status change needs base {version} (got {base})")


def merge(state: dict[str, Any] | None, change: dict[str, Any], *, device_id: str) -> MergeResult:
    """Apply ``change`` (already parsed, signed and permitted) to ``state``.

    ``state`` is None for a record the server does not have. Raises
    ``ChangeRejected`` (``unknown_record``, ``validation``, ``forbidden``,
    ``immutable``, ``locked``, ``stale``) and then changes nothing.
    ``device_id`` is the sender, recorded in ``meta`` and in conflicts.
    """
    if state is not None and (state["collection"], state["id"]) != (
        change["collection"], change["id"]
    ):
        raise ValueError("change is for another record")
    created = state is None
    if state is None:
        _check_create(change)
        state = {"collection": change["collection"], "id": change["id"], "version": 0,
                 "deleted": False, "fields": {}, "meta": {}}
    else:
        _check_update(state, change)

    version = state["version"] + 1
    base = change["base"] or 0
    incoming = {"hlc": change["hlc"], "version": version, "op": change["op"], "device": device_id}
    forced = status_change(change) is not None  # first to arrive wins, whatever the stamp
    merged = {**state["fields"], "deleted": state["deleted"]}
    meta = dict(state["meta"])
    conflicts = []

    values = {**change["fields"], "deleted": change["deleted"]}
    if created and change["collection"] == "service_logs":
        values.setdefault("status", DEFAULT_STATUS)
    for name in sorted(values):
        value, old_meta = values[name], meta.get(name)
        if old_meta is None:  # never set before: nothing to lose
            merged[name] = value
            meta[name] = dict(incoming)
            continue
        old = merged.get(name)
        wins = forced or (change["hlc"], change["op"]) > (old_meta["hlc"], old_meta["op"])
        if value != old and (not wins or old_meta["version"] > base):
            mine, theirs = _side(value, incoming), _side(old, old_meta)
            conflicts.append({"field": name, "winner": mine if wins else theirs,
                              "loser": theirs if wins else mine})
        if wins:
            merged[name] = value
            meta[name] = dict(incoming)

    deleted = merged.pop("deleted")
    fields = merged
    if not deleted:  # a live record holds its required fields: creates, tombstones coming back
        missing = sorted(name for name in REQUIRED_ON_CREATE[change["collection"]]
                         if fields.get(name) is None)
        if missing:
            raise ChangeRejected(
                "validation", f"missing required field(s): {', '.join(missing)}",
                {"fields": {name: ["Missing data for required field."] for name in missing}},
            )
    new_state = {"collection": state["collection"], "id": state["id"], "version": version,
                 "deleted": deleted, "fields": fields, "meta": meta}
    return MergeResult(new_state, conflicts, created)


def record_view(state: dict[str, Any]) -> dict[str, Any]:
    """A record as pulled: ``hlc`` is the greatest stamp in it; tombstones have no fields."""
    return {
        "collection": state["collection"],
        "id": state["id"],
        "version": state["version"],
        "hlc": max(entry["hlc"] for entry in state["meta"].values()),
        "fields": {} if state["deleted"] else dict(state["fields"]),
        "deleted": state["deleted"],
    }
