"""The office's set-up pages: grids, people, shops and their staff and catalog,
and phone enrolment codes (the earning rules are ``views_console_rules``).

Every form is loaded with its API endpoint's schema and handed to the same service
(``server.services.directory``), so a page can do exactly what the API does and no
more. Problems are shown beside the field that has them; nothing is half-saved.
"""

from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..api import schemas as s
from ..config import settings
from ..errors import IdReused, NotFound, ValidationFailed
from ..services import directory, grid_tree, web_pages
from ..state import storage
from . import forms
from .blueprint import bp
from .errors import PageNotFound
from .qr import public_origin, qr_svg
from .session import my_scope, signed_in
from .views_admin import person_page

# --- grids -----------------------------------------------------------------


def _grids_page(*, status: int = 200, errors: dict | None = None, form: dict | None = None,
                message: str | None = None, renaming: dict | None = None) -> Any:
    store = storage()
    scope = my_scope()
    rows = scope.grids(grid_tree.grid_rows(store))
    people = scope.people(store.directory.people())
    counts: dict[str, int] = {}
    for person in people:
        for grid in person["grids"]:
            counts[grid] = counts.get(grid, 0) + 1
    households = store.fielddata.household_counts()
    return render_template("admin/grids.html", rows=rows, counts=counts, households=households,
                           district=scope.district, errors=errors or {}, form=form or {},
                           message=message, renaming=renaming or {}), status


@bp.route("/admin/grids", methods=["GET"])
@signed_in("admin")
def admin_grids() -> Any:
    return _grids_page(message=_("Grid saved.") if request.args.get("added") else None)


@bp.route("/admin/grids", methods=["POST"])
@signed_in("admin")
def admin_add_grid() -> Any:
    form = {"id": forms.text("id", 64), "name": forms.text("name"),
            "parent": forms.text("parent", 64) or None}
    data, errors = forms.load(s.GridIn(), {**form, "id": form["id"] or forms.new_id("g")})
    if data is None:
        return _grids_page(status=400, errors=errors, form=form)
    try:
        directory.create_grid(storage(), data, my_scope())
    except IdReused:
        return _grids_page(status=409, form=form,
                           errors={"id": _("A grid with this id already exists.")})
    except ValidationFailed as exc:
        return _grids_page(status=400, form=form, errors=forms.service_errors(exc))
    return redirect(url_for("web.admin_grids", added=data["id"]), 303)


@bp.route("/admin/grids/<grid_id>/name", methods=["POST"])
@signed_in("admin")
def admin_rename_grid(grid_id: str) -> Any:
    """A grid's new name: the service of ``PATCH /api/v1/grids/<id>``."""
    name = forms.text("name")
    data, errors = forms.load(s.GridPatch(), {"name": name})
    renaming = {"id": grid_id, "name": name}
    if data is None:
        return _grids_page(status=400, renaming={**renaming, "error": errors.get("name")})
    try:
        directory.rename_grid(storage(), grid_id[:64], data["name"], my_scope())
    except NotFound:
        raise PageNotFound() from None
    except ValidationFailed as exc:
        return _grids_page(status=400, renaming={
            **renaming, "error": forms.service_errors(exc).get("name") or _("Not saved.")})
    return _grids_page(message=_("Grid renamed."))


# --- people ----------------------------------------------------------------


def grid_ids() -> list[str]:
    """The grid checkboxes of a posted form (ids only; the service checks they exist)."""
    return [v.strip()[:64] for v in request.form.getlist("grids")[:500] if v.strip()]


@bp.route("/admin/people", methods=["POST"])
@signed_in("admin")
def admin_add_person() -> Any:
    from .views_admin import people_page

    role = forms.text("role", 20)
    form: dict[str, Any] = {"id": forms.text("id", 64), "name": forms.text("name"),
                            "role": role, "grids": grid_ids()}
    if role == "shop" and forms.text("shop", 64):
        form["shop"] = forms.text("shop", 64)
    data, errors = forms.load(s.PersonIn(), {**form, "id": form["id"] or forms.new_id("p")})
    if data is None:
        return people_page(status=400, errors=errors, form=form)
    try:
        person = directory.create_person(storage(), data, my_scope())
    except IdReused:
        return people_page(status=409, form=form,
                           errors={"id": _("Someone already has this id.")})
    except ValidationFailed as exc:
        return people_page(status=400, form=form, errors=forms.service_errors(exc))
    return redirect(url_for("web.admin_person", person_id=person["id"], added=1), 303)


@bp.route("/admin/people/<person_id>/edit", methods=["POST"])
@signed_in("admin")
def admin_edit_person(person_id: str) -> Any:
    form = {"name": forms.text("name"), "grids": grid_ids()}
    data, errors = forms.load(s.PersonPatch(), form)
    if data is None:
        return person_page(person_id, status=400, errors=errors, form=form)
    try:
        directory.patch_person(storage(), person_id, data, my_scope())
    except NotFound:
        raise PageNotFound() from None
    except ValidationFailed as exc:
        return person_page(person_id, status=400, form=form, errors=forms.service_errors(exc))
    return person_page(person_id, message=_("Saved."))


@bp.route("/admin/people/<person_id>/active", methods=["POST"])
@signed_in("admin")
def admin_set_active(person_id: str) -> Any:
    active = request.form.get("active") == "1"
    try:
        directory.patch_person(storage(), person_id, {"active": active}, my_scope())
    except NotFound:
        raise PageNotFound() from None
    except ValidationFailed as exc:
        return person_page(person_id, status=400,
                           error=forms.service_errors(exc).get("active") or _("Not saved."))
    return person_page(person_id, message=_("Reactivated: their phones and sign-in work again.")
                       if active else _("Deactivated: their phones and sign-in stop working now."))


