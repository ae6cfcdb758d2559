"""Conflicts review (admin) and op evidence (admin, auditor)."""

from __future__ import annotations

from flask import g

from ..auth import require
from ..errors import NotFound
from ..services import review
from ..services.admin_scope import DISTRICT, admin_scope
from ..state import storage
from . import schemas as s
from .blueprint import Blueprint

MAX_ROW_ID = 2**63 - 1

bp = Blueprint("review", __name__, description="Conflicts and op evidence")


@bp.route("/conflicts", methods=["GET"])
@require("admin")
@bp.response(200, s.ConflictList)
def list_conflicts():
    """Open conflicts, one per field, with both values, stamps and devices."""
    store = storage()
    scope = admin_scope(store, g.who.person)
    return {"conflicts": scope.conflicts(store, store.records.conflicts("open"))}


@bp.route("/conflicts/<int:conflict_id>/resolve", methods=["POST"])
@require("admin")
@bp.arguments(s.ResolveIn)
@bp.response(200, s.ConflictOut)
def resolve(data, conflict_id):
    """Keep the winner (close it) or the loser (written as a new version devices pull)."""
    if conflict_id > MAX_ROW_ID:
        raise NotFound("no such conflict")
    store = storage()
    return review.resolve_conflict(store, conflict_id, data["keep"], g.who.person,
                                   admin_scope(store, g.who.person))


@bp.route("/ops/<op>", methods=["GET"])
@require("admin", "auditor")
@bp.response(200, s.OpOut)
def get_op(op):
    """The change exactly as the device signed it, its result and the device's key."""
    store = storage()
    scope = admin_scope(store, g.who.person) if g.who.role == "admin" else DISTRICT
    return review.op_evidence(store, op, scope)  # auditors: every op
