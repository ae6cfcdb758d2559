"""Web logins (admin): ``PUT /api/v1/people/<id>/login`` sets a person's web sign-in."""

from __future__ import annotations

from flask import g
from marshmallow import fields, validate

from ..auth import require
from ..services import web_auth
from ..services.admin_scope import admin_scope
from ..state import pepper, storage
from .blueprint import Blueprint
from .schemas import Strict

bp = Blueprint("logins", __name__, description="Web sign-in for shop staff, volunteers, admins")


class LoginIn(Strict):
    login = fields.String(required=True, validate=validate.Length(min=1, max=64))
    secret = fields.String(required=True, validate=validate.Length(min=1, max=200),
                           load_only=True)


class LoginOut(Strict):
    person = fields.String()
    login = fields.String()


@bp.route("/people/<person>/login", methods=["PUT"])
@require("admin")
@bp.arguments(LoginIn)
@bp.response(200, LoginOut)
def put_login(data, person):
    """Set a web login: volunteers a phone number and a PIN of 6-12 digits; shop staff
    and admins a username and a password of 8+ characters. Replacing it ends the
    person's web sessions and clears a lock-out. The secret is stored as a scrypt hash
    and never returned. Example: ``{"login": "13800000001", "secret": "246810"}``."""
    store = storage()
    admin_scope(store, g.who.person).managed_person(store, person)
    return web_auth.set_login(store, person, data["login"], data["secret"],
                              pepper=pepper())
