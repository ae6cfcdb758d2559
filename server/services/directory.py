"""Administration: grids, shops, people, cards, catalog, rules, enrolment codes."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from zoneinfo import available_timezones

from flask import current_app

from ledger import LedgerError, local_date, rules_hash

from .. import cards, clock, secrets_
from ..auth import Principal
from ..config import settings
from ..errors import Forbidden, IdReused, NotFound, ValidationFailed
from ..keystore import SecretMissing, load_secret
from ..storage import Conflict, Storage
from . import publish
from .admin_scope import AdminScope, admin_scope

GRID_ROLES = ("worker", "volunteer")


def create_grid(store: Storage, data: dict, scope: AdminScope) -> dict:
    """A grid under a parent (a scoped admin: under their communities only), or a new
    community (no parent: district-wide admins only)."""
    with store.transaction():
        if data["parent"] is None:
            scope.require_district("creates a community")
        elif not scope.grid(data["parent"]) or store.directory.grid(data["parent"]) is None:
            raise ValidationFailed(fields={"parent": ["no such grid"]})
        if store.directory.grid(data["id"]) is not None:  # reused whatever the body says
            raise IdReused(f"grid {data['id']!r} already exists")
        _name_free(store, data["parent"], data["name"])
        try:
            return store.directory.add_grid(at=clock.iso(), **data)
        except Conflict:
            raise IdReused(f"grid {data['id']!r} already exists") from None


def rename_grid(store: Storage, grid_id: str, name: str, scope: AdminScope) -> dict:
    """A grid's new name (its id never changes): an admin within the grid's community."""
    with store.transaction():
        grid = scope.visible_grid(store, grid_id)
        _name_free(store, grid["parent"], name, besides=grid_id)
        store.directory.rename_grid(grid_id, name)
        return store.directory.grid(grid_id)  # type: ignore[return-value]


def _name_free(store: Storage, parent: str | None, name: str, besides: str = "") -> None:
    """Grids under one parent (communities: under none) have different names, or no one
    could tell them apart on a page, a poster or an Excel sheet."""
    if store.directory.sibling_named(parent, name, besides=besides):
        raise ValidationFailed(fields={"name": ["a grid in the same place has this name"]})


def create_shop(store: Storage, data: dict, scope: AdminScope) -> dict:
    with store.transaction():
        grid = store.directory.grid(data["community"])
        if grid is None or grid["parent"] is not None or not scope.community(grid["id"]):
            raise ValidationFailed(
                fields={"community": ["must be a community (a grid with no parent)"]})
        try:
            return store.directory.add_shop(at=clock.iso(), **data)
        except Conflict:
            raise IdReused(f"shop {data['id']!r} already exists") from None


def _community_of(store: Storage, grids: list[str], role: str) -> str | None:
    """The one community the grids lie in; validation error otherwise. An administrator's
    grids may lie in several communities (a scoped admin of each; their ``community``
    is then None)."""
    communities = set()
    for gid in grids:
        grid = store.directory.grid(gid)
        if grid is None:
            raise ValidationFailed(fields={"grids": [f"no such grid {gid!r}"]})
        communities.add(grid["community"])
    if len(communities) > 1 and role == "admin":
        return None
    if len(communities) > 1:
        raise ValidationFailed(fields={"grids": ["a person's grids must lie in one community"]})
    if role in GRID_ROLES and not grids:
        raise ValidationFailed(fields={"grids": [f"a {role} needs at least one grid"]})
    return communities.pop() if communities else None


def create_person(store: Storage, data: dict, scope: AdminScope) -> dict:
    """A new person; a scoped admin makes only workers, volunteers and shop staff of
    their communities (``AdminScope.check_grant``)."""
    grids = sorted(set(data["grids"]))
    with store.transaction():
        community = new_person_community(store, data, scope)
        try:
            person = store.directory.add_person(
                id=data["id"], name=data["name"], role=data["role"], grids=grids,
                shop=data.get("shop"), community=community, at=clock.iso())
        except Conflict:
            raise IdReused(f"person {data['id']!r} already exists") from None
        publish.person(store, person)
        return person


def new_person_community(store: Storage, data: dict, scope: AdminScope) -> str | None:
    """The community of a new person ``data`` (a loaded ``PersonIn``) after every check a
    create makes: Forbidden or ValidationFailed otherwise. The roster import's dry run
    asks the same, so it lists what the write would refuse."""
    grids = sorted(set(data["grids"]))
    shop = data.get("shop")
    row = store.directory.shop(shop) if shop is not None else None
    scope.check_grant(data["role"], grids, row)
    community = _community_of(store, grids, data["role"])
    if shop is not None:
        if row is None:
            raise ValidationFailed(fields={"shop": ["no such shop"]})
        if community is not None and community != row["community"]:
            raise ValidationFailed(fields={"grids": ["must lie in the shop's community"]})
        community = row["community"]
    return community


def new_grids_community(store: Storage, person: dict, grids: list[str],
                        scope: AdminScope) -> str | None:
    """The community ``person`` would have with ``grids`` after every check a PATCH of
    their grids makes (as ``new_person_community``)."""
    scope.check_grant(person["role"], grids, None)
    community = _community_of(store, grids, person["role"])
    if person["role"] == "shop" and community not in (None, person["community"]):
        raise ValidationFailed(fields={"grids": ["must lie in the shop's community"]})
    return community


def patch_person(store: Storage, person_id: str, data: dict, scope: AdminScope) -> dict:
    """Rename, move between grids, (de)activate: a person this admin manages."""
    with store.transaction():
        person = scope.managed_person(store, person_id)
        if "grids" in data:
            grids = sorted(set(data["grids"]))
            community = new_grids_community(store, person, grids, scope)
            store.directory.set_grids(person_id, grids)
            if person["role"] != "shop":
                store.directory.update_person(person_id, community=community)
        if (data.get("active") is False and person["role"] == "admin" and person["active"]
                and not any(p["role"] == "admin" and p["active"] and p["id"] != person_id
                            for p in store.directory.people())):
            raise ValidationFailed(fields={"active": ["cannot deactivate the last active admin"]})
        store.directory.update_person(
            person_id, **{k: data[k] for k in ("name", "active") if k in data})
        if data.get("active") is False:  # signed out of the web pages, links void
            store.web.delete_sessions_of(person_id)
            store.web.expire_links_of(person_id, clock.iso())
        updated = store.directory.person(person_id)
        publish.person(store, updated)  # type: ignore[arg-type]
        return updated  # type: ignore[return-value]


def issue_card(store: Storage, person_id: str, seal_key: bytes | None,
               scope: AdminScope) -> str:
    """A new card code for a volunteer (the old one stops working at once),
    stored hashed and, when the server secret is at hand, sealed so that the
    volunteer can see it again (server/cards.py)."""
    with store.transaction():
        person = scope.managed_person(store, person_id)
        if person["role"] != "volunteer":
            raise ValidationFailed("cards are for volunteers only",
                                   fields={"person": ["not a volunteer"]})
        card = cards.new_code()
        sealed = cards.seal(card, seal_key, person_id) if seal_key else None
        store.directory.set_card(person_id, cards.stored_hash(card), sealed)
        return card


def current_card(store: Storage, person_id: str, seal_key: bytes | None) -> dict:
    """``{"has_card": bool, "card": code or None}``: the volunteer's current card
    if it can be shown (None for a card issued before cards were sealed)."""
    with store.snapshot():
        card_hash = store.directory.card_hash(person_id)
        sealed = store.directory.card_sealed(person_id)
    code = cards.unseal(sealed, seal_key, person_id) if seal_key else None
    if code is not None and not cards.matches(code, card_hash):
        code = None  # sealed copy of an older card: never show a card that does not work
    return {"has_card": bool(card_hash), "card": code}


def card_seal_key() -> bytes | None:
    """The key sealing card codes, from this app's server secret (None without one)."""
    ext = current_app.extensions
    if "gridsync.card_key" not in ext:
        try:
            ext["gridsync.card_key"] = cards.seal_key(load_secret(settings().data_dir))
        except SecretMissing:
            ext["gridsync.card_key"] = None
    return ext["gridsync.card_key"]


