"""Applying pushed changes: idempotency, signature, stamp, permission, merge.

``Push`` applies one request's changes in order inside the caller's write
transaction and buffers the writes (records, ops, conflicts) so they go to
SQLite with ``executemany`` once per request. Every change gets a result; a
rejected change is remembered with its reason and never blocks the next.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ledger import LedgerError
from primitives.canonical import canonical
from sync.errors import ChangeRejected
from sync.hlc import check_stamp
from sync.merge import merge, status_change
from sync.schemas import parse_change
from sync.signing import unsigned_form, verify_change

from .. import clock
from ..auth import Principal
from ..errors import ValidationFailed
from ..keystore import Signer
from ..storage import Storage
from ..storage.records import Placement, RecordWrite
from .case_sync import CaseSync
from .ledger_append import earn_for_log
from .moves import household_moved
from .sync_scope import Scope

PRICED = ("volunteer", "activity", "started_at", "minutes")  # fields that set a log's points


def signed_bytes(raw: dict) -> bytes:
    """The canonical form of a change without ``sig``: what the device signed."""
    return canonical(unsigned_form(raw))


class Push:
    def __init__(self, store: Storage, who: Principal, scope: Scope, *, signer: Signer,
                 max_skew_ms: int):
        self.store, self.who, self.scope, self.signer = store, who, scope, signer
        self.max_skew_ms = max_skew_ms
        self.now_ms = clock.now_ms()
        self.now = clock.iso(self.now_ms)
        self.states: dict[tuple[str, str], dict] = {}
        self.places: dict[tuple[str, str], Placement] = {}
        self.ops: dict[str, dict] = {}
        self.conflicts: list[tuple] = []
        self.exits: list[tuple[str, str, str]] = []
        self.dirty: dict[tuple[str, str], None] = {}  # insertion-ordered set
        self.applied = self.rejected = 0
        self._rules: tuple[dict, str] | None | bool = False
        self._device_people: dict[str, str | None] = {}
        self.case_sync: CaseSync | None = None

    def _cases(self) -> CaseSync:
        if self.case_sync is None:
            self.case_sync = CaseSync(self.store, self.signer, person=self.who.person,
                                      role=self.scope.role,
                                      own_grids=self.scope.own_grids, now=self.now,
                                      state_of=self._state)
        return self.case_sync

    # --- per change ----------------------------------------------------
    def check(self, raw: dict) -> Checked:
        """What needs no database: schema, signature, stamp. Runs before the write
        transaction, so several workers verify signatures in parallel."""
        signed = signed_bytes(raw)
        checked = Checked(raw, hashlib.sha256(signed).hexdigest())
        try:
            change = parse_change(raw)
            verify_change(change, self.who.public_key or "", signed)
            check_stamp(change["hlc"], self.who.device or "", self.now_ms, self.max_skew_ms)
            checked.change = change
        except ChangeRejected as exc:
            checked.error = exc
        return checked

    def apply(self, checked: Checked) -> dict:
        """Apply one checked change; must run inside the write transaction."""
        raw, digest = checked.raw, checked.digest
        op = raw["op"]
        seen = self.ops.get(op) or self.store.records.op(op)
        if seen is not None:
            if seen["device"] != self.who.device or seen["digest"] != digest:
                return {"op": op, "status": "rejected", "error": {
                    "code": "id_reused", "message": "this op id was used for another change"}}
            return _duplicate(seen)
        try:
            if checked.error is not None:
                raise checked.error
            change = checked.change
            assert change is not None
            state = self._state(change["collection"], change["id"])
            if change["collection"] == "cases":
                result = self._cases().apply(change, state, device_id=self.who.device or "")
            else:
                self._authorize_before(change, state)
                result = merge(state, change, device_id=self.who.device or "")
                self._server_fields(change, state, result.state)
            new_state = result.state
        except ChangeRejected as exc:
            self.rejected += 1
            self._remember(raw, digest, "rejected", None, exc)
            return {"op": op, "status": "rejected", "error": exc.as_error()}
        self._store(change, state, new_state)
        for c in result.conflicts:
            self.conflicts.append((change["collection"], change["id"], c["field"], c["winner"],
                                   c["loser"], self.now))
        status = "conflict" if result.conflicts else "applied"
        self.applied += 1
        self._remember(raw, digest, status, new_state["version"], None)
        return {"op": op, "status": status, "version": new_state["version"]}

    def _state(self, collection: str, id: str) -> dict | None:
        key = (collection, id)
        if key not in self.states:
            found = self.store.records.get(collection, id)
            if found is not None:
                self.places[key] = found.place
            self.states[key] = found.state if found else None  # type: ignore[assignment]
        return self.states[key]

    # --- permissions ---------------------------------------------------
    def _authorize_before(self, change: dict, state: dict | None) -> None:
        collection, fields = change["collection"], change["fields"]
        role = self.scope.role
        if collection in ("households", "visits") and role != "worker":
            raise ChangeRejected("forbidden", f"only workers write {collection}")
        if collection == "households":
            if state is not None and state["fields"].get("grid") not in self.scope.grids:
                raise ChangeRejected("forbidden", "household is outside your grids")
            if "grid" in fields and fields["grid"] not in self.scope.grids:
                raise ChangeRejected("forbidden", "moving a household needs both grids")
        if collection == "visits":
            self._authorize_visit(change, state)
        if collection == "service_logs":
            self._authorize_log(change, state)

    def _authorize_visit(self, change: dict, state: dict | None) -> None:
        if state is not None:
            place = self.places[(change["collection"], change["id"])]
            if place.grid not in self.scope.grids and place.author != self.who.person:
                raise ChangeRejected("forbidden", "visit is outside your grids")
            return
        household = self._state("households", change["fields"].get("household", ""))
        if household is None:
            raise ChangeRejected("unknown_record", "no such household")
        if household["fields"].get("grid") not in self.scope.grids:
            raise ChangeRejected("forbidden", "household is outside your grids")

    def _authorize_log(self, change: dict, state: dict | None) -> None:
        fields = change["fields"]
        if state is None and change["base"] is not None:
            raise ChangeRejected("unknown_record", "base given for a log the server does not have")
        volunteer = state["fields"]["volunteer"] if state else fields.get("volunteer")
        if state is None:
            person = self.store.directory.person(volunteer) if volunteer else None
            if person is None or person["role"] != "volunteer":
                raise ChangeRejected("validation", "no such volunteer",
                                     {"fields": {"volunteer": ["No such volunteer."]}})
        if "activity" in fields and not self._activity_known(fields["activity"]):
            raise ChangeRejected("validation", "activity is not in the earning rules",
                                 {"fields": {"activity": ["Not in the current rules."]}})
        if volunteer not in self.scope.people:  # a volunteer's people: only themselves
            raise ChangeRejected("forbidden", "volunteer is not in your grids")
        if status_change(change) is not None and state is not None:
            self._four_eyes(state, volunteer)

    def _four_eyes(self, state: dict, volunteer: str) -> None:
        """The verifier is a worker who is neither the volunteer, nor the recorder,
        nor anyone who set a field that prices the log."""
        if self.scope.role != "worker":
            raise ChangeRejected("forbidden", "only a worker of the grid verifies a log")
        writers = {state["fields"].get("recorded_by")}
        writers |= {self._person_of(state["meta"][f]["device"])
                    for f in PRICED if f in state["meta"]}
        if self.who.person == volunteer or self.who.person in writers:
            raise ChangeRejected(
                "forbidden", "four eyes: the verifier did not record or edit this log")

    def _person_of(self, device: str) -> str | None:
        if device not in self._device_people:
            row = self.store.access.device(device)
            self._device_people[device] = row["person"] if row else None
        return self._device_people[device]

    def _activity_known(self, activity: str) -> bool:
        rules = self._current_rules()
        return rules is not None and activity in rules[0]["activities"]

    def _current_rules(self) -> tuple[dict, str] | None:
        if self._rules is False:
            self._rules = self.store.directory.rules()
        return self._rules  # type: ignore[return-value]

    # --- effects -------------------------------------------------------
    def _server_fields(self, change: dict, old: dict | None, new: dict) -> None:
        if change["collection"] != "service_logs":
            return
        meta = new["meta"].get("status") or next(iter(new["meta"].values()))
        if old is None:
            new["fields"]["recorded_by"] = self.who.person
            new["meta"]["recorded_by"] = meta
        final = status_change(change)
        if final is not None and old is not None:
            volunteer = new["fields"]["volunteer"]
            points = 0
            if final == "verified":
                person = self.store.directory.person(volunteer)
                try:
                    points = earn_for_log(self.store, self.signer, new, op=change["op"],
                                          community=person["community"])  # type: ignore[index]
                except (LedgerError, OverflowError, ValueError, ValidationFailed) as exc:
                    raise ChangeRejected(
                        "validation", f"this log cannot be priced: {exc}; reject it instead",
                        {"fields": {"status": ["Cannot be priced under the current rules."]}}
                    ) from None
            new["fields"].update(verified_by=self.who.person, verified_at=self.now, points=points)
            for name in ("verified_by", "verified_at", "points"):
                new["meta"][name] = meta

    def _store(self, change: dict, old: dict | None, new: dict) -> None:
        key = (change["collection"], change["id"])
        fields = new["fields"]
        if key[0] == "households":
            place = Placement(grid=fields.get("grid"))
            old_grid = old["fields"].get("grid") if old else None
            if old_grid and old_grid != fields.get("grid"):
                self.exits.append((key[0], key[1], old_grid))
        elif key[0] == "cases":
            place = self._cases().placement(new)
        elif key[0] == "visits":
            # Visits are written once: this is always a new visit.
            household = self._state("households", fields["household"]) or {"fields": {}}
            place = Placement(grid=household["fields"].get("grid"), author=self.who.person)
        else:
            place = Placement(person=fields.get("volunteer"))
        self.states[key] = new
        self.places[key] = place
        self.dirty[key] = None

    def _remember(self, raw: dict, digest: str, status: str, version: int | None,
                  exc: ChangeRejected | None) -> None:
        collection = raw.get("collection") if isinstance(raw.get("collection"), str) else ""
        record = raw.get("id") if isinstance(raw.get("id"), str) else ""
        self.ops[raw["op"]] = {
            "op": raw["op"], "device": self.who.device, "collection": collection,
            "record": record, "digest": digest, "change": raw, "status": status,
            "version": version, "error_code": exc.code if exc else None,
            "error_message": exc.message if exc else None, "received_at": self.now}

    def flush(self) -> None:
        """Write the buffered effects (inside the caller's transaction)."""
        first = self.store.records.last_seq() + 1
        self.store.records.put_many(
            [RecordWrite(self.states[key], seq, self.places[key], self.now)
             for seq, key in enumerate(self.dirty, first)])
        for collection, id, grid in self.exits:
            household_moved(self.store, id, grid, self.states[(collection, id)]["fields"]["grid"],
                            self.now)
        if self.case_sync is not None:
            self.case_sync.flush()
        self.store.records.add_ops(list(self.ops.values()))
        self.store.records.add_conflicts(self.conflicts)
        if self.who.device:
            self.store.access.record_sync(self.who.device, at=self.now, applied=self.applied,
                                          rejected=self.rejected)


@dataclass
class Checked:
    """A pushed change after the database-free checks."""

    raw: dict
    digest: str
    change: dict | None = None
    error: ChangeRejected | None = None


def _duplicate(seen: dict) -> dict:
    out: dict[str, Any] = {"op": seen["op"], "status": "duplicate"}
    if seen["status"] == "rejected":
        out["error"] = {"code": seen["error_code"], "message": seen["error_message"]}
    else:
        out["version"] = seen["version"]
    return out


__all__ = ["Push", "signed_bytes"]
