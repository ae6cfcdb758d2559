"""我的积分: a volunteer's balance, hours, entries (each verifiable) and card.

Every page here is about the signed-in volunteer only: no URL names a
person, and an entry that does not touch their account is "not found".
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import g, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _

from primitives import names

from ..services import directory, me_overview, web_pages
from ..services.admin_scope import DISTRICT
from ..state import storage
from . import console_charts
from .blueprint import bp
from .errors import PageNotFound
from .qr import qr_svg
from .session import signed_in


@bp.route("/me", methods=["GET"], strict_slashes=False)
@signed_in("volunteer")
def me() -> Any:
    data = me_overview.overview(storage(), g.me.person)
    labels = [_month_label(m["month"]) for m in data["months"]]
    charts = {
        "hours": console_charts.bars(_("Verified service hours per month"), labels, [
            (_("Hours"), [m["minutes"] / 60 for m in data["months"]])]),
        "points": console_charts.bars(_("Points earned per month"), labels, [
            (_("Points"), [float(m["points"]) for m in data["months"]])]),
    }
    return render_template("me/home.html", charts=charts, **data)


def _month_label(month: str) -> str:
    """"12" / "Dec" for "2026-12": short enough for twelve bars on a phone (the
    Chinese "12月" would run into its neighbours; the caption says they are months)."""
    year, number = (int(part) for part in month.split("-"))
    if get_locale() is not None and get_locale().language == "zh":
        return str(number)
    return format_date(date(year, number, 1), "MMM")


@bp.route("/me/entries/<int(max=9223372036854775807):seq>", methods=["GET"])
@signed_in("volunteer")
def me_entry(seq: int) -> Any:
    store = storage()
    entry = web_pages.own_entry(store, g.me.person, seq)
    if entry is None:
        raise PageNotFound()
    check = web_pages.check_entry(store, entry)
    return render_template("me/entry.html", entry=entry, check=check,
                           account=names.volunteer(g.me.person))


@bp.route("/me/card", methods=["GET"])
@signed_in("volunteer")
def me_card() -> Any:
    """The volunteer's current card, shown as often as they like: showing never
    replaces it (cards are kept sealed beside their hash: server/cards.py)."""
    found = directory.current_card(storage(), g.me.person, directory.card_seal_key())
    card = found["card"]
    qr = qr_svg(card, title=_("My points card")) if card else None
    return render_template("me/card.html", card=card, has_card=found["has_card"], qr=qr,
                           new=bool(request.args.get("new")),
                           error=request.args.get("error") == "confirm")


@bp.route("/me/card", methods=["POST"])
@signed_in("volunteer")
def me_card_new() -> Any:
    """Make a card: the first one at once; replacing a card that exists needs the
    "my old card stops working" box ticked. Then back to the card page (GET), so a
    reload shows the same card and never makes another."""
    store = storage()
    if store.directory.card_hash(g.me.person) and request.form.get("confirm") != "yes":
        return redirect(url_for("web.me_card", error="confirm"), 303)
    # their own card: no administrator's scope applies (DISTRICT: nothing narrows it)
    directory.issue_card(store, g.me.person, directory.card_seal_key(), DISTRICT)
    return redirect(url_for("web.me_card", new=1), 303)
