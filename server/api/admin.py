"""Administration: grids, shops, catalog, rules (admin token unless noted)."""

from __future__ import annotations

from flask import g

from ..auth import require
from ..config import settings
from ..errors import Forbidden, NotFound
from ..fields import ID_PATTERN
from ..services import directory
from ..services.admin_scope import admin_scope
from ..state import storage
from . import schemas as s
from .blueprint import Blueprint

bp = Blueprint("admin", __name__, description="Grids, shops, catalog and rules")


@bp.route("/grids", methods=["POST"])
@require("admin")
@bp.arguments(s.GridIn)
@bp.response(201, s.GridOut)
def create_grid(data):
    """Create a grid; a grid with no parent is a community (district-wide admins only)."""
    store = storage()
    return directory.create_grid(store, data, admin_scope(store, g.who.person))


@bp.route("/grids", methods=["GET"])
@require("admin")
@bp.response(200, s.GridList)
def list_grids():
    store = storage()
    return {"grids": admin_scope(store, g.who.person).grids(store.directory.grids())}


@bp.route("/grids/<grid>", methods=["PATCH"])
@require("admin")
@bp.arguments(s.GridPatch)
@bp.response(200, s.GridOut)
def rename_grid(data, grid):
    """Rename a grid (its id stays): an admin whose scope holds the grid's community."""
    store = storage()
    return directory.rename_grid(store, grid, data["name"], admin_scope(store, g.who.person))


@bp.route("/shops", methods=["POST"])
@require("admin")
@bp.arguments(s.ShopIn)
@bp.response(201, s.ShopOut)
def create_shop(data):
    store = storage()
    return directory.create_shop(store, data, admin_scope(store, g.who.person))


@bp.route("/shops", methods=["GET"])
@require("admin")
@bp.response(200, s.ShopList)
def list_shops():
    store = storage()
    return {"shops": admin_scope(store, g.who.person).shops(store.directory.shops())}


@bp.route("/shops/<shop>/catalog/<sku>", methods=["PUT"])
@require("admin", "shop")
@bp.arguments(s.CatalogItemIn)
@bp.response(200, s.CatalogItemOut)
def put_item(data, shop, sku):
    """Create or replace a catalog item (price in points, stock on hand): admins,
    or that shop's staff for their own shop."""
    if not ID_PATTERN.match(sku):
        raise NotFound("no such sku")
    return directory.put_catalog_item(storage(), g.who, shop, sku, data)


@bp.route("/shops/<shop>/catalog", methods=["GET"])
@require("admin", "shop", "volunteer")
@bp.response(200, s.CatalogList)
def get_catalog(shop):
    """The catalog: for admins, that shop's staff, and volunteers of its community."""
    store = storage()
    who = g.who
    row = (admin_scope(store, who.person).visible_shop(store, shop) if who.role == "admin"
           else store.directory.shop(shop))
    if row is None:
        raise NotFound("no such shop")
    if (who.role == "shop" and who.shop != shop) or (
            who.role == "volunteer" and who.community != row["community"]):
        raise Forbidden("not your shop")
    return {"items": store.directory.catalog(shop)}


@bp.route("/rules", methods=["PUT"])
@require("admin")
@bp.arguments(s.RulesIn)
@bp.response(200, s.RulesOut)
def put_rules(data):
    """Replace the earning rules (the district's: district-wide admins only); the answer
    echoes their hash."""
    store = storage()
    admin_scope(store, g.who.person).require_district("changes the earning rules")
    return directory.put_rules(store, data)


@bp.route("/rules", methods=["GET"])
@require()
@bp.response(200, s.RulesOut)
def get_rules():
    rules = directory.current_rules(storage())
    if rules is None:
        raise NotFound("no rules have been set yet")
    return rules


@bp.route("/enrollments", methods=["POST"])
@require("admin")
@bp.arguments(s.EnrollmentIn)
@bp.response(201, s.EnrollmentOut)
def create_enrollment(data):
    """A one-time device enrolment code for a worker, volunteer or shop person."""
    store = storage()
    return directory.create_enrollment(store, data["person"], settings().enrollment_ttl_hours,
                                       admin_scope(store, g.who.person))
