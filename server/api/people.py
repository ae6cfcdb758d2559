"""People and volunteer cards (admin)."""

from __future__ import annotations

from ..auth import require
from ..errors import NotFound
from ..services import directory
from ..state import storage
from . import schemas as s
from .blueprint import Blueprint

bp = Blueprint("people", __name__, description="People and cards")


@bp.route("/people", methods=["POST"])
@require("admin")
@bp.arguments(s.PersonIn)
@bp.response(201, s.PersonOut)
def create_person(data):
    return directory.create_person(storage(), data)


@bp.route("/people", methods=["GET"])
@require("admin")
@bp.response(200, s.PersonList)
def list_people():
    return {"people": storage().directory.people()}


@bp.route("/people/<person>", methods=["GET"])
@require("admin")
@bp.response(200, s.PersonOut)
def get_person(person):
    found = storage().directory.person(person)
    if found is None:
        raise NotFound("no such person")
    return found


@bp.route("/people/<person>", methods=["PATCH"])
@require("admin")
@bp.arguments(s.PersonPatch)
@bp.response(200, s.PersonOut)
def patch_person(data, person):
    """Rename, move between grids (changes what their devices pull), (de)activate."""
    return directory.patch_person(storage(), person, data)


@bp.route("/people/<person>/card", methods=["POST"])
@require("admin")
@bp.response(201, s.CardOut)
def new_card(person):
    """A new secret card code for a volunteer; the old one stops working."""
    return {"card": directory.issue_card(storage(), person, directory.card_seal_key())}
