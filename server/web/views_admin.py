"""Minimal admin: people and their web logins, personal links, cards; open conflicts;
devices."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..config import settings
from ..errors import IdReused, NotFound, ValidationFailed
from ..services import access, conflict_view, directory, grid_tree, review, web_auth
from ..services.admin_scope import MANAGED_ROLES
from ..state import pepper, storage
from . import labels
from .blueprint import bp
from .errors import PageNotFound
from .qr import public_origin, qr_svg
from .session import my_scope, signed_in

ROLES = ("worker", "volunteer", "shop", "admin", "auditor")
"""The roles of the people page's filter and add form (a scoped admin's form offers the
roles they manage: ``admin_scope.MANAGED_ROLES``)."""
PAGE_SIZE = 200


def people_page(*, status: int = 200, errors: dict | None = None, form: dict | None = None
                ) -> Any:
    """People found by name/id, role, grid and whether active; the add-a-person form."""
    store = storage()
    scope = my_scope()
    q = request.args.get("q", "").strip()[:100]
    role = request.args.get("role", "")
    grid = request.args.get("grid", "")
    state = request.args.get("state", "active")
    grids = scope.grids(grid_tree.grid_rows(store))
    under = store.directory.descendants([grid]) if grid else None
    found = [p for p in scope.people(store.directory.people())
             if (not q or q.casefold() in p["name"].casefold() or q in p["id"])
             and (not role or p["role"] == role)
             and (under is None or under.intersection(p["grids"]))
             and (state == "all" or p["active"] == (state == "active"))]
    return render_template(
        "admin/people.html", people=found[:PAGE_SIZE], total=len(found),
        logins=store.web.logins(), roles=ROLES,
        new_roles=ROLES if scope.district else MANAGED_ROLES, district=scope.district,
        grids=grids, names={g["id"]: g["path"] for g in grids},
        shops=scope.shops(store.directory.shops()),
        filters={"q": q, "role": role, "grid": grid, "state": state},
        errors=errors or {}, form=form or {}), status


@bp.route("/admin/people", methods=["GET"])
@signed_in("admin")
def admin_people() -> Any:
    return people_page()


def person_page(person_id: str, *, status: int = 200, **extra: Any) -> Any:
    store = storage()
    scope = my_scope()
    try:
        person = scope.visible_person(store, person_id)
    except NotFound:
        raise PageNotFound() from None
    extra.setdefault("message", _("Person added.") if request.args.get("added") else None)
    extra.setdefault("error", None)
    extra.setdefault("errors", {})
    extra.setdefault("form", {})
    grids = scope.grids(grid_tree.grid_rows(store))
    shop = store.directory.shop(person["shop"]) if person["shop"] else None
    return render_template("admin/person.html", person=person, manages=scope.manages(person),
                           login=store.web.logins().get(person_id), grids=grids,
                           names={g["id"]: g["path"] for g in grids}, shop=shop,
                           web_roles=web_auth.WEB_ROLES, **extra), status




@bp.route("/admin/people/<person_id>", methods=["GET"])
@signed_in("admin")
def admin_person(person_id: str) -> Any:
    return person_page(person_id)


@bp.route("/admin/people/<person_id>/login", methods=["POST"])
@signed_in("admin")
def admin_set_login(person_id: str) -> Any:
    login = request.form.get("login", "")[:64]
    try:
        my_scope().managed_person(storage(), person_id)
        web_auth.set_login(storage(), person_id, login, request.form.get("secret", "")[:200],
                           pepper=pepper())
    except NotFound:
        raise PageNotFound() from None
    except IdReused:
        return person_page(person_id, status=409, form_login=login,
                            error=_("Another person already signs in with this name or phone."))
    except ValidationFailed as exc:
        fields = exc.fields or {}
        if "person" in fields:
            error = _("This person's role has no web sign-in.")
        elif fields.get("login") and fields.get("secret"):
            error = _("Both the sign-in name and the password or PIN are not valid.")
        elif "login" in fields:
            error = (_("A volunteer signs in with a phone number.")
                     if _role(person_id) == "volunteer" else
                     _("A sign-in name starts with a letter and has 3 to 64 letters, digits, "
                       "dots, dashes or underscores."))
        else:
            error = (_("A PIN is 6 to 12 digits.") if _role(person_id) == "volunteer"
                     else _("A password has at least 8 characters."))
        return person_page(person_id, status=400, form_login=login, error=error)
    return person_page(person_id, message=_("Sign-in saved. Their open sessions were ended."))


def _role(person_id: str) -> str | None:
    person = storage().directory.person(person_id)
    return person["role"] if person else None


@bp.route("/admin/people/<person_id>/link", methods=["POST"])
@signed_in("admin")
def admin_make_link(person_id: str) -> Any:
    try:
        my_scope().managed_person(storage(), person_id)
        secret, expires = web_auth.create_link(
            storage(), person_id, days=settings().web_link_days)
    except NotFound:
        raise PageNotFound() from None
    except ValidationFailed:
        return person_page(person_id, status=400,
                            error=_("Personal links are for volunteers only."))
    link = public_origin() + url_for("web.login_link") + "#" + secret
    return person_page(person_id, link=link, link_expires=expires,
                        link_qr=qr_svg(link, title=_("Personal sign-in link")))


@bp.route("/admin/people/<person_id>/card", methods=["POST"])
@signed_in("admin")
def admin_issue_card(person_id: str) -> Any:
    try:
        card = directory.issue_card(storage(), person_id, directory.card_seal_key(),
                                    my_scope())
    except NotFound:
        raise PageNotFound() from None
    except ValidationFailed:
        return person_page(person_id, status=400, error=_("Cards are for volunteers only."))
    return person_page(person_id, card=card, card_qr=qr_svg(card, title=_("Points card")))


@bp.route("/admin/conflicts", methods=["GET"])
@signed_in("admin")
def admin_conflicts() -> Any:
    return _conflicts_page()


def _conflicts_page(message: str | None = None, status: int = 200) -> Any:
    store = storage()
    with store.snapshot():
        conflicts = conflict_view.describe(
            store, my_scope().conflicts(store, store.records.conflicts("open")))
    return render_template("admin/conflicts.html", conflicts=conflicts, message=message,
                           field_label=labels.field_label,
                           config_views=current_app.view_functions,
                           done=request.args.get("done")), status


@bp.route("/admin/conflicts/<int(max=9223372036854775807):conflict_id>/resolve", methods=["POST"])
@signed_in("admin")
def admin_resolve(conflict_id: int) -> Any:
    keep = request.form.get("keep")
    if keep not in ("winner", "loser"):
        return _conflicts_page(_("Choose which value to keep."), 400)
    try:
        review.resolve_conflict(storage(), conflict_id, keep, g.me.person, my_scope())
    except NotFound:
        raise PageNotFound() from None
    except ValidationFailed:
        return _conflicts_page(_("This conflict was already resolved, or its record is now "
                                 "locked. Nothing was changed."), 409)
    return redirect(url_for("web.admin_conflicts", done=conflict_id), 303)


@bp.route("/admin/devices", methods=["GET"])
@signed_in("admin")
def admin_devices() -> Any:
    store = storage()
    names = {p["id"]: p["name"] for p in store.directory.people()}
    return render_template("admin/devices.html", devices=access.list_devices(store, my_scope()),
                           names=names)


@bp.route("/admin/devices/<device_id>/revoke", methods=["POST"])
@signed_in("admin")
def admin_revoke(device_id: str) -> Any:
    try:
        access.revoke_device(storage(), device_id[:64], my_scope())
    except NotFound:
        raise PageNotFound() from None
    return redirect(url_for("web.admin_devices", revoked=device_id), 303)
