"""The cases part of a volunteer's /me page: open wishes of their grids (认领 a
wish) and the cases assigned to them with the points each earned.

``me/_cases.html`` is included by the /me page and calls ``my_cases()``
(a template global), so the /me view itself needs no change.
"""

from __future__ import annotations

from typing import Any

from flask import g, redirect, request, url_for

from ..errors import InvalidState, NotFound
from ..services import case_pages
from ..state import storage
from .blueprint import bp
from .errors import PageError, PageNotFound
from .session import current, signed_in


def my_cases() -> dict[str, Any] | None:
    me = current()
    if me is None or me.role != "volunteer":
        return None
    return case_pages.my_cases(storage(), me.person)


@bp.route("/me/wishes/<case_id>/claim", methods=["POST"])
@signed_in("volunteer")
def me_claim(case_id: str) -> Any:
    try:
        version = int(request.form.get("version", "0")[:12])
        case_pages.claim_on_web(storage(), g.me.person, "volunteer", case_id[:64], version)
    except ValueError:
        raise PageError() from None
    except NotFound:
        raise PageNotFound() from None
    except InvalidState:
        from flask_babel import gettext as _

        raise PageError(_("Someone else took this wish first, or it changed. Nothing was "
                          "changed."), status=409) from None
    return redirect(url_for("web.me") + "#my-cases", 303)


def init_app(app: Any) -> None:
    app.jinja_env.globals.update(my_cases=my_cases)
