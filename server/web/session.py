"""Who is signed in, CSRF checks, and the cookies the pages set.

Cookies: ``gs_session`` (the session id; HttpOnly, SameSite=Lax, Secure unless
``WEB_COOKIE_SECURE`` is off), ``gs_pre`` (a random value the sign-in forms
echo back: CSRF for pages before a session exists) and ``gs_lang``.
Cookies are only ever set from ``apply_cookies`` (an after_request hook).
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import g, redirect, request, url_for

from ..config import settings
from ..services import web_auth
from ..services.admin_scope import AdminScope, admin_scope
from ..state import storage
from .errors import CsrfFailed, PageForbidden, SessionExpired

SESSION_COOKIE = "gs_session"
PRE_COOKIE = "gs_pre"
LANG_COOKIE = "gs_lang"

HOME = {"shop": "web.shop_counter", "volunteer": "web.me", "admin": "web.admin_dashboard"}


def current() -> web_auth.Session | None:
    """The signed-in user of this request (None when there is no live session)."""
    if "web_session" not in g:
        sid = request.cookies.get(SESSION_COOKIE, "")
        g.web_session = web_auth.session(storage(), sid) if sid else None
    return g.web_session


def my_scope() -> AdminScope:
    """The signed-in administrator's scope (``services.admin_scope``), once a request."""
    if "admin_scope" not in g:
        g.admin_scope = admin_scope(storage(), g.me.person)
    return g.admin_scope


def start_session(sid: str) -> None:
    g.set_session = sid


def forget_session() -> None:
    g.clear_session = True


def home_url(role: str | None) -> str:
    return url_for(HOME[role]) if role in HOME else url_for("web.login")


def safe_next(target: str | None) -> str | None:
    """Only a local absolute path may be a redirect target after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def pre_csrf() -> str:
    """The value sign-in forms carry; it must match the ``gs_pre`` cookie when posted."""
    value = request.cookies.get(PRE_COOKIE) or g.get("new_pre")
    if not value:
        value = g.new_pre = secrets.token_urlsafe(24)
    return value


def check_pre_csrf() -> None:
    cookie = request.cookies.get(PRE_COOKIE, "")
    sent = request.form.get("csrf", "")
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise CsrfFailed()


def check_csrf(session: web_auth.Session) -> None:
    sent = request.form.get("csrf", "")
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise CsrfFailed()


def signed_in(*roles: str) -> Callable:
    """Decorator: a live session with one of ``roles``; POSTs must carry its CSRF token.

    No session cookie: a GET is sent to the sign-in page (and back afterwards);
    a cookie that no longer works gets the "sign in again" page. The session
    is ``g.me``.
    """

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            me = current()
            if me is None:
                if request.cookies.get(SESSION_COOKIE) or request.method != "GET":
                    raise SessionExpired()
                return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
            if roles and me.role not in roles:
                raise PageForbidden()
            if request.method == "POST":
                check_csrf(me)
            g.me = me
            return view(*args, **kwargs)

        return wrapped

    return decorator


def apply_cookies(resp: Any) -> Any:
    """after_request: write the cookies decided during the request."""
    secure = settings().web_cookie_secure
    common = {"httponly": True, "secure": secure, "samesite": "Lax", "path": "/"}
    if g.get("set_session"):
        hours = settings().web_session_hours
        resp.set_cookie(SESSION_COOKIE, g.set_session, max_age=int(hours * 3600), **common)
    elif g.get("clear_session"):
        resp.delete_cookie(SESSION_COOKIE, **common)
    if g.get("new_pre"):
        resp.set_cookie(PRE_COOKIE, g.new_pre, **common)
    if g.get("set_lang"):
        resp.set_cookie(LANG_COOKIE, g.set_lang, max_age=365 * 86400, **common)
    return resp
