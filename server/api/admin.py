"""Administration: grids, shops, catalog, rules (admin token unless noted)."""

from __future__ import annotations

from flask import g

from ..auth import require
from ..config import settings
from ..errors import Forbidden, NotFound
from ..fields import ID_PATTERN
from ..services import directory
from ..state import storage
from . import schemas as s
from .blueprint import Blueprint

bp = Blueprint("admin", __name__, description="Grids, shops, catalog and rules")


@bp.route("/grids", methods=["POST"])
@require("admin")
@bp.arguments(s.GridIn)
@bp.response(201, s.GridOut)
def create_grid(data):
    """Create a grid; a grid with no parent is a community."""
    return directory.create_grid(storage(), data)


@bp.route("/grids", methods=["GET"])
@require("admin")
@bp.response(200, s.GridList)
def list_grids():
    return {"grids": storage().directory.grids()}


@bp.route("/shops", methods=["POST"])
@require("admin")
@bp.arguments(s.ShopIn)
@bp.response(201, s.ShopOut)
def create_shop(data):
    return directory.create_shop(storage(), data)


@bp.route("/shops", methods=["GET"])
@require("admin")
@bp.response(200, s.ShopList)
def list_shops():
    return {"shops": storage().directory.shops()}


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
    row = store.directory.shop(shop)
    if row is None:
        raise NotFound("no such shop")
    who = g.who
    if (who.role == "shop" and who.shop != shop) or (
            who.role == "volunteer" and who.community != row["community"]):
        raise Forbidden("not your shop")
    return {"items": store.directory.catalog(shop)}


@bp.route("/rules", methods=["PUT"])
@require("admin")
@bp.arguments(s.RulesIn)
@bp.response(200, s.RulesOut)
def put_rules(data):
    """Replace the earning rules; the answer echoes their hash."""
    return directory.put_rules(storage(), data)


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
    return directory.create_enrollment(
        storage(), data["person"], settings().enrollment_ttl_hours)
