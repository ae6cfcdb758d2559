"""Friendly HTML error pages for the web blueprint (the /api keeps its JSON errors).

Views raise ``PageError`` subclasses; service errors (``ApiError``), HTTP errors,
database errors and anything unexpected become a page that says what happened
in the reader's language, never a traceback.
"""

from __future__ import annotations

import logging

from flask import Response, g, make_response, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from ..config import settings
from ..errors import ApiError, ValidationFailed
from ..storage import BackendError
from ..storage.errors import UNSTORABLE
from . import forms
from .blueprint import bp

log = logging.getLogger(__name__)


class PageError(Exception):
    """An error shown as a page: HTTP status, a title and a sentence."""

    status = 400
    title = _l("Something is not right")
    message = _l("The request could not be handled. Nothing was changed.")
    sign_in = False

    def __init__(self, message: object = None, *, status: int | None = None):
        super().__init__(str(message or self.message))
        if message is not None:
            self.message = message
        if status is not None:
            self.status = status


class PageNotFound(PageError):
    """No such page, or a page that belongs to someone else (we do not say which)."""

    status = 404
    title = _l("Not found")
    message = _l("This page does not exist, or it is not yours to see.")


class PageForbidden(PageError):
    """Signed in, but this page is for another role."""

    status = 403
    title = _l("Not allowed")
    message = _l("Your account cannot open this page.")


class CsrfFailed(PageError):
    """A form without the right CSRF token: old, forged or from another site."""

    status = 403
    title = _l("Form expired")
    message = _l("This form is out of date or did not come from this site, so it was "
                 "ignored and nothing was changed. Go back, reload the page and try again.")


class HttpsNeeded(PageError):
    """A sign-in over plain http from another machine: the browser dropped the cookies."""

    status = 400
    title = _l("Sign-in needs HTTPS")
    message = _l("Your browser did not keep this site's cookies, because the page was opened "
                 "over plain http (not https) from another computer, so you cannot sign in "
                 "this way. Nothing was changed. Open the site's https:// address instead. "
                 "On a trusted office network without HTTPS the administrator can allow "
                 "plain http: set GRIDSYNC_WEB_COOKIE_SECURE=false (or WEB_COOKIE_SECURE = "
                 "False in the data directory's config.py) and restart the server.")


class SessionExpired(PageError):
    """The session cookie is unknown or expired (or the person was deactivated)."""

    status = 401
    title = _l("Please sign in again")
    message = _l("Your session has ended. Nothing was changed. Sign in again to continue.")
    sign_in = True


class PageUnavailable(PageError):
    """The database is busy or unreadable."""

    status = 503
    title = _l("Please try again")
    message = _l("The server is busy right now. Nothing was changed. Try again in a moment.")


def error_page(err: PageError) -> Response:
    resp = make_response(render_template(
        "error.html", title=err.title, message=err.message, status=err.status,
        sign_in=err.sign_in), err.status)
    if isinstance(err, SessionExpired):
        from .session import forget_session

        forget_session()
    if err.status == 503:
        resp.headers["Retry-After"] = "5"
    return resp


_BY_STATUS: dict[int, type[PageError]] = {
    401: SessionExpired, 403: PageForbidden, 404: PageNotFound, 503: PageUnavailable}


@bp.errorhandler(PageError)
def _page_error(err: PageError) -> Response:
    return error_page(err)


@bp.errorhandler(ApiError)
def _api_error(err: ApiError) -> Response:
    cls = _BY_STATUS.get(err.status)
    if cls is not None:
        return error_page(cls())
    if isinstance(err, ValidationFailed):  # a page that is not a form: say what to change
        return error_page(PageError(next(iter(forms.service_errors(err).values()), None)))
    return error_page(PageError(status=err.status if 400 <= err.status < 600 else 500))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    code = exc.code or 500
    if code == 405:
        # A form page opened by address (GET on a POST-only URL): go to the start.
        return make_response("", 303, {"Location": url_for("web.home")})
    if code == 413:
        limit = f"{settings().max_body_bytes / (1 << 20):g}"
        return error_page(PageError(_l(
            "That was too much data to send: at most %(mb)s MB at a time. Nothing was changed. "
            "Split the file into smaller ones (fewer rows in each) and send them one by one.",
            mb=limit), status=413))
    cls = _BY_STATUS.get(code)
    return error_page(cls() if cls else PageError(status=code if code >= 400 else 400))


#: The residents' forms take control characters out themselves and show the form again
#: with the text kept (services/case_public.CONTROL_CHARS), so they are left to do that.
_CLEANS_ITS_OWN = frozenset({"web.public_submit", "web.public_rate"})


def _unstorable_page() -> Response:
    return error_page(PageError(_l("What you typed held invisible control characters, "
                                   "which cannot be kept. Please type it again."), status=400))


@bp.before_request
def refuse_nul() -> Response | None:
    """A NUL in any field of a posted form (or an uploaded file's name) is refused before
    the view runs: PostgreSQL's
    text cannot hold one and SQLite's can, so without this the same form kept it on one
    database and was refused on the other. One answer on both, and nothing written."""
    if request.method != "POST" or request.endpoint in _CLEANS_ITS_OWN:
        return None
    texts = [value for _, values in request.form.lists() for value in values]
    texts += [upload.filename or "" for _, uploads in request.files.lists() for upload in uploads]
    if any("\x00" in text for text in texts):
        return _unstorable_page()
    return None


@bp.errorhandler(BackendError)
def _db_error(exc: BackendError) -> Response:
    g.setdefault("web_session", None)      # render the page without asking the database
    if exc.kind == UNSTORABLE:             # a NUL typed or pasted in: nothing was written
        return _unstorable_page()
    log.warning("database error on a web page: %s", exc)
    return error_page(PageUnavailable())


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    log.exception("unexpected error on a web page")
    return error_page(PageError(_l("Something went wrong on the server. Nothing was "
                                   "changed. Please try again, or tell the administrator."),
                                status=500))
