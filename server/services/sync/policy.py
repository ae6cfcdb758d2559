"""Who may write what: the permission rules of a push, as pure functions.

``authorize(change, state, scope, lookups)`` returns if the device's person
may make ``change`` to a record whose stored state is ``state`` (None for a
new record), and raises ``ChangeRejected`` (``forbidden``,
``unknown_record`` or ``validation``) otherwise. It reads nothing but its
arguments: ``lookups`` answers the few questions a rule asks about other
records and people, so a test calls it with a dict-backed ``Lookups`` and no
database (tests/server/test_sync_policy.py).

Adding a collection (docs/design.md, "Where things go"): write one rule
function ``(w: Write) -> None`` and register it with ``@rule("name",
writers=(...roles...))``. A role rule (who of a role may do what) goes in
the collection's rule, or in its ``writers`` when it is about the whole
collection; a step rule (status transitions, four eyes) beside
``four_eyes``, or in ``sync.cases`` for a collection whose steps are merged
(cases).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sync.cases import CASE_CONFIRMERS, CASE_OPENERS
from sync.errors import ChangeRejected
from sync.merge import status_change

from ...storage.records import Placement
from .scope import Scope

PRICED = ("volunteer", "activity", "started_at", "minutes")
"""Service log fields that set its points: whoever wrote one may not verify it."""
VERIFIERS = ("worker",)
"""The roles whose devices verify or reject a service log (four eyes)."""


class WriterLookups(Protocol):
    """What the four-eyes rule asks: who wrote a value (``barred_verifiers``)."""

    def device_person(self, device_id: str) -> str | None:
        """The person a device belongs to, or None."""

    def kept_loser_device(self, conflict_id: int) -> str | None:
        """The device whose losing change an admin kept when resolving this conflict
        (None if there is no such conflict)."""


class Lookups(WriterLookups, Protocol):
    """What a rule may ask beyond the change, its record and the scope.

    ``record`` and ``placement`` see this request's earlier changes too (a
    visit to a household created in the same push).
    """

    def record(self, collection: str, id: str) -> dict | None:
        """The record's current state (``fields``, ``meta``), or None."""

    def placement(self, collection: str, id: str) -> Placement:
        """Where a stored record sits: its scope columns (grid, person, author)."""

    def person(self, person_id: str) -> dict | None:
        """The directory row of a person (``role``, ``grids``...), or None."""

    def activity_known(self, activity: str) -> bool:
        """Whether the current earning rules price ``activity``."""


@dataclass(frozen=True)
class Write:
    """One change as a rule sees it."""

    change: dict[str, Any]
    state: dict[str, Any] | None
    scope: Scope
    lookups: Lookups

    @property
    def collection(self) -> str:
        return self.change["collection"]

    @property
    def fields(self) -> dict[str, Any]:
        return self.change["fields"]

    @property
    def person(self) -> str:
        return self.scope.person


Rule = Callable[[Write], None]
RULES: dict[str, Rule] = {}
"""Each collection's rule; a collection without one cannot be written."""
WRITERS: dict[str, tuple[str, ...]] = {}
"""The roles whose devices may write each collection at all."""


def rule(collection: str, *, writers: tuple[str, ...]) -> Callable[[Rule], Rule]:
    """Register ``collection``'s rule and the roles that may write it."""

    def register(fn: Rule) -> Rule:
        RULES[collection] = fn
        WRITERS[collection] = writers
        return fn

    return register


def authorize(change: dict[str, Any], state: dict[str, Any] | None, scope: Scope,
              lookups: Lookups) -> None:
    """Return if ``scope``'s person may make ``change``; raise ChangeRejected if not."""
    collection = change["collection"]
    writers = WRITERS.get(collection, ())
    if scope.role not in writers:
        who = " and ".join(f"{role}s" for role in writers) or "nobody"
        raise ChangeRejected("forbidden", f"only {who} write {collection}")
    RULES[collection](Write(change, state, scope, lookups))


def abilities(role: str) -> list[str]:
    """What a device of ``role`` may do at all, read from the rules themselves so a
    field app hides what the server would refuse (``GET /me``'s ``may``): the
    collections it writes, and the steps only some writers take (``verify_logs``,
    ``open_cases``, ``confirm_cases``). Scope and four eyes still decide each change."""
    steps = {"verify_logs": VERIFIERS, "open_cases": CASE_OPENERS,
             "confirm_cases": CASE_CONFIRMERS}
    may = [name for name, roles in (*WRITERS.items(), *steps.items()) if role in roles]
    return sorted(may)


def forbidden(message: str) -> ChangeRejected:
    return ChangeRejected("forbidden", message)


