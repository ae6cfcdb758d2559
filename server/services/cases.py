"""Cases on the server: writing versions, the office's steps (assign, cancel), the
resident's rating, earning on close, and reading cases back (list, detail, scope).

A case is a sync record (collection ``cases``). Every new version, whoever
makes it (a device's change, an admin, a resident), goes through
``index_row`` and ``CaseStore.add_steps`` in the same transaction, so the
case index and the step history never disagree with the record.
The step rules themselves are pure (``sync.cases``).
"""

from __future__ import annotations

from typing import Any

from primitives import names, times
from sync.cases import Actor, sees, step_updates, without_reporter
from sync.merge import record_view

from .. import clock
from ..errors import InvalidState, NotFound, ValidationFailed
from ..keystore import Signer
from ..storage import Storage
from ..storage.records import Placement, RecordWrite
from .admin_scope import AdminScope, admin_scope
from .community_time import community_zone, local_day
from .ledger_append import append
from .publish import server_hlc

ASSIGNABLE = ("open", "assigned", "accepted")


# --- writing versions ------------------------------------------------------


def index_row(state: dict, *, community: str, at: str, zone: str) -> dict:
    """The ``cases`` index row of a case state (``day``: its local day of receipt in
    the rules' time zone ``zone``, what the 办结率 tally counts by)."""
    f = state["fields"]
    hours = None
    if f.get("status") == "closed" and f.get("closed_at") and f.get("created_at"):
        hours = (times.parse_ms(f["closed_at"]) - times.parse_ms(f["created_at"])) // 3_600_000
    return {"id": state["id"], "grid": f["grid"], "community": community, "kind": f["kind"],
            "category": f["category"], "status": f["status"], "assignee": f.get("assignee"),
            "difficulty": f.get("difficulty") or 1, "rating": f.get("rating"),
            "points": f.get("points"), "created_at": f["created_at"], "due_at": f.get("due_at"),
            "done_at": f.get("done_at"), "closed_at": f.get("closed_at"),
            "hours_to_close": hours, "updated_at": at,
            "day": local_day(f["created_at"], zone)}


def community_of(store: Storage, grid: str) -> str:
    row = store.directory.grid(grid)
    if row is None:
        raise NotFound("no such grid")
    return row["community"]


def write_server_version(store: Storage, state: dict | None, updates: dict, *, case_id: str,
                         by: str | None, step: str | None, at: str) -> dict:
    """A version made by the server (an admin's or a resident's step, a public
    report): the changed fields stamped ``server``. Inside a transaction."""
    if state is None:
        state = {"collection": "cases", "id": case_id, "version": 0, "deleted": False,
                 "fields": {}, "meta": {}}
        updates = {**updates, "deleted": False}
    last = max((m["hlc"] for m in state["meta"].values()), default=None)
    version = state["version"] + 1
    meta = {"hlc": server_hlc(last), "version": version, "op": "server", "device": "server"}
    fields = dict(state["fields"])
    new_meta = dict(state["meta"])
    for name, value in updates.items():
        if name != "deleted":
            fields[name] = value
        new_meta[name] = dict(meta)
    new = {**state, "version": version, "fields": fields, "meta": new_meta}
    store_versions(store, [(new, step, by, None)], at=at)
    old = state["fields"].get("assignee")
    if old and old != fields.get("assignee"):  # their devices drop it unless still visible
        store.records.add_exit(seq=store.records.last_seq() + 1, collection="cases",
                               id=case_id, grid=f"@{old}", at=at)
    return new


def store_versions(store: Storage, versions: list[tuple[dict, str | None, str | None,
                                                        str | None]], *, at: str) -> None:
    """Write case versions: (state, step status or None, by, op). Each takes the next
    seq; the index and the history follow in the same transaction."""
    seq = store.records.last_seq()
    zone = community_zone(store)
    communities: dict[str, str] = {}
    rows, index, steps = [], [], []
    for n, (state, step, by, op) in enumerate(versions, 1):
        grid = state["fields"]["grid"]
        if grid not in communities:
            communities[grid] = community_of(store, grid)
        rows.append(RecordWrite(state, seq + n,
                                Placement(grid=grid, person=state["fields"].get("assignee")), at))
        index.append(index_row(state, community=communities[grid], at=at, zone=zone))
        if step is not None:
            steps.append((state["id"], step, by, at, op))
    store.records.put_many(rows)
    store.cases.index(index)
    store.cases.add_steps(steps)


def current(store: Storage, case_id: str) -> dict:
    found = store.records.get("cases", case_id)
    if found is None:
        raise NotFound("no such case")
    return found.state


# --- earning ----------------------------------------------------------------


def case_price(rules: dict, fields: dict) -> Any:
    """What closing a case earns a volunteer assignee under ``rules``: the points of its
    difficulty (``case_points``, 0 where none are set); no daily cap. ``gridsync ledger
    verify`` reprices every case earn with it (evidence_audit)."""
    return (rules.get("case_points") or {}).get(str(fields.get("difficulty") or 1), 0)


