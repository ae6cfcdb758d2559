"""The shop's catalog and stock (商品与库存): items by Chinese name, generated item
codes, deliveries ("+N received"), removal, and each item's redemptions.

The same permission rule as ``PUT /api/v1/shops/<shop>/catalog/<sku>``
(services/directory.may_manage_catalog): a shop's staff manage their own
shop's catalog. Every change is POST-redirect-GET.
"""

from __future__ import annotations

import re
from typing import Any

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..errors import NotFound
from ..fields import ID_PATTERN
from ..services import counter, directory, web_pages
from ..state import storage
from .blueprint import bp
from .errors import PageNotFound
from .session import signed_in

MAX_NUMBER = 999_999_999


def _who() -> Any:
    me = g.me
    return web_pages.principal(me.person, me.role, me.shop, me.community)


def _shop() -> dict:
    return storage().directory.shop(g.me.shop or "") or {"id": g.me.shop, "name": g.me.shop}


def _number(text: str, low: int) -> int | None:
    text = text.strip()
    if not re.fullmatch(r"[0-9]{1,9}", text) or int(text) < low:
        return None
    return int(text)


def _page(error: str | None = None, form: dict | None = None, status: int = 200) -> Any:
    items = counter.by_name(storage().directory.catalog(g.me.shop or ""))
    done = request.args.get("done", "")
    name = request.args.get("name", "")
    saved = {
        "added": _("Added: %(item)s", item=name),
        "saved": _("Saved: %(item)s", item=name),
        "received": _("Stock updated: %(item)s", item=name),
        "removed": _("Removed from the catalog: %(item)s", item=name),
    }.get(done)
    return render_template("shop/catalog.html", shop=_shop(), items=items, error=error,
                           saved=saved, form=form or {}), status


def _item_form() -> tuple[dict, str | None]:
    """The submitted name/price/stock and the first problem with them."""
    form = {k: request.form.get(k, "").strip() for k in ("sku", "name", "price", "stock")}
    if not 1 <= len(form["name"]) <= 200:
        return form, _("Give the item a name (up to 200 characters).")
    if _number(form["price"], 1) is None:
        return form, _("The price is a whole number of points, at least 1.")
    if _number(form["stock"], 0) is None:
        return form, _("The stock is a whole number, 0 or more.")
    return form, None


def _done(kind: str, name: str) -> Any:
    return redirect(url_for("web.shop_catalog", done=kind, name=name[:80]), 303)


@bp.route("/shop/catalog", methods=["GET"])
@signed_in("shop")
def shop_catalog() -> Any:
    return _page()


@bp.route("/shop/catalog", methods=["POST"])
@signed_in("shop")
def shop_catalog_add() -> Any:
    """A new item; its code is generated unless the shop gives its own."""
    form, problem = _item_form()
    store, shop = storage(), g.me.shop or ""
    if problem is None and form["sku"]:
        if not ID_PATTERN.match(form["sku"]):
            problem = _("An own item code may use letters, digits, - and _ (up to 64). "
                        "Leave it empty to have one made.")
        elif store.directory.item(shop, form["sku"]) is not None:
            problem = _("Another item already has the code %(sku)s.", sku=form["sku"])
    if problem:
        return _page(problem, form=form, status=400)
    sku = form["sku"] or directory.new_sku(store, shop)
    directory.put_catalog_item(store, _who(), shop, sku, {
        "name": form["name"], "price": int(form["price"]), "stock": int(form["stock"])})
    return _done("added", form["name"])


def _item_or_404(sku: str) -> dict:
    item = storage().directory.item(g.me.shop or "", sku) if ID_PATTERN.match(sku) else None
    if item is None:
        raise PageNotFound()
    return item


@bp.route("/shop/catalog/<sku>", methods=["POST"])
@signed_in("shop")
def shop_catalog_save(sku: str) -> Any:
    _item_or_404(sku)
    form, problem = _item_form()
    if problem:
        return _page(problem, status=400)
    directory.put_catalog_item(storage(), _who(), g.me.shop or "", sku, {
        "name": form["name"], "price": int(form["price"]), "stock": int(form["stock"])})
    return _done("saved", form["name"])


@bp.route("/shop/catalog/<sku>/receive", methods=["POST"])
@signed_in("shop")
def shop_catalog_receive(sku: str) -> Any:
    """A delivery: "+N received" adds to what is in stock."""
    item = _item_or_404(sku)
    n = _number(request.form.get("received", ""), 1)
    if n is None or item["stock"] + n > MAX_NUMBER:
        return _page(_("Enter how many of “%(item)s” arrived: a whole number, at least 1.",
                       item=item["name"]), status=400)
    directory.receive_stock(storage(), _who(), g.me.shop or "", sku, n)
    return _done("received", item["name"])


@bp.route("/shop/catalog/<sku>/remove", methods=["POST"])
@signed_in("shop")
def shop_catalog_remove(sku: str) -> Any:
    item = _item_or_404(sku)
    try:
        directory.remove_catalog_item(storage(), _who(), g.me.shop or "", sku)
    except NotFound:
        raise PageNotFound() from None
    return _done("removed", item["name"])


@bp.route("/shop/catalog/<sku>", methods=["GET"])
@signed_in("shop")
def shop_catalog_item(sku: str) -> Any:
    """One item and the redemptions that took it (newest first)."""
    item = _item_or_404(sku)
    history = counter.item_history(storage(), g.me.shop or "", sku)
    return render_template("shop/item.html", shop=_shop(), item=item, history=history)
