"""Admin review of sync: conflicts (and their resolution) and the signed ops behind records."""

from __future__ import annotations

import json

from .. import clock
from ..errors import NotFound, ValidationFailed
from ..storage import Storage
from ..storage.records import Placement, RecordWrite
from .admin_scope import AdminScope
from .moves import household_moved
from .publish import server_hlc


def resolve_conflict(store: Storage, conflict_id: int, keep: str, by: str,
                     scope: AdminScope) -> dict:
    """Close a conflict; keeping the loser writes it as a new record version."""
    with store.transaction():
        conflict = store.records.conflict(conflict_id)
        if conflict is None or not scope.record(store, conflict["collection"],
                                                conflict["record"]):
            raise NotFound("no such conflict")
        if conflict["status"] != "open":
            raise ValidationFailed(f"conflict already resolved (kept {conflict['kept']})",
                                   fields={"keep": ["conflict already resolved"]})
        if keep == "loser":
            _write_loser(store, conflict, by)
        store.records.resolve_conflict(conflict_id, keep=keep, by=by, at=clock.iso())
        return store.records.conflict(conflict_id)  # type: ignore[return-value]


def _write_loser(store: Storage, conflict: dict, by: str) -> None:
    found = store.records.get(conflict["collection"], conflict["record"])
    if found is None:
        raise NotFound("the record is gone (tombstone purged)")
    state, place = found.state, found.place
    if state["fields"].get("status") in ("verified", "rejected"):
        raise ValidationFailed("the service log is locked", fields={"keep": ["record is locked"]})
    field = conflict["field"]
    current = state["meta"].get(field, {})
    winner = conflict["winner"]
    if (current.get("op"), current.get("hlc")) != (winner["op"], winner["hlc"]):
        raise ValidationFailed(
            "the field changed again since this conflict; keep the winner to close it, "
            "then edit the record", fields={"keep": ["field changed since the conflict"]})
    hlc = server_hlc(max(m["hlc"] for m in state["meta"].values()))
    version = state["version"] + 1
    value = conflict["loser"]["value"]
    if field == "deleted":
        state["deleted"] = bool(value)
    elif value is None:
        state["fields"].pop(field, None)
    else:
        state["fields"][field] = value
    state["meta"][field] = {"hlc": hlc, "version": version, "op": f"resolve:{conflict['id']}",
                           "device": f"server:{by}"}
    state["version"] = version
    grid = state["fields"].get("grid", place.grid) if state["collection"] == "households" \
        else place.grid
    now = clock.iso()
    store.records.put_many([RecordWrite(state, store.records.last_seq() + 1,
                                        Placement(grid, place.person, place.author), now)])
    if state["collection"] == "households" and grid != place.grid:
        household_moved(store, state["id"], place.grid, grid, now)  # type: ignore[arg-type]


def op_evidence(store: Storage, op: str, scope: AdminScope) -> dict:
    """The change as signed (auditors and district-wide admins: any; a scoped admin:
    those sent by devices of people within reach)."""
    row = store.records.op(op)
    device = (store.access.device(row["device"]) or {}) if row else {}
    if row is None or not (scope.district or scope.person(
            store.directory.person(device.get("person") or ""))):
        raise NotFound("no such op")
    result: dict = {"status": row["status"]}
    if row["version"] is not None:
        result["version"] = row["version"]
    if row["error_code"]:
        result["error"] = {"code": row["error_code"], "message": row["error_message"]}
    return {"op": op, "change": json.loads(row["change"]), "result": result,
            "device": row["device"], "person": device.get("person"),
            "public_key": device.get("public_key"), "received_at": row["received_at"]}