@bp.route("/admin/people/<person_id>/enrol", methods=["POST"])
@signed_in("admin")
def admin_enrol(person_id: str) -> Any:
    """A one-time code for a phone: the same service as ``POST /api/v1/enrollments``."""
    store = storage()
    try:
        my_scope().managed_person(store, person_id)
    except NotFound:
        raise PageNotFound() from None
    try:
        out = directory.create_enrollment(store, person_id,
                                          settings().enrollment_ttl_hours, my_scope())
    except ValidationFailed as exc:
        return person_page(person_id, status=400,
                           error=forms.service_errors(exc).get("person") or _("Not allowed."))
    server = public_origin()
    # The QR opens the field app with the code filled in (its scanner also reads the
    # code out of it); the code under it is for typing, or for `gridsync field enroll`.
    link = f"{server}/field/#enrol={out['code']}"
    return person_page(person_id, enrol=out, server=server, enrol_link=link,
                       enrol_qr=qr_svg(link, title=_("Enrolment code")))


# --- shops -----------------------------------------------------------------


def _shops_page(*, status: int = 200, errors: dict | None = None, form: dict | None = None
                ) -> Any:
    store = storage()
    scope = my_scope()
    staff: dict[str, list[dict]] = {}
    for person in scope.people(store.directory.people()):
        if person["shop"]:
            staff.setdefault(person["shop"], []).append(person)
    return render_template("admin/shops.html", shops=scope.shops(store.directory.shops()),
                           staff=staff, communities=scope.grids(grid_tree.communities(store)),
                           names=grid_tree.names(store), errors=errors or {},
                           form=form or {}), status


@bp.route("/admin/shops", methods=["GET"])
@signed_in("admin")
def admin_shops() -> Any:
    return _shops_page()


@bp.route("/admin/shops", methods=["POST"])
@signed_in("admin")
def admin_add_shop() -> Any:
    form = {"id": forms.text("id", 64), "name": forms.text("name"),
            "community": forms.text("community", 64)}
    data, errors = forms.load(s.ShopIn(), {**form, "id": form["id"] or forms.new_id("s")})
    if data is None:
        return _shops_page(status=400, errors=errors, form=form)
    try:
        shop = directory.create_shop(storage(), data, my_scope())
    except IdReused:
        return _shops_page(status=409, form=form,
                           errors={"id": _("A shop with this id already exists.")})
    except ValidationFailed as exc:
        return _shops_page(status=400, form=form, errors=forms.service_errors(exc))
    return redirect(url_for("web.admin_shop", shop_id=shop["id"]), 303)


def _shop_page(shop_id: str, *, status: int = 200, **extra: Any) -> Any:
    store = storage()
    try:
        shop = my_scope().visible_shop(store, shop_id)
    except NotFound:
        raise PageNotFound() from None
    extra.setdefault("errors", {})
    extra.setdefault("form", {})
    staff = [p for p in store.directory.people() if p["shop"] == shop_id]
    return render_template("admin/shop.html", shop=shop, staff=staff,
                           items=store.directory.catalog(shop_id),
                           community=grid_tree.names(store).get(shop["community"], ""),
                           **extra), status


@bp.route("/admin/shops/<shop_id>", methods=["GET"])
@signed_in("admin")
def admin_shop(shop_id: str) -> Any:
    return _shop_page(shop_id, message=_("Saved.") if request.args.get("saved") else None)


@bp.route("/admin/shops/<shop_id>/staff", methods=["POST"])
@signed_in("admin")
def admin_add_staff(shop_id: str) -> Any:
    try:
        my_scope().visible_shop(storage(), shop_id)
    except NotFound:
        raise PageNotFound() from None
    form = {"id": forms.text("id", 64), "name": forms.text("name")}
    data, errors = forms.load(s.PersonIn(), {**form, "id": form["id"] or forms.new_id("p"),
                                             "role": "shop", "grids": [], "shop": shop_id})
    if data is None:
        return _shop_page(shop_id, status=400, errors=errors, form=form)
    try:
        person = directory.create_person(storage(), data, my_scope())
    except IdReused:
        return _shop_page(shop_id, status=409, form=form,
                          errors={"id": _("Someone already has this id.")})
    return redirect(url_for("web.admin_person", person_id=person["id"], added=1), 303)


@bp.route("/admin/shops/<shop_id>/items", methods=["POST"])
@signed_in("admin")
def admin_put_item(shop_id: str) -> Any:
    """Add or change a catalog item: the service of ``PUT /shops/<shop>/catalog/<sku>``."""
    try:
        my_scope().visible_shop(storage(), shop_id)
    except NotFound:
        raise PageNotFound() from None
    from ..fields import ID_PATTERN

    form = {"sku": forms.text("sku", 64), "name": forms.text("name"),
            "price": forms.whole_number("price"), "stock": forms.whole_number("stock")}
    data, errors = forms.load(s.CatalogItemIn(), {k: form[k] for k in ("name", "price", "stock")})
    sku = form["sku"] or forms.new_id("item")
    if not ID_PATTERN.match(sku):  # type: ignore[arg-type]
        errors["sku"] = forms.field_errors({"sku": ["must match"]})["sku"]
    if data is None or errors:
        return _shop_page(shop_id, status=400, errors=errors, form=form)
    me = g.me
    who = web_pages.principal(me.person, me.role, me.shop, me.community)
    directory.put_catalog_item(storage(), who, shop_id, sku, data)  # type: ignore[arg-type]
    return redirect(url_for("web.admin_shop", shop_id=shop_id, saved=sku), 303)
