"""Cases in a sync push: the server's side of ``sync.cases.apply_change``.

``CaseSync`` answers what needs the database (who the sender is for this
case's grid, whether the category and household exist), pays the points when
a step closes a case (in the push's transaction, like a verified log), and
buffers the case index rows and history steps that ``flush`` writes with the
push's records.
"""

from __future__ import annotations

from collections.abc import Callable

from sync.cases import Actor, apply_change, step_target
from sync.errors import ChangeRejected
from sync.merge import MergeResult

from ...keystore import Signer
from ...storage import Storage
from ...storage.records import Placement
from ..cases import community_of, earn_on_close, index_row
from ..community_time import community_zone


class CaseSync:
    def __init__(self, store: Storage, signer: Signer, *, person: str, role: str,
                 own_grids: tuple[str, ...], now: str,
                 state_of: Callable[[str, str], dict | None]):
        """``state_of(collection, id)``: a record's state as this push sees it (with the
        push's earlier changes: a household added in the same push is there)."""
        self.store, self.signer, self.state_of = store, signer, state_of
        self.person, self.role, self.now = person, role, now
        self.grids = store.directory.descendants(list(own_grids))
        self.pending: dict[str, tuple[dict, str | None]] = {}
        self.steps: list[tuple[str, str, str | None, str, str | None]] = []
        self.left: list[tuple[str, str]] = []  # (case, former assignee)
        self._categories: dict[str, str] | None = None

    def apply(self, change: dict, state: dict | None, *, device_id: str) -> MergeResult:
        """The case's merge result; raises ChangeRejected (nothing changed)."""
        grid = state["fields"]["grid"] if state else change["fields"].get("grid")
        actor = Actor(person=self.person, role=self.role, in_grid=grid in self.grids)
        result = apply_change(state, change, device_id=device_id, actor=actor, at=self.now)
        self._check_refs(change["fields"], grid)
        new = result.state
        target = step_target(change["fields"])
        if target == "closed":
            new["fields"]["points"] = earn_on_close(self.store, self.signer, new)
            new["meta"]["points"] = dict(new["meta"]["status"])
        step = "open" if state is None else target
        if step is not None:
            self.steps.append((new["id"], step, self.person, self.now, change["op"]))
        old = state["fields"].get("assignee") if state else None
        if old and old != new["fields"].get("assignee"):
            self.left.append((new["id"], old))
        self.pending[new["id"]] = (new, grid)
        return result

    def _check_refs(self, values: dict, grid: str | None) -> None:
        """Category in the rules, household in the case's grid (after the pure checks,
        so a sender who may not change the case learns nothing from the answer)."""
        if "category" in values and values["category"] not in self._rules_categories():
            raise ChangeRejected("validation", "category is not in the rules",
                                 {"fields": {"category": ["Not in the current rules."]}})
        household = values.get("household")
        if household is not None:
            found = self.state_of("households", household)
            if found is None or found["deleted"] or found["fields"].get("grid") not in \
                    self.store.directory.descendants([grid] if grid else []):
                raise ChangeRejected("validation", "household is not in the case's grid",
                                     {"fields": {"household": ["Not a household of the grid."]}})

    def _rules_categories(self) -> dict[str, str]:
        if self._categories is None:
            found = self.store.directory.rules()
            self._categories = dict((found[0].get("case_categories") or {}) if found else {})
        return self._categories

    def placement(self, state: dict) -> Placement:
        """Where a case sits for pull: its grid and its assignee."""
        return Placement(grid=state["fields"]["grid"], person=state["fields"].get("assignee"))

    def flush(self) -> None:
        """Index rows and history of the cases this push changed (inside its
        transaction, after the records are written)."""
        communities: dict[str, str] = {}
        zone = community_zone(self.store)
        rows = []
        for state, grid in self.pending.values():
            if grid not in communities:
                communities[grid] = community_of(self.store, grid)  # type: ignore[arg-type, index]
            rows.append(index_row(state, community=communities[grid], at=self.now, zone=zone))  # type: ignore[index]
        self.store.cases.index(rows)
        self.store.cases.add_steps(self.steps)
        for case, person in self.left:  # their devices drop it unless they still see it
            self.store.records.add_exit(seq=self.store.records.last_seq() + 1,
                                        collection="cases", id=case, grid=assignee_mark(person),
                                        at=self.now)


def assignee_mark(person: str) -> str:
    """The ``scope_exits.grid`` value naming a person's cases rather than a grid."""
    return f"@{person}"
