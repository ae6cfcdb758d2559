"""Languages (zh_CN by default, English on request) and local number/date formats."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import g, redirect, request
from flask_babel import format_date, format_datetime, format_decimal

from primitives import times

LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT = "zh_CN"


def select_locale() -> str:
    """?lang= (this request), else the gs_lang cookie, else the browser's
    Accept-Language (Chinese or English, whichever it prefers), else Chinese."""
    for candidate in (g.get("set_lang"), request.cookies.get("gs_lang")):
        if candidate in LANGUAGES:
            return candidate
    for lang, _quality in request.accept_languages:
        code = lang.lower()
        if code.startswith("zh"):
            return "zh_CN"
        if code.startswith("en"):
            return "en"
    return DEFAULT


def switch_language() -> Any:
    """before_request: ``?lang=en`` remembers the choice in a cookie and reloads the
    page at its clean address (same path, the other query arguments kept)."""
    lang = request.args.get("lang")
    if lang is None or request.method != "GET":
        return None
    if lang in LANGUAGES:
        g.set_lang = lang
    rest = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    return redirect(request.path + ("?" + urlencode(rest) if rest else ""), 303)


def lang_links() -> list[tuple[str, str, bool]]:
    """(code, label, is current) for the language switch in the page header."""
    here = select_locale()
    path = request.path if request.method == "GET" else "/"
    return [(f"{path}?lang={code}", label, code == here) for code, label in LANGUAGES.items()]


def html_lang() -> str:
    return "zh-CN" if select_locale() == "zh_CN" else "en"


def points(value: int | None) -> str:
    return format_decimal(value or 0)


def when(text: str | None, fmt: str = "medium") -> str:
    """An RFC 3339 'Z' time in the configured time zone and the reader's format."""
    if not text:
        return ""
    return format_datetime(times.parse(text), fmt)


def day(text: str | None) -> str:
    """The local calendar date of an RFC 3339 'Z' time, in the reader's short format."""
    if not text:
        return ""
    return format_date(times.parse(text), "short")


def hours(minutes: int | None) -> str:
    return format_decimal((minutes or 0) / 60, format="#,##0.#")


def value(v: Any) -> str:
    """A synced field value as people read it: text as is, anything else as JSON."""
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    import json

    return json.dumps(v, ensure_ascii=False)