def earn_on_close(store: Storage, signer: Signer, state: dict) -> int:
    """Points for a case that has just become ``closed``: a volunteer assignee earns
    ``case_points[difficulty]`` under the rules in force now, once, with the op that
    set ``done`` as evidence. Returns the points (0: no entry). Inside the step's
    transaction."""
    f = state["fields"]
    assignee = f.get("assignee")
    person = store.directory.person(assignee) if assignee else None
    found = store.directory.rules()
    if person is None or person["role"] != "volunteer" or found is None:
        return 0
    rules, digest = found
    points = case_price(rules, f)
    if points <= 0:
        return 0
    evidence = (state["meta"].get("done_at") or {}).get("op")
    append(store, signer, kind="earn", debit=names.issuance(community_of(store, f["grid"])),
           credit=names.volunteer(assignee), amount=points, ref=names.case(state["id"]),
           evidence=evidence, rules=digest)
    return int(points)


def close(store: Storage, signer: Signer, state: dict, values: dict, *, by: str | None,
          at: str) -> dict:
    """The resident's rating: ``done`` → ``closed`` (earning in the same transaction)."""
    updates = step_updates("closed", values, at=at)
    closed = {**state, "fields": {**state["fields"], **updates}}
    updates["points"] = earn_on_close(store, signer, closed)
    return write_server_version(store, state, updates, case_id=state["id"], by=by,
                                step="closed", at=at)


# --- the office's steps ----------------------------------------------------------


def assign(store: Storage, case_id: str, data: dict, *, by: str, scope: AdminScope) -> dict:
    """派单: to a worker or volunteer whose grids hold the case's grid; on an
    ``assigned`` or ``accepted`` case it reassigns (back to ``assigned``)."""
    with store.transaction():
        state = scope.visible_case(store, case_id)
        f = state["fields"]
        if f["status"] not in ASSIGNABLE:
            raise InvalidState(f"a {f['status']} case cannot be assigned")
        person = store.directory.person(data["assignee"])
        if (person is None or person["role"] not in ("worker", "volunteer")
                or not person["active"]
                or f["grid"] not in store.directory.descendants(person["grids"])):
            raise ValidationFailed(
                "the assignee must be an active worker or volunteer holding the case's grid",
                fields={"assignee": ["not a worker or volunteer of this grid"]})
        at = clock.iso()
        values = {"assignee": data["assignee"],
                  **{k: data[k] for k in ("difficulty", "due_at") if k in data}}
        new = write_server_version(store, state, step_updates("assigned", values, at=at),
                                   case_id=case_id, by=by, step="assigned", at=at)
        return detail_of(store, new)


def cancel(store: Storage, case_id: str, reason: str, *, by: str, scope: AdminScope) -> dict:
    with store.transaction():
        state = scope.visible_case(store, case_id)
        status = state["fields"]["status"]
        if status in ("closed", "cancelled"):
            raise InvalidState(f"a {status} case cannot be cancelled")
        at = clock.iso()
        new = write_server_version(
            store, state, step_updates("cancelled", {"resolution": reason}, at=at),
            case_id=case_id, by=by, step="cancelled", at=at)
        return detail_of(store, new)


# --- reading ------------------------------------------------------------------


def view(state: dict, *, redact: bool = False) -> dict:
    """A case as pulled (``sync.merge.record_view``), reporter details removed
    when ``redact`` (``sync.cases.without_reporter``, as a pull does)."""
    out = record_view(state)
    if redact:
        out["fields"] = without_reporter(out["fields"])
    return out


def detail_of(store: Storage, state: dict, *, redact: bool = False) -> dict:
    return {**view(state, redact=redact), "history": store.cases.history(state["id"])}


def visibility(store: Storage, state: dict, *, person: str, role: str) -> str | None:
    """How a person's devices see a case: "full", "redacted" (a volunteer seeing a
    wish of their grids not assigned to them) or None (not at all)."""
    f = state["fields"]
    if role == "admin":
        return "full" if admin_scope(store, person).grid(f["grid"]) else None
    if role not in ("worker", "volunteer"):
        return None
    row = store.directory.person(person)
    grids = store.directory.descendants(row["grids"]) if row else set()
    if not sees(f, Actor(person=person, role=role, in_grid=f["grid"] in grids)):
        return None
    return "redacted" if role == "volunteer" and f.get("assignee") != person else "full"


def detail(store: Storage, case_id: str, *, person: str, role: str) -> dict:
    with store.snapshot():
        found = store.records.get("cases", case_id)
        state = found.state if found else None
        seen = None if state is None else visibility(store, state, person=person, role=role)
        if state is None or seen is None:
            raise NotFound("no such case")
        return detail_of(store, state, redact=seen == "redacted")


def list_cases(store: Storage, *, grid: str | None, status: str | None, kind: str | None,
               after: int, limit: int, scope: AdminScope) -> dict[str, Any]:
    with store.snapshot():
        try:
            grids = scope.under(store, grid)
        except NotFound:  # unknown, or another community's: the same answer
            raise ValidationFailed(fields={"grid": ["no such grid"]}) from None
        page = store.cases.page(grids=grids, status=status, kind=kind, after=after,
                                limit=limit + 1)
        cases = [view(current(store, id)) for _, id in page[:limit]]
        nxt = page[limit - 1][0] if len(page) > limit else None
    return {"cases": cases, "next": nxt}
