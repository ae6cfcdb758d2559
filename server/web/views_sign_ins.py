"""Sign-ins the office issues and hands over on paper, for people who have none (those
imported from a roster): one person's from their page, or a batch from the print page.

Each gets a sign-in name (the login they have, else their id) and a new PIN
(volunteers) or password, printed on a slip: the secret is on that one page, stored
only hashed (``web_auth.issue_login``), and never logged (it is in no URL, and the
pages are ``no-store``)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _

from ..errors import Forbidden, IdReused, NotFound, ValidationFailed
from ..services import grid_tree, web_auth
from ..state import pepper, storage
from .blueprint import bp
from .errors import PageError, PageNotFound
from .qr import public_origin, qr_svg
from .session import my_scope, signed_in
from .views_admin import person_page


def _slips(issued: list[dict], skipped: list[dict], *, back: str) -> Any:
    store = storage()
    communities = {g["id"]: g["name"] for g in grid_tree.communities(store)}
    url = public_origin() + url_for("web.login")
    qr = qr_svg(url, title=_("Sign-in page"))
    for slip in issued:
        slip["community_name"] = communities.get(slip["community"] or "", "")
    return render_template("admin/sign_in_slips.html", slips=issued, skipped=skipped,
                           login_url=url, qr=qr, back=back)


def _why(exc: Exception) -> str:
    if isinstance(exc, IdReused):
        return _("another person already signs in with this id: set a sign-in name by hand "
                 "on their page")
    if isinstance(exc, ValidationFailed) and (exc.fields or {}).get("person") == [
            web_auth.INACTIVE]:
        return _("deactivated")
    return _("workers and auditors do not sign in on the web")


@bp.route("/admin/people/<person_id>/issue-login", methods=["POST"])
@signed_in("admin")
def admin_issue_login(person_id: str) -> Any:
    """One person's sign-in, shown on a printable slip."""
    try:
        my_scope().managed_person(storage(), person_id[:64])
        slip = web_auth.issue_login(storage(), person_id[:64], pepper=pepper())
    except NotFound:
        raise PageNotFound() from None
    except (IdReused, ValidationFailed) as exc:
        return person_page(person_id, status=409 if isinstance(exc, IdReused) else 400,
                           error=_("No sign-in was issued: %(why)s.", why=_why(exc)))
    return _slips([slip], [], back=url_for("web.admin_person", person_id=person_id))


@bp.route("/admin/print/sign-ins", methods=["POST"])
@signed_in("admin")
def admin_issue_logins() -> Any:
    """Sign-ins for the people chosen on the print page, one slip each (eight to an A4
    page); people who could not get one are listed with the reason."""
    chosen = list(dict.fromkeys(v.strip()[:64] for v in request.form.getlist("person")
                                if v.strip()))
    if not chosen:
        raise PageError(_("Choose at least one person."))
    if len(chosen) > web_auth.MAX_ISSUED:
        raise PageError(_("At most %(n)s people at a time: choose fewer (for example one "
                          "grid). Nothing was changed.", n=web_auth.MAX_ISSUED))
    issued, skipped = [], []
    store = storage()
    scope = my_scope()
    for person_id in chosen:
        try:
            scope.managed_person(store, person_id)  # another community's: as if unknown
            issued.append(web_auth.issue_login(store, person_id, pepper=pepper()))
        except (NotFound, Forbidden):
            continue
        except (IdReused, ValidationFailed) as exc:
            person = store.directory.person(person_id)
            skipped.append({"id": person_id, "name": person["name"] if person else person_id,
                            "why": _why(exc)})
    return _slips(issued, skipped, back=url_for("web.admin_print"))