def create_enrollment(store: Storage, person_id: str, ttl_hours: int,
                      scope: AdminScope) -> dict:
    with store.transaction():
        person = store.directory.person(person_id)
        if person is None or not scope.person(person):  # another community's: as unknown
            raise ValidationFailed(fields={"person": ["no such person"]})
        if person["role"] in ("admin", "auditor"):
            raise ValidationFailed(
                "admins and auditors get tokens with `gridsync token issue`",
                fields={"person": ["admins and auditors do not enrol devices"]})
        if not person["active"]:
            raise ValidationFailed(fields={"person": ["person is inactive"]})
        code = secrets_.new_enrollment_code()
        now = clock.now_ms()
        expires = clock.iso(now + int(timedelta(hours=ttl_hours).total_seconds() * 1000))
        store.access.add_enrollment(code_hash=secrets_.digest(code), person=person_id,
                                    at=clock.iso(now), expires_at=expires)
        return {"code": code, "expires_at": expires}


def may_manage_catalog(who: Principal, shop: str) -> bool:
    """Admins manage every shop's catalog and stock; a shop's staff their own."""
    return who.role == "admin" or (who.role == "shop" and who.shop == shop)


def _catalog_shop(store: Storage, who: Principal, shop: str) -> None:
    if not may_manage_catalog(who, shop):
        raise Forbidden("only admins and this shop's staff manage its catalog")
    if who.role == "admin":  # an admin of another community: as if there were no such shop
        admin_scope(store, who.person).visible_shop(store, shop)
    elif store.directory.shop(shop) is None:
        raise NotFound("no such shop")


