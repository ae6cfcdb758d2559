"""The field app for grid workers' phones, served at ``/field/`` (docs/field-app.md).

Static files only: an HTML shell, plain ES modules, CSS, icons, a web app
manifest and a service worker. Everything the app does goes through the sync
API (``/api/v1``) exactly as ``client_sdk`` does; nothing here reads the
database.

The service worker is served from ``/field/sw.js`` (so its scope is
``/field/``) with the list of shell files and a version made from their
contents, so a new release replaces the cached shell at the next visit and
an unchanged one is never downloaded twice.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Flask, Response, redirect, send_from_directory

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/field"
#: Files of static/ served at their own address (or not fetched by the app at all).
SERVED_ELSEWHERE = ("index.html", "sw.js", "manifest.webmanifest", "LICENSE", "VERSION")

#: Strict by default: only this origin, no inline script or style, no framing.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; media-src 'self' blob: mediastream:; worker-src 'self'; "
       "manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")

bp = Blueprint("field", __name__, static_folder=str(STATIC),
               static_url_path=f"{PREFIX}/static")


def shell_files() -> list[str]:
    """The files under /field/static/ the app uses, relative to static/ (sorted). The
    licences are never fetched by the app, so they are not cached."""
    return sorted(p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*")
                  if p.is_file() and p.name not in SERVED_ELSEWHERE
                  and not p.name.startswith("."))


@lru_cache(maxsize=1)
def _shell() -> tuple[str, list[str]]:
    files = shell_files()
    digest = hashlib.sha256()
    for name in files + ["index.html", "sw.js", "manifest.webmanifest"]:
        digest.update(name.encode() + b"\0" + (STATIC / name).read_bytes())
    urls = [f"{PREFIX}/", f"{PREFIX}/manifest.webmanifest"]
    return digest.hexdigest()[:16], urls + [f"{PREFIX}/static/{name}" for name in files]


def _headers(resp: Response) -> Response:
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["X-Frame-Options"] = "DENY"
    # The service worker caches the shell; the browser's own cache must not hide a
    # new release from it.
    resp.headers["Cache-Control"] = "no-cache"
    return resp


bp.after_request(_headers)


@bp.get(PREFIX)
def no_slash() -> Response:
    return redirect(f"{PREFIX}/", code=301)  # type: ignore[return-value]


@bp.get(f"{PREFIX}/")
def index() -> Response:
    return send_from_directory(STATIC, "index.html", mimetype="text/html")


@bp.get(f"{PREFIX}/manifest.webmanifest")
def manifest() -> Response:
    resp = send_from_directory(STATIC, "manifest.webmanifest",
                               mimetype="application/manifest+json")
    return resp


@bp.get(f"{PREFIX}/sw.js")
def service_worker() -> Response:
    version, urls = _shell()
    head = f"const SHELL = {json.dumps({'version': version, 'files': urls})};\n"
    body = head + (STATIC / "sw.js").read_text(encoding="utf-8")
    resp = Response(body, mimetype="text/javascript")
    resp.headers["Service-Worker-Allowed"] = f"{PREFIX}/"
    return resp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
