"""What a device may see and write: its person's grids, expanded.

A worker's scope: every grid under the grids they hold (``grids``), the
people whose grids meet those (``people``: their person records and
service logs), and their own visits (``author``), hence every case of those
grids. A volunteer's scope: their own person record and service logs, the
``wish`` cases of the grids under theirs (``wish_grids``; reporter details
left out, ``redact``) and the cases assigned to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...auth import Principal
from ...storage import Storage


@dataclass(frozen=True)
class Scope:
    person: str
    role: str
    own_grids: tuple[str, ...]
    grids: frozenset[str]
    people: frozenset[str]
    meeting: frozenset[str] = frozenset()  # grids and the grids above them
    wish_grids: frozenset[str] = frozenset()  # a volunteer's grids, for wishes

    @property
    def author(self) -> str:
        return self.person if self.role == "worker" else ""

    def query_args(self) -> dict:
        return {"grids": sorted(self.grids), "people": sorted(self.people), "author": self.author,
                "me": self.person, "wish_grids": sorted(self.wish_grids),
                "redact": int(self.role != "worker")}


def scope_for(store: Storage, person: str, role: str, own_grids: list[str]) -> Scope:
    """The scope ``person`` had, or would have, holding ``own_grids``."""
    if role != "worker":
        wishes = store.directory.descendants(own_grids) if role == "volunteer" else set()
        return _scope(person, role, own_grids, wishes, set(), set())
    grids = store.directory.descendants(own_grids)
    meeting = grids | store.directory.ancestors(own_grids)
    return _scope(person, role, own_grids, grids, meeting,
                  store.directory.people_in_grids(meeting))


def device_scope(store: Storage, who: Principal) -> Scope:
    """The device's person's scope now, from the grids they hold: one query
    (``DirectoryPart.reach``), read on every sync."""
    reach = store.directory.reach(who.person)
    return _scope(who.person, who.role, reach.own, reach.below, reach.below | reach.above,
                  reach.people)


def _scope(person: str, role: str, own_grids: list[str], below: set[str], meeting: set[str],
           people: set[str]) -> Scope:
    """``below``: the grids under ``own_grids`` (theirs included); ``meeting``: those and
    the grids above; ``people``: who holds any of ``meeting``."""
    own = tuple(sorted(own_grids))
    if role != "worker":  # a volunteer's wishes come from the grids under theirs
        wishes = below if role == "volunteer" else set()
        return Scope(person, role, own, frozenset(), frozenset({person}),
                     wish_grids=frozenset(wishes))
    return Scope(person, role, own, frozenset(below), frozenset(people), frozenset(meeting))
