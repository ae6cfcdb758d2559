"""Web pages for people who do not use the API: the shop counter (/shop), volunteers
(/me) and a minimal admin (/admin). Server-rendered Jinja templates, a little plain
JavaScript, Chinese by default and English on request (Flask-Babel).

``init_app(app)`` is the one call the app factory makes. Errors on these
pages are HTML pages (``server.web.errors``); /api keeps its JSON errors.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import Babel

from . import (  # noqa: F401 (routes)
    case_labels,
    errors,
    i18n,
    labels,
    qr,
    views_admin,
    views_auth,
    views_cases,
    views_catalog,
    views_console_dash,
    views_console_excel,
    views_console_field,
    views_console_rules,
    views_console_setup,
    views_me,
    views_me_cases,
    views_public,
    views_shop,
    views_sign_ins,
)
from .blueprint import bp
from .session import apply_cookies, current

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "media-src 'self' blob: mediastream:; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


def _security_headers(resp: Any) -> Any:
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["X-Frame-Options"] = "DENY"
    return resp


bp.before_request(i18n.switch_language)
bp.after_request(apply_cookies)
bp.after_request(_security_headers)


def init_app(app: Flask) -> None:

    Babel(app, locale_selector=i18n.select_locale, default_locale=i18n.DEFAULT,
          default_timezone=app.extensions["gridsync.settings"].babel_default_timezone)
    app.jinja_env.filters.update(points=i18n.points, when=i18n.when, hours=i18n.hours,
                               value=i18n.value, day=i18n.day, activity=labels.activity,
                               outcome=labels.outcome)
    app.jinja_env.globals.update(lang_links=i18n.lang_links, html_lang=i18n.html_lang,
                                 web_user=current, origin_warning=qr.origin_warning)
    case_labels.init_app(app)
    views_me_cases.init_app(app)
    app.register_blueprint(bp)
