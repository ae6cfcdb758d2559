"""People and volunteer cards (admin)."""

from __future__ import annotations

from flask import g

from ..auth import require
from ..services import directory
from ..services.admin_scope import admin_scope
from ..state import storage
from . import schemas as s
from .blueprint import Blueprint

bp = Blueprint("people", __name__, description="People and cards")


@bp.route("/people", methods=["POST"])
@require("admin")
@bp.arguments(s.PersonIn)
@bp.response(201, s.PersonOut)
def create_person(data):
    """A scoped admin (docs/protocol.md, scoped administrators) adds only workers,
    volunteers and shop staff of their communities."""
    store = storage()
    return directory.create_person(store, data, admin_scope(store, g.who.person))


@bp.route("/people", methods=["GET"])
@require("admin")
@bp.response(200, s.PersonList)
def list_people():
    store = storage()
    return {"people": admin_scope(store, g.who.person).people(store.directory.people())}


@bp.route("/people/<person>", methods=["GET"])
@require("admin")
@bp.response(200, s.PersonOut)
def get_person(person):
    store = storage()
    return admin_scope(store, g.who.person).visible_person(store, person)


@bp.route("/people/<person>", methods=["PATCH"])
@require("admin")
@bp.arguments(s.PersonPatch)
@bp.response(200, s.PersonOut)
def patch_person(data, person):
    """Rename, move between grids (changes what their devices pull), (de)activate."""
    store = storage()
    return directory.patch_person(store, person, data, admin_scope(store, g.who.person))


@bp.route("/people/<person>/card", methods=["POST"])
@require("admin")
@bp.response(201, s.CardOut)
def new_card(person):
    """A new secret card code for a volunteer; the old one stops working."""
    store = storage()
    return {"card": directory.issue_card(store, person, directory.card_seal_key(),
                                         admin_scope(store, g.who.person))}
