"""Device enrolment (no token) and device administration (admin)."""

from __future__ import annotations

from flask import g, request

from ..auth import require
from ..config import settings
from ..services import access
from ..services.admin_scope import admin_scope
from ..state import storage
from . import schemas as s
from .blueprint import Blueprint

bp = Blueprint("devices", __name__, description="Devices")


@bp.route("/devices/enroll", methods=["POST"])
@bp.arguments(s.EnrollIn)
@bp.response(201, s.EnrollOut)
@bp.doc(security=[])
def enroll(data):
    """Trade a one-time code and a proof of key possession for a device token."""
    return access.enroll(
        storage(), data, client=request.remote_addr or "unknown",
        per_minute=settings().enroll_failures_per_minute)


@bp.route("/me", methods=["GET"])
@require("worker", "volunteer")
@bp.response(200, s.MeOut)
def me():
    """The device's own person: name, grids with their names, what the role may do."""
    return access.device_self(storage(), g.who.person, g.who.role)


@bp.route("/devices", methods=["GET"])
@require("admin")
@bp.response(200, s.DeviceList)
def list_devices():
    store = storage()
    return {"devices": access.list_devices(store, admin_scope(store, g.who.person))}


@bp.route("/devices/<device>/revoke", methods=["POST"])
@require("admin")
@bp.response(200, s.DeviceOut)
def revoke(device):
    """Revoke a device: its token stops working at once."""
    store = storage()
    return access.revoke_device(store, device, admin_scope(store, g.who.person))
