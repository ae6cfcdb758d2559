"""Which communities an administrator may touch: the one rule of scoped administrators.

An admin whose grids lie in one or more communities (a community is a grid with no
parent) is *scoped* to those communities; an admin with no grid (the bootstrapped
``admin``, and every admin made before scopes existed) is *district-wide* and may do
everything, as docs/protocol.md has always said. Every admin route of the API and
every console page asks ``admin_scope(store, person)`` once and then this object,
never its own copy of the rule:

- a person is within reach when every community they belong to (their grids', or
  their shop's) is one of the scope's, and they belong to at least one: people of
  another community, district-wide admins and auditors without grids are not;
- a scoped admin *manages* (creates, edits, (de)activates, signs in, enrols) only
  workers, volunteers and shop staff; administrators and auditors are managed by a
  district-wide admin (no privilege escalation: a scoped admin cannot make an admin,
  widen anyone's grids past their communities, or empty an admin's grids, which would
  make them district-wide);
- anything out of reach is answered exactly as an unknown id (404 ``not_found``, or
  the "no such …" field error a create answers for an unknown grid or shop), so ids of
  other communities cannot be probed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import Forbidden, NotFound, ValidationFailed
from ..storage import Storage

MANAGED_ROLES = ("worker", "volunteer", "shop")
"""The roles a scoped admin may create and change (within their communities)."""


@dataclass(frozen=True)
class AdminScope:
    """``communities`` None: district-wide. ``grid_community``: grid id → its community
    (every grid of the district; only loaded for a scoped admin)."""

    communities: frozenset[str] | None
    grid_community: dict[str, str] = field(default_factory=dict)

    @property
    def district(self) -> bool:
        return self.communities is None

    # --- places --------------------------------------------------------------
    def community(self, community: str | None) -> bool:
        return self.communities is None or community in self.communities

    def grid(self, grid_id: str | None) -> bool:
        """A grid (or community) that lies in one of the scope's communities."""
        if self.communities is None:
            return True
        return grid_id is not None and self.grid_community.get(grid_id) in self.communities

    def grids(self, rows: Iterable[dict]) -> list[dict]:
        """The grid rows (``id`` keys) within reach."""
        return [row for row in rows if self.grid(row["id"])]

    def shop(self, shop: dict | None) -> bool:
        return shop is not None and self.community(shop["community"])

    def shops(self, rows: Iterable[dict]) -> list[dict]:
        return [row for row in rows if self.shop(row)]

    def grid_ids(self) -> set[str] | None:
        """Every grid within reach (None: all of them)."""
        if self.communities is None:
            return None
        return {g for g, c in self.grid_community.items() if c in self.communities}

    # --- people --------------------------------------------------------------
    def person_communities(self, person: dict) -> set[str]:
        found = {self.grid_community.get(g) for g in person["grids"]}
        found.add(person["community"])
        found.discard(None)
        return found  # type: ignore[return-value]

    def person(self, person: dict | None) -> bool:
        """May this admin see this person (read, list)?"""
        if person is None:
            return False
        if self.communities is None:
            return True
        belongs = self.person_communities(person)
        return bool(belongs) and belongs <= self.communities

    def people(self, rows: Iterable[dict]) -> list[dict]:
        return [row for row in rows if self.person(row)]

    def manages(self, person: dict) -> bool:
        """May this admin change this person (edit, sign-ins, enrolment codes, cards)?"""
        return self.person(person) and (self.district or person["role"] in MANAGED_ROLES)

    def visible_person(self, store: Storage, person_id: str) -> dict:
        """The person, or NotFound when unknown or out of reach (the same answer)."""
        person = store.directory.person(person_id)
        if not self.person(person):
            raise NotFound("no such person")
        return person  # type: ignore[return-value]

    def managed_person(self, store: Storage, person_id: str) -> dict:
        """The person this admin may change: NotFound out of reach, Forbidden for an
        administrator or auditor of their community (a district-wide admin's job)."""
        person = self.visible_person(store, person_id)
        if not self.manages(person):
            raise Forbidden("only a district-wide administrator manages administrators "
                            "and auditors")
        return person

    def check_grant(self, role: str, grids: list[str], shop: dict | None) -> None:
        """Refuse a person (new, or given new grids) this admin may not make: a role
        they do not manage, a grid or shop out of reach (answered as an unknown one)."""
        if self.communities is None:
            return
        if role not in MANAGED_ROLES:
            raise Forbidden("only a district-wide administrator creates administrators "
                            "and auditors or changes their grids")
        for gid in grids:
            if not self.grid(gid):
                raise ValidationFailed(fields={"grids": [f"no such grid {gid!r}"]})
        if shop is not None and not self.shop(shop):
            raise ValidationFailed(fields={"shop": ["no such shop"]})

    # --- objects of a community ----------------------------------------------
    def visible_grid(self, store: Storage, grid_id: str) -> dict:
        grid = store.directory.grid(grid_id)
        if grid is None or not self.community(grid["community"]):
            raise NotFound("no such grid")
        return grid

    def under(self, store: Storage, grid: str | None) -> list[str] | None:
        """The grids a list filtered by ``grid`` covers (the grid and those under it),
        or every grid within reach when ``grid`` is None (None: no filter at all);
        NotFound for a grid that is unknown or out of reach."""
        if grid is None:
            ids = self.grid_ids()
            return None if ids is None else sorted(ids)
        self.visible_grid(store, grid)
        return sorted(store.directory.descendants([grid]))

    def visible_case(self, store: Storage, case_id: str) -> dict:
        """A case's current state (its grid within reach), else NotFound."""
        found = store.records.get("cases", case_id)
        if found is None or not self.grid(found.state["fields"]["grid"]):
            raise NotFound("no such case")
        return found.state

    def record(self, store: Storage, collection: str, record_id: str) -> bool:
        """A synced record within reach: by the grid it sits in (households, visits,
        cases), else by the person it belongs to (service logs: their volunteer)."""
        if self.communities is None:
            return True
        found = store.records.get(collection, record_id)
        if found is None:
            return False
        if found.place.grid is not None:
            return self.grid(found.place.grid)
        return (found.place.person is not None
                and self.person(store.directory.person(found.place.person)))

    def conflicts(self, store: Storage, rows: Iterable[dict]) -> list[dict]:
        return [c for c in rows if self.record(store, c["collection"], c["record"])]

    def visible_shop(self, store: Storage, shop_id: str) -> dict:
        shop = store.directory.shop(shop_id)
        if not self.shop(shop):
            raise NotFound("no such shop")
        return shop  # type: ignore[return-value]

    def require_district(self, what: str) -> None:
        """Things of the whole district (earning rules, a new community)."""
        if self.communities is not None:
            raise Forbidden(f"only a district-wide administrator {what}")


DISTRICT = AdminScope(None)


def admin_scope(store: Storage, person_id: str) -> AdminScope:
    """The scope of an administrator: district-wide when they hold no grid."""
    person = store.directory.person(person_id)
    if person is None or not person["grids"]:
        return DISTRICT
    grid_community = {g["id"]: g["community"] for g in store.directory.grids()}
    communities = frozenset(grid_community[g] for g in person["grids"] if g in grid_community)
    return AdminScope(communities, grid_community)