# --- households ------------------------------------------------------------
@rule("households", writers=("worker",))
def households(w: Write) -> None:
    """A worker edits households in their grids; a move needs both grids."""
    if w.state is not None and w.state["fields"].get("grid") not in w.scope.grids:
        raise forbidden("household is outside your grids")
    if "grid" in w.fields and w.fields["grid"] not in w.scope.grids:
        raise forbidden("moving a household needs both grids")


# --- visits ----------------------------------------------------------------
@rule("visits", writers=("worker",))
def visits(w: Write) -> None:
    """A visit is written to a household in the worker's grids; once stored,
    its grid's workers and its author may touch it."""
    if w.state is not None:
        placed = w.lookups.placement(w.collection, w.change["id"])
        if placed.grid not in w.scope.grids and placed.author != w.person:
            raise forbidden("visit is outside your grids")
        return
    household = w.lookups.record("households", w.fields.get("household", ""))
    if household is None:
        raise ChangeRejected("unknown_record", "no such household")
    if household["fields"].get("grid") not in w.scope.grids:
        raise forbidden("household is outside your grids")


# --- service logs ----------------------------------------------------------
@rule("service_logs", writers=("volunteer", "worker"))
def service_logs(w: Write) -> None:
    """A log is about a volunteer in the writer's scope (a volunteer: only
    themselves), for an activity the rules price; its verification is four-eyed."""
    if w.state is None and w.change["base"] is not None:
        raise ChangeRejected("unknown_record", "base given for a log the server does not have")
    volunteer = w.state["fields"]["volunteer"] if w.state else w.fields.get("volunteer")
    if w.state is None:
        person = w.lookups.person(volunteer) if volunteer else None
        if person is None or person["role"] != "volunteer":
            raise ChangeRejected("validation", "no such volunteer",
                                 {"fields": {"volunteer": ["No such volunteer."]}})
    if "activity" in w.fields and not w.lookups.activity_known(w.fields["activity"]):
        raise ChangeRejected("validation", "activity is not in the earning rules",
                             {"fields": {"activity": ["Not in the current rules."]}})
    if volunteer not in w.scope.people:
        raise forbidden("volunteer is not in your grids")
    if w.state is not None and w.scope.role == "volunteer":
        volunteer_may_touch(w)
    if status_change(w.change) is not None and w.state is not None:
        four_eyes(w)


def volunteer_may_touch(w: Write) -> None:
    """A volunteer changes, deletes or brings back only a log they recorded themselves,
    and only while it is ``recorded``: never the minutes a worker recorded for them,
    which another worker would then verify unawares."""
    assert w.state is not None
    if w.state["fields"].get("recorded_by") != w.person:
        raise forbidden("a volunteer changes only logs they recorded")
    if w.state["fields"].get("status", "recorded") != "recorded":
        raise forbidden("a volunteer changes a log only while recorded")


def four_eyes(w: Write) -> None:
    """The verifier is a worker of the grid, and not one of ``barred_verifiers``."""
    assert w.state is not None
    if w.scope.role not in VERIFIERS:
        raise forbidden("only a worker of the grid verifies a log")
    if w.person in barred_verifiers(w.state, w.lookups):
        raise forbidden("four eyes: the verifier did not record or edit this log")


def barred_verifiers(state: dict[str, Any], lookups: WriterLookups) -> set[str | None]:
    """Who may not verify the log in ``state`` (four eyes): its volunteer, its recorder,
    and anyone whose change set a priced field's current value, directly or as the
    losing value an admin kept in conflict review. The push asks before verifying;
    ``gridsync ledger verify`` asks again of every earn's evidence (a status change
    sets status alone, so the log's priced fields are still those the verifier saw)."""
    barred = {state["fields"].get("volunteer"), state["fields"].get("recorded_by")}
    for field in PRICED:
        if field in state["meta"]:
            barred |= value_writers(state["meta"][field], lookups)
    return barred


def value_writers(meta: dict[str, Any], lookups: WriterLookups) -> set[str | None]:
    """Who wrote a field's current value. A value kept through conflict review is
    stamped by the server (op ``resolve:<conflict id>``, device ``server:<admin>``);
    its writer is the device whose change lost and was kept, named in that conflict."""
    writers = {lookups.device_person(meta["device"])}
    kind, _, conflict_id = str(meta.get("op", "")).partition(":")
    if kind == "resolve" and conflict_id.isdigit():
        loser = lookups.kept_loser_device(int(conflict_id))
        if loser is not None:
            writers.add(lookups.device_person(loser))
    return writers


# --- cases ----------------------------------------------------------------------
@rule("cases", writers=("volunteer", "worker"))
def cases(w: Write) -> None:
    """Nothing beyond the writers here: a case's step rules (who may take which
    step, from which status) are pure functions in ``sync.cases``, applied with
    the case's merge (``cases.CaseSync``) because each step is a merge."""
