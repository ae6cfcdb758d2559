"""我的积分: a volunteer's balance, hours, entries (each verifiable) and card.

Every page here is about the signed-in volunteer only: no URL names a
person, and an entry that does not touch their account is "not found".
"""

from __future__ import annotations

from typing import Any

from flask import g, render_template
from flask_babel import gettext as _

from ..services import directory, web_pages
from ..state import storage
from .blueprint import bp
from .errors import PageNotFound
from .qr import qr_svg
from .session import signed_in


@bp.route("/me", methods=["GET"], strict_slashes=False)
@signed_in("volunteer")
def me() -> Any:
    data = web_pages.overview(storage(), g.me.person)
    return render_template("me/home.html", **data)


@bp.route("/me/entries/<int(max=9223372036854775807):seq>", methods=["GET"])
@signed_in("volunteer")
def me_entry(seq: int) -> Any:
    store = storage()
    entry = web_pages.own_entry(store, g.me.person, seq)
    if entry is None:
        raise PageNotFound()
    check = web_pages.check_entry(store, entry)
    return render_template("me/entry.html", entry=entry, check=check,
                           account=f"volunteer:{g.me.person}")


@bp.route("/me/card", methods=["GET"])
@signed_in("volunteer")
def me_card() -> Any:
    return render_template("me/card.html", card=None, qr=None)


@bp.route("/me/card", methods=["POST"])
@signed_in("volunteer")
def me_card_new() -> Any:
    """Issue a new card and show it once: cards are stored hashed, so the server cannot
    show an old one again. The previous card stops working at once."""
    card = directory.issue_card(storage(), g.me.person)
    return render_template("me/card.html", card=card,
                           qr=qr_svg(card, title=_("My points card")))
