"""The community dashboard (inline SVG charts with their numbers) and the print
layouts: volunteers' points cards, one or a sheet of them."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _

from ..errors import NotFound, ValidationFailed
from ..services import dashboard, directory, fieldview, grid_tree, web_auth
from ..state import storage
from . import console_charts as charts
from .blueprint import bp
from .errors import PageError
from .qr import qr_svg
from .session import my_scope, signed_in

MAX_CARDS = 200


@bp.route("/admin", methods=["GET"], strict_slashes=False)
@signed_in("admin")
def admin_home() -> Any:
    return redirect(url_for("web.admin_dashboard"))


def _month_label(month: str) -> str:
    import datetime as dt

    return format_date(dt.date.fromisoformat(month + "-01"), "MMM")


@bp.route("/admin/dashboard", methods=["GET"])
@signed_in("admin")
def admin_dashboard() -> Any:
    store = storage()
    scope = my_scope()
    communities = scope.grids(grid_tree.communities(store))
    chosen = request.args.get("community", "")
    if chosen not in {c["id"] for c in communities}:
        # "" is every community: the district-wide admin's only; a scoped admin sees one
        chosen = communities[0]["id"] if communities and (
            len(communities) == 1 or not scope.district) else ""
    with store.snapshot():
        fig = dashboard.figures(store, chosen or None)
    months = fig["months"]
    labels = [_month_label(m) for m in months]
    hours = [(m, fig["hours"][m]) for m in months]
    points = [(m, fig["points"][m]) for m in months]
    return render_template(
        "admin/dashboard.html", fig=fig, communities=communities, chosen=chosen,
        month_labels=dict(zip(months, labels, strict=True)), hours=hours, points=points,
        hours_chart=charts.bars(_("Verified service hours per month"), labels, [
            (_("Verified"), [h["verified"] / 60 for _m, h in hours]),
            (_("Awaiting check"), [h["recorded"] / 60 for _m, h in hours])]),
        points_chart=charts.bars(_("Points issued and redeemed per month"), labels, [
            (_("Issued"), [p["earn"] for _m, p in points]),
            (_("Redeemed"), [p["redeem"] for _m, p in points])]),
        visits_chart=charts.hbars(_("Visits per grid"), fig["visits"]),
        needs_chart=charts.hbars(_("Needs found most often"), fig["needs"]),
        hazards_chart=charts.hbars(_("Hazards found most often"), fig["hazards"]))


# --- print -------------------------------------------------------------------


@bp.route("/admin/print", methods=["GET"])
@signed_in("admin")
def admin_print() -> Any:
    store = storage()
    scope = my_scope()
    f_grid = request.args.get("grid", "")[:64]
    grids = scope.grids(grid_tree.grid_rows(store))
    under = sorted(store.directory.descendants([f_grid])) if f_grid else None
    volunteers = [p for p in fieldview.volunteers_in(store, under)
                  if p["active"] and scope.person(p)]
    posters = grids if _poster_endpoint() else []
    # Who may get a sign-in slip: active people of a web role (of the grid, when one is
    # chosen: shop staff and administrators hold no grid and are listed under all grids).
    signers = [p for p in store.directory.people()
               if p["active"] and scope.manages(p) and p["role"] in web_auth.WEB_ROLES
               and (under is None or set(under).intersection(p["grids"]))]
    return render_template("admin/print.html", grids=grids, grid=f_grid, volunteers=volunteers,
                           names={g["id"]: g["path"] for g in grids}, posters=posters,
                           poster_endpoint=_poster_endpoint(), signers=signers,
                           logins=store.web.logins(), max_issued=web_auth.MAX_ISSUED)


def _poster_endpoint() -> str | None:
    """The grid report poster page, once the cases pages provide one."""
    from flask import current_app

    return "web.admin_poster" if "web.admin_poster" in current_app.view_functions else None


@bp.route("/admin/print/cards", methods=["POST"])
@signed_in("admin")
def admin_print_cards() -> Any:
    """Lay the chosen volunteers' cards out for printing, eight to an A4 page.

    ``mode=current`` prints each volunteer's current card, making one only for those
    who have none or whose card was issued before cards could be shown again;
    ``mode=new`` replaces every chosen card (the old ones stop working at once)."""
    store = storage()
    chosen = [v.strip()[:64] for v in request.form.getlist("person")[:MAX_CARDS] if v.strip()]
    if not chosen:
        raise PageError(_("Choose at least one volunteer."))
    renew = request.form.get("mode") == "new"
    key = directory.card_seal_key()
    communities = {g["id"]: g["name"] for g in grid_tree.communities(store)}
    cards, made = [], 0
    for person_id in dict.fromkeys(chosen):
        person = store.directory.person(person_id)
        if (person is None or person["role"] != "volunteer" or not person["active"]
                or not my_scope().manages(person)):  # another community's: as if unknown
            continue
        code = None if renew else directory.current_card(store, person_id, key)["card"]
        if code is None:
            try:
                code = directory.issue_card(store, person_id, key, my_scope())
            except (NotFound, ValidationFailed):
                continue
            made += 1
        cards.append({"person": person, "code": code,
                      "community": communities.get(person["community"] or "", ""),
                      "qr": qr_svg(code, title=_("Points card"))})
    if not cards:
        raise PageError(_("None of these people is an active volunteer. No card was made."))
    return render_template("admin/cards.html", cards=cards, made=made)
