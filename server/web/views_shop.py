"""Shop counter (积分超市): find a volunteer by card, redeem, receipt; catalog and stock."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..errors import ApiError, CardInvalid, IdReused, InsufficientPoints, OutOfStock
from ..fields import ID_PATTERN, UUID_PATTERN
from ..services import directory, web_pages
from ..state import signer, storage
from .blueprint import bp
from .errors import PageNotFound
from .qr import qr_svg
from .session import signed_in

MAX_QTY = 1000


def _me_principal() -> Any:
    me = g.me
    return web_pages.principal(me.person, me.role, me.shop, me.community)


def _shop() -> dict:
    return storage().directory.shop(g.me.shop or "") or {"id": g.me.shop, "name": g.me.shop}


@bp.route("/shop", methods=["GET"], strict_slashes=False)
@signed_in("shop")
def shop_counter() -> Any:
    return render_template("shop/counter.html", shop=_shop(), error=None)


@bp.route("/shop/lookup", methods=["POST"])
@signed_in("shop")
def shop_lookup() -> Any:
    card = request.form.get("card", "")
    volunteer = web_pages.card_holder(storage(), card, g.me.community)
    if volunteer is None:
        return render_template("shop/counter.html", shop=_shop(), error=_(
            "No volunteer of this community has this card. Check the code, or ask the "
            "volunteer for their current card.")), 404
    return _redeem_form(volunteer, card.strip(), str(uuid.uuid4()))


def _redeem_form(volunteer: dict, card: str, form_id: str, *, error: str | None = None,
                 qty: dict[str, int] | None = None, status: int = 200) -> Any:
    catalog = storage().directory.catalog(g.me.shop or "")
    return render_template("shop/redeem.html", shop=_shop(), volunteer=volunteer, card=card,
                           form_id=form_id, catalog=catalog, qty=qty or {}, error=error,
                           max_qty=MAX_QTY), status


def _quantities() -> dict[str, int] | None:
    """sku -> quantity from the form's qty-<sku> fields (0s dropped); None if malformed."""
    out: dict[str, int] = {}
    for key, value in request.form.items():
        if not key.startswith("qty-"):
            continue
        sku, text = key[4:], value.strip()
        if not ID_PATTERN.match(sku) or not re.fullmatch(r"[0-9]{1,7}", text or "0"):
            return None
        n = int(text or "0")
        if n > MAX_QTY:
            return None
        if n:
            out[sku] = n
    return out


@bp.route("/shop/redeem", methods=["POST"])
@signed_in("shop")
def shop_redeem() -> Any:
    store = storage()
    form_id = request.form.get("id", "")
    card = request.form.get("card", "").strip()
    volunteer = web_pages.card_holder(store, card, g.me.community)
    if volunteer is None or volunteer["id"] != request.form.get("volunteer"):
        return render_template("shop/counter.html", shop=_shop(), error=_(
            "This card is no longer valid (a new card may have been issued). Nothing was "
            "redeemed. Scan the volunteer's current card.")), 403
    if not UUID_PATTERN.match(form_id):
        return _redeem_form(volunteer, card, str(uuid.uuid4()), status=400, error=_(
            "The form was damaged. Nothing was redeemed. Pick the items again."))
    qty = _quantities()
    if qty is None:
        return _redeem_form(volunteer, card, form_id, status=400, error=_(
            "Quantities must be whole numbers from 0 to %(max)s.", max=MAX_QTY))
    if not qty:
        return _redeem_form(volunteer, card, form_id, status=400,
                            error=_("Pick at least one item."))
    data = {"id": form_id, "volunteer": volunteer["id"], "card": card,
            "items": [{"sku": sku, "qty": n} for sku, n in sorted(qty.items())]}
    try:
        web_pages.redeem(store, signer(), _me_principal(), data)
    except InsufficientPoints:
        error = _("Not enough points for these items. Nothing was redeemed.")
    except OutOfStock:
        error = _("Not enough stock for one of these items. Nothing was redeemed.")
    except CardInvalid:
        error = _("This card is no longer valid. Nothing was redeemed.")
    except IdReused:
        # This form was already used for another basket: show a fresh one.
        return _redeem_form(volunteer, card, str(uuid.uuid4()), qty=qty, status=409, error=_(
            "This form was already used for a different redemption. Nothing more was "
            "redeemed. Check the items and confirm again."))
    except ApiError as exc:
        if exc.status >= 500:
            raise
        error = _("These items cannot be redeemed. Nothing was redeemed.")
    else:
        return redirect(url_for("web.shop_receipt", redemption_id=form_id), 303)
    volunteer = web_pages.card_holder(store, card, g.me.community) or volunteer
    return _redeem_form(volunteer, card, form_id, qty=qty, error=error, status=409)


@bp.route("/shop/receipts/<redemption_id>", methods=["GET"])
@signed_in("shop")
def shop_receipt(redemption_id: str) -> Any:
    found = web_pages.receipt(storage(), g.me.shop or "", redemption_id[:64])
    if found is None:
        raise PageNotFound()
    payload = web_pages.receipt_payload(found["redemption"], found["entry"])
    return render_template("shop/receipt.html", shop=_shop(), r=found["redemption"],
                           entry=found["entry"], volunteer_name=found["volunteer_name"],
                           balance_after=found["balance_after"],
                           qr=qr_svg(payload, title=_("Receipt QR code")))


@bp.route("/shop/catalog", methods=["GET"])
@signed_in("shop")
def shop_catalog() -> Any:
    return _catalog_page()


def _catalog_page(error: str | None = None, saved: str | None = None, status: int = 200,
                  form: dict | None = None) -> Any:
    items = storage().directory.catalog(g.me.shop or "")
    return render_template("shop/catalog.html", shop=_shop(), items=items, error=error,
                           saved=saved or request.args.get("saved"), form=form or {}), status


@bp.route("/shop/catalog", methods=["POST"])
@signed_in("shop")
def shop_catalog_post() -> Any:
    form = {k: request.form.get(k, "").strip() for k in ("sku", "name", "price", "stock")}
    if not ID_PATTERN.match(form["sku"]):
        return _catalog_page(_("The item code may use letters, digits, - and _ (1 to 64)."),
                             status=400, form=form)
    if not 1 <= len(form["name"]) <= 200:
        return _catalog_page(_("Give the item a name (up to 200 characters)."), status=400,
                             form=form)
    if not re.fullmatch(r"[0-9]{1,9}", form["price"]) or int(form["price"]) < 1:
        return _catalog_page(_("The price is a whole number of points, at least 1."),
                             status=400, form=form)
    if not re.fullmatch(r"[0-9]{1,9}", form["stock"]):
        return _catalog_page(_("The stock is a whole number, 0 or more."), status=400,
                             form=form)
    directory.put_catalog_item(storage(), g.me.shop or "", form["sku"], {
        "name": form["name"], "price": int(form["price"]), "stock": int(form["stock"])})
    return redirect(url_for("web.shop_catalog", saved=form["sku"]), 303)


@bp.route("/shop/lookup", methods=["GET"])
@bp.route("/shop/redeem", methods=["GET"])
def shop_start_again() -> Any:
    return redirect(url_for("web.shop_counter"))
