"""Sign-in pages: login + password/PIN, admin API token, personal link; sign-out."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..config import settings
from ..services import web_auth
from ..state import pepper, storage
from . import i18n
from .blueprint import bp
from .errors import HttpsNeeded, PageNotFound
from .session import (
    check_csrf,
    check_pre_csrf,
    current,
    forget_session,
    home_url,
    pre_csrf,
    safe_next,
    start_session,
)


def _hours() -> float:
    return settings().web_session_hours


def _client() -> str:
    return request.remote_addr or "unknown"


@bp.route("/")
def home() -> Any:
    me = current()
    return redirect(home_url(me.role if me else None))


@bp.route("/favicon.ico")
def favicon() -> Any:
    """No icon, said without an error: browsers ask on every page, and a 404 there is
    an error in the console of every page."""
    return "", 204


LOOPBACK = {"localhost", "127.0.0.1", "[::1]", "::1"}


def cookies_cannot_stick() -> bool:
    """True when this browser will drop our cookies: they are marked Secure (the
    default) but the page came over plain http from another machine. Browsers keep
    Secure cookies over http only for localhost, so signing in would fail with a
    silent "form expired"; the sign-in page says what to do instead."""
    if not settings().web_cookie_secure or request.is_secure:
        return False
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    return host.lower() not in LOOPBACK


def _login_page(error: str | None = None, status: int = 200, **extra: Any) -> Any:
    return render_template("login.html", csrf=pre_csrf(), error=error,
                           next=safe_next(request.values.get("next")),
                           https_needed=cookies_cannot_stick(), **extra), status


def _check_sign_in_form() -> None:
    """The sign-in forms' CSRF check; over plain http from another machine the
    missing cookie is explained (HTTPS, or the trusted-LAN setting) instead."""
    if cookies_cannot_stick() and not request.cookies.get("gs_pre"):
        raise HttpsNeeded()
    check_pre_csrf()


@bp.route("/login", methods=["GET"])
def login() -> Any:
    me = current()
    if me is not None:
        return redirect(safe_next(request.args.get("next")) or home_url(me.role))
    return _login_page()


def _throttled() -> bool:
    per_minute = settings().web_failures_per_minute
    return web_auth.too_many_failures(storage(), _client(), per_minute)


def _signed_in(sid: str, role: str | None = None) -> Any:
    start_session(sid)
    g.web_session = web_auth.session(storage(), sid)
    role = role or (g.web_session.role if g.web_session else None)
    return redirect(safe_next(request.form.get("next")) or home_url(role), 303)


def _throttled_message() -> str:
    return _("Too many failed sign-ins from this device. Wait a minute and try again.")


@bp.route("/login", methods=["POST"])
def login_post() -> Any:
    _check_sign_in_form()
    if _throttled():
        return _login_page(_throttled_message(), 429)
    login, secret = request.form.get("login", ""), request.form.get("secret", "")
    cfg = settings()
    try:
        sid = web_auth.password_login(
            storage(), login[:200], secret[:200], hours=_hours(), pepper=pepper(),
            max_failures=cfg.web_lockout_failures, lock_minutes=cfg.web_lockout_minutes,
            max_daily=cfg.web_lockout_daily)
    except web_auth.LockedOut as exc:
        web_auth.count_failure(storage(), _client())
        return _login_page(_("Too many wrong attempts: this account is locked until %(time)s. "
                             "Ask the administrator if you forgot the password or PIN.",
                             time=i18n.when(exc.until, "short")), 429, login=login)
    except web_auth.BadCredentials:
        web_auth.count_failure(storage(), _client())
        return _login_page(_("Wrong name, phone number, password or PIN. You are not signed "
                             "in."), 401, login=login)
    return _signed_in(sid)


@bp.route("/login/token", methods=["POST"])
def login_token() -> Any:
    _check_sign_in_form()
    if _throttled():
        return _login_page(_throttled_message(), 429)
    try:
        sid = web_auth.token_login(storage(), request.form.get("token", "")[:300],
                                   hours=_hours())
    except web_auth.BadCredentials:
        web_auth.count_failure(storage(), _client())
        return _login_page(_("That is not a valid admin token. You are not signed in."), 401,
                           token_error=True)
    return _signed_in(sid, "admin")


@bp.route("/login/link", methods=["GET"])
def login_link() -> Any:
    """The personal link lands here with its secret in the #fragment, which browsers never
    send to servers; the page's script posts it once and removes it from the address."""
    return render_template("link.html", csrf=pre_csrf(), error=None)


@bp.route("/login/link", methods=["POST"])
def login_link_post() -> Any:
    check_pre_csrf()
    if _throttled():
        return render_template("link.html", csrf=pre_csrf(), error=_throttled_message()), 429
    try:
        sid = web_auth.link_login(storage(), request.form.get("secret", ""), hours=_hours())
    except web_auth.LinkInvalid:
        web_auth.count_failure(storage(), _client())
        return render_template("link.html", csrf=pre_csrf(), error=_(
            "This sign-in link does not work: it was already used, it has expired, or it is "
            "incomplete. Ask for a new one.")), 401
    return _signed_in(sid, "volunteer")


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    me = current()
    if me is not None:
        check_csrf(me)
        web_auth.end_session(storage(), request.cookies.get("gs_session", ""))
    forget_session()
    return redirect(url_for("web.login"), 303)


@bp.route("/logout", methods=["GET"])
@bp.route("/login/token", methods=["GET"])
def back_to_login() -> Any:
    return redirect(url_for("web.login"))


@bp.route("/shop/<path:rest>", methods=["GET", "POST"])
@bp.route("/me/<path:rest>", methods=["GET", "POST"])
@bp.route("/admin/<path:rest>", methods=["GET", "POST"])
def no_such_page(rest: str) -> Any:
    """Unknown addresses under the pages get the HTML "not found" page, not /api's JSON."""
    raise PageNotFound()
