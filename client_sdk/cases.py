"""Cases on a field device: open one (patrol, report taken at a door, wish), list
them, and take the status steps offline — claim a wish, accept, give back,
finish, confirm, cancel one you opened.

Each step is its own signed change with ``base`` the version last pulled;
steps taken one after another offline are sent in order, each rebased on the
version the previous one produced (``Syncer._rebase``). The step rules are
the server's own (``sync.cases``), checked here first so a mistake is caught
before it waits in the outbox; only the server knows the whole grid tree, so
grid membership is left to it.
"""

from __future__ import annotations

from typing import Any

from sync.cases import Actor, check_locked, check_step
from sync.collections import CASE_DEVICE_FIELDS
from sync.errors import ChangeRejected

from .client import FieldClient, public
from .errors import InvalidInput, UnknownRecord
from .ids import uuid7


def open_case(client: FieldClient, *, grid: str, kind: str, category: str, title: str,
              **optional: Any) -> dict[str, Any]:
    """A new case in ``grid`` (``detail``, ``household``, ``visit``, ``reporter_name``,
    ``reporter_phone``, ``due_at`` optional); returns the local record."""
    unknown = sorted(set(optional) - CASE_DEVICE_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown case field(s): {', '.join(unknown)}")
    if client.role != "worker":
        raise InvalidInput("only workers open cases")
    fields = {"grid": grid, "kind": kind, "category": category, "title": title,
              **{k: v for k, v in optional.items() if v is not None}}
    return client._record("cases", uuid7(client._wall()), fields, base=None, coalesce=False)


def cases(client: FieldClient, *, status: str | None = None, mine: bool = False
          ) -> list[dict[str, Any]]:
    return [public(r) for r in client.store.records("cases")
            if (status is None or r["fields"].get("status") == status)
            and (not mine or r["fields"].get("assignee") == client.person)]


def step(client: FieldClient, case_id: str, status: str, **fields: Any) -> dict[str, Any]:
    """Take a status step on a case this device holds (sync first if it is new)."""
    row = client.store.record("cases", case_id)
    if row is None:
        raise UnknownRecord(f"no case {case_id} on this device: sync first")
    if row["version"] == 0:
        raise InvalidInput(f"case {case_id} has not reached the server yet: sync first")
    values = {"status": status, **{k: v for k, v in fields.items() if v is not None}}
    actor = Actor(person=client.person, role=client.role, in_grid=True)
    try:
        check_locked(row["fields"])
        check_step(row["fields"], values, actor)
    except ChangeRejected as exc:
        raise InvalidInput(exc.message, exc.fields) from None
    return client._record("cases", case_id, values, base=row["version"], coalesce=False)


def claim(client: FieldClient, case_id: str) -> dict[str, Any]:
    """认领 a wish: assign it to yourself."""
    return step(client, case_id, "assigned", assignee=client.person)


def accept(client: FieldClient, case_id: str) -> dict[str, Any]:
    return step(client, case_id, "accepted")


def give_back(client: FieldClient, case_id: str) -> dict[str, Any]:
    """退回: it goes back to the office, unassigned."""
    return step(client, case_id, "open")


def done(client: FieldClient, case_id: str, resolution: str) -> dict[str, Any]:
    return step(client, case_id, "done", resolution=resolution)


def close(client: FieldClient, case_id: str, rating: int | None = None) -> dict[str, Any]:
    """Confirm a done case (a worker of the grid who is not its assignee)."""
    return step(client, case_id, "closed", rating=rating)


def cancel(client: FieldClient, case_id: str, reason: str | None = None) -> dict[str, Any]:
    """Cancel a case you opened, while it is still open."""
    return step(client, case_id, "cancelled", resolution=reason)
