"""Shop counter (收银台): find a volunteer by card, redeem, receipt, refund, the day's list.

Every step is POST-redirect-GET, so the browser's Back and reload never meet a
form answer: the look-up answers with a redirect to the basket page, named by
a short-lived look-up handle (services/counter.py) rather than the card, and
the card code goes no further than the look-up request. A basket that cannot
be redeemed comes back to the same page (same form id, the quantities kept or
fixed, the reason named) through a redirect too.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from primitives import names

from ..config import settings
from ..errors import ApiError, CardInvalid, IdReused, InsufficientPoints, OutOfStock
from ..fields import ID_PATTERN, UUID_PATTERN
from ..keystore import load_secret
from ..services import counter, directory, web_pages
from ..services import ledger as points
from ..state import signer, storage
from .blueprint import bp
from .errors import PageNotFound
from .qr import qr_svg
from .session import signed_in

MAX_QTY = 1000
MAX_REASON = 500


def _me_principal() -> Any:
    me = g.me
    return web_pages.principal(me.person, me.role, me.shop, me.community)


def _shop() -> dict:
    return storage().directory.shop(g.me.shop or "") or {"id": g.me.shop, "name": g.me.shop}


def _handle_key() -> bytes:
    ext = current_app.extensions
    if "gridsync.handle_key" not in ext:
        ext["gridsync.handle_key"] = counter.handle_key(load_secret(settings().data_dir))
    return ext["gridsync.handle_key"]


def _counter_page(error: str | None = None, typed: str = "", status: int = 200) -> Any:
    return render_template("shop/counter.html", shop=_shop(), error=error, typed=typed), status


@bp.route("/shop", methods=["GET"], strict_slashes=False)
@signed_in("shop")
def shop_counter() -> Any:
    error = None
    if request.args.get("expired"):
        error = _("That look-up is no longer valid (it lasts 15 minutes, and a new card "
                  "ends it). Nothing was redeemed. Scan or type the card again.")
    return _counter_page(error, status=200)


@bp.route("/shop/lookup", methods=["POST"])
@signed_in("shop")
def shop_lookup() -> Any:
    typed = request.form.get("card", "")[:200]
    store = storage()
    volunteer = web_pages.card_holder(store, typed, g.me.community)
    if volunteer is None:
        return _counter_page(_(
            "No volunteer of this community has this card. Check the code (letters and "
            "digits; capitals, spaces and dashes do not matter), or ask the volunteer for "
            "their current card."), typed=typed, status=404)
    handle = counter.make_handle(_handle_key(), volunteer["id"], g.me.id_hash,
                                 volunteer["card_hash"])
    return redirect(url_for("web.shop_basket", handle=handle, id=str(uuid.uuid4())), 303)


def _open(handle: str) -> tuple[dict, str] | None:
    """(volunteer with balance, card hash) for a live handle of this session."""
    store = storage()
    found = counter.open_handle(store, _handle_key(), handle, g.me.id_hash)
    if found is None:
        return None
    person = store.directory.person(found[0])
    if (person is None or person["role"] != "volunteer" or not person["active"]
            or person["community"] != g.me.community):
        return None
    person["balance"] = store.ledger.balance(names.volunteer(person["id"]))
    return person, found[1]


def _wanted(source: Any) -> dict[str, int] | None:
    """sku -> quantity from ``qty-<sku>`` fields (0s dropped); None if malformed."""
    out: dict[str, int] = {}
    for key, value in source.items():
        if not key.startswith("qty-"):
            continue
        sku, text = key[4:], str(value).strip()
        if not ID_PATTERN.match(sku) or not re.fullmatch(r"[0-9]{1,7}", text or "0"):
            return None
        n = int(text or "0")
        if n > MAX_QTY:
            return None
        if n:
            out[sku] = n
    return out


@bp.route("/shop/serve/<handle>", methods=["GET"])
@signed_in("shop")
def shop_basket(handle: str) -> Any:
    opened = _open(handle[:300])
    if opened is None:
        return redirect(url_for("web.shop_counter", expired=1), 303)
    volunteer = opened[0]
    form_id = request.args.get("id", "")
    if not UUID_PATTERN.match(form_id):
        return redirect(url_for("web.shop_basket", handle=handle, id=str(uuid.uuid4())), 303)
    store = storage()
    if store.ledger.redemption(form_id) is not None:  # Back after the receipt
        return render_template("shop/served.html", shop=_shop(), volunteer=volunteer,
                               receipt_id=form_id)
    catalog = store.directory.catalog(g.me.shop or "")
    qty = _wanted(request.args) or {}
    notice = _basket_notice(catalog, qty)
    return render_template("shop/redeem.html", shop=_shop(), volunteer=volunteer,
                           handle=handle, form_id=form_id, catalog=counter.by_name(catalog),
                           qty=qty, error=notice, max_qty=MAX_QTY)


def _basket_notice(catalog: list[dict], qty: dict[str, int]) -> str | None:
    """The sentence for ?error=...: what went wrong and, for a stock-out, which item."""
    error, sku = request.args.get("error"), request.args.get("sku", "")
    if error == "stock":
        item = next((i for i in catalog if i["sku"] == sku), None)
        name = item["name"] if item else sku
        left = item["stock"] if item else 0
        if left:
            return _("Only %(n)s of “%(item)s” left: the basket now has %(n)s. Nothing was "
                     "redeemed yet. Check the basket and confirm again.", n=left, item=name)
        return _("“%(item)s” has just sold out and was taken out of the basket. Nothing was "
                 "redeemed yet. Check the basket and confirm again.", item=name)
    return {
        "points": _("Not enough points for these items. Nothing was redeemed. Take something "
                    "out of the basket."),
        "empty": _("The basket is empty: enter how many of an item, then confirm."),
        "qty": _("Quantities must be whole numbers from 0 to %(max)s.", max=MAX_QTY),
        "reused": _("This form was already used for a different redemption. Nothing more was "
                    "redeemed. Check the items and confirm again."),
        "other": _("These items cannot be redeemed. Nothing was redeemed."),
    }.get(error or "")


@bp.route("/shop/redeem", methods=["POST"])
@signed_in("shop")
def shop_redeem() -> Any:
    handle, form_id = request.form.get("handle", "")[:300], request.form.get("id", "")
    opened = _open(handle)
    if opened is None:
        return redirect(url_for("web.shop_counter", expired=1), 303)
    volunteer, card_hash = opened
    if not UUID_PATTERN.match(form_id):
        form_id = str(uuid.uuid4())

    def again(error: str, qty: dict[str, int], **extra: Any) -> Any:
        args = {f"qty-{sku}": n for sku, n in qty.items()}
        return redirect(url_for("web.shop_basket", handle=handle, id=form_id, error=error,
                                **extra, **args), 303)  # type: ignore[arg-type]

    qty = _wanted(request.form)
    if qty is None:
        return again("qty", {})
    if not qty:
        return again("empty", {})
    data = {"id": form_id, "volunteer": volunteer["id"],
            "items": [{"sku": sku, "qty": n} for sku, n in sorted(qty.items())]}
    try:
        points.redeem(storage(), signer(), _me_principal(), data, card_hash=card_hash)
    except OutOfStock as exc:
        fixed = {k: (min(n, exc.left) if k == exc.sku else n) for k, n in qty.items()}
        return again("stock", {k: n for k, n in fixed.items() if n}, sku=exc.sku or "")
    except InsufficientPoints:
        return again("points", qty)
    except CardInvalid:
        return redirect(url_for("web.shop_counter", expired=1), 303)
    except IdReused:
        form_id = str(uuid.uuid4())
        return again("reused", qty)
    except ApiError as exc:
        if exc.status >= 500:
            raise
        return again("other", qty)
    return redirect(url_for("web.shop_receipt", redemption_id=form_id), 303)


@bp.route("/shop/receipts/<redemption_id>", methods=["GET"])
@signed_in("shop")
def shop_receipt(redemption_id: str) -> Any:
    store = storage()
    found = web_pages.receipt(store, g.me.shop or "", redemption_id[:64])
    if found is None:
        raise PageNotFound()
    payload = web_pages.receipt_payload(found["redemption"], found["entry"])
    refund = points.refund_reason(store, found["redemption"]["id"])
    error = {"reason": _("Say why the redemption is refunded (up to %(n)s characters).",
                         n=MAX_REASON),
             "done": _("This redemption was already refunded. Nothing more was changed.")
             }.get(request.args.get("error", ""))
    return render_template("shop/receipt.html", shop=_shop(), r=found["redemption"],
                           entry=found["entry"], volunteer_name=found["volunteer_name"],
                           balance_after=found["balance_after"],
                           balance_before=found["balance_after"] + found["redemption"]["total"],
                           refund=refund, error=error, refunded=request.args.get("refunded"),
                           qr=qr_svg(payload, title=_("Receipt QR code")))


@bp.route("/shop/receipts/<redemption_id>/refund", methods=["POST"])
@signed_in("shop")
def shop_refund(redemption_id: str) -> Any:
    """Refund through the API's own service: a ``reverse`` entry and the stock put back."""
    reason = " ".join(request.form.get("reason", "").split())
    here = redemption_id[:64]
    if not 1 <= len(reason) <= MAX_REASON:
        return redirect(url_for("web.shop_receipt", redemption_id=here, error="reason"), 303)
    try:
        points.refund(storage(), signer(), _me_principal(), here, reason)
    except ApiError as exc:
        if exc.code == "already_reversed":
            return redirect(url_for("web.shop_receipt", redemption_id=here, error="done"), 303)
        if exc.status in (403, 404):
            raise PageNotFound() from None
        raise
    return redirect(url_for("web.shop_receipt", redemption_id=here, refunded=1), 303)


@bp.route("/shop/today", methods=["GET"])
@signed_in("shop")
def shop_today() -> Any:
    """The day's redemptions at this shop with their totals (``?day=YYYY-MM-DD``)."""
    day = request.args.get("day")
    if day is not None and not re.fullmatch(r"20[0-9]{2}-[01][0-9]-[0-3][0-9]", day):
        day = None
    try:
        shown, since, until = counter.local_day(_timezone(), day)
    except ValueError:
        shown, since, until = counter.local_day(_timezone())
    data = counter.day_list(storage(), g.me.shop or "", since, until)
    return render_template("shop/today.html", shop=_shop(), day=shown, **data)


def _timezone() -> str:
    rules = directory.current_rules(storage())
    if rules and rules.get("timezone"):
        return str(rules["timezone"])
    return settings().babel_default_timezone


@bp.route("/shop/lookup", methods=["GET"])
@bp.route("/shop/redeem", methods=["GET"])
def shop_start_again() -> Any:
    return redirect(url_for("web.shop_counter"))