def put_catalog_item(store: Storage, who: Principal, shop: str, sku: str, data: dict) -> dict:
    with store.transaction():
        _catalog_shop(store, who, shop)
        return store.directory.put_item(shop=shop, sku=sku, at=clock.iso(), **data)


def receive_stock(store: Storage, who: Principal, shop: str, sku: str, qty: int) -> dict:
    """A delivery: ``qty`` more of an item in stock."""
    with store.transaction():
        _catalog_shop(store, who, shop)
        if not store.directory.add_stock(shop, sku, qty, clock.iso()):
            raise NotFound("no such item")
        return store.directory.item(shop, sku)  # type: ignore[return-value]


def remove_catalog_item(store: Storage, who: Principal, shop: str, sku: str) -> None:
    """Take an item off the catalog (its past redemptions keep their lines)."""
    with store.transaction():
        _catalog_shop(store, who, shop)
        if not store.directory.remove_item(shop, sku):
            raise NotFound("no such item")


def new_sku(store: Storage, shop: str) -> str:
    """A free item code for a new item: ``item-0001``, ``item-0002``, …"""
    taken = {item["sku"] for item in store.directory.catalog(shop)}
    n = len(taken) + 1
    while f"item-{n:04d}" in taken:
        n += 1
    return f"item-{n:04d}"


@cache
def _named_zones() -> frozenset[str]:
    """IANA zone names this machine knows, without the files that are not zones of a
    place: ``localtime`` (whatever this server's clock is set to, so the points a day
    would follow the machine) and ``Factory``."""
    return frozenset(available_timezones() - {"localtime", "Factory"})


def put_rules(store: Storage, data: dict) -> dict:
    try:
        local_date("2026-01-01T00:00:00Z", data["timezone"])  # a zone this gridsync can use
    except LedgerError:
        raise ValidationFailed(fields={"timezone": ["unknown time zone"]}) from None
    zones = _named_zones()  # empty without a zone database: Asia/Shanghai, fixed, only
    if zones and data["timezone"] not in zones:
        raise ValidationFailed(fields={"timezone": ["unknown time zone"]})
    digest = rules_hash(data)
    with store.transaction():
        store.directory.put_rules(data, digest, clock.iso())
    return {**data, "hash": digest}


def current_rules(store: Storage) -> dict | None:
    found = store.directory.rules()
    if found is None:
        return None
    body, digest = found
    return {**body, "hash": digest}
