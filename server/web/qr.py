"""QR codes as inline SVG (segno): no image files, no JavaScript; and the address the
printed and scanned links start with."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import segno
from flask import request
from flask_babel import gettext as _
from markupsafe import Markup

from ..config import settings


def public_origin() -> str:
    """``https://host`` (no trailing slash) for links people scan or type from paper:
    ``GRIDSYNC_PUBLIC_URL`` when set (behind a proxy, or printed for another network),
    else the address this request came to."""
    return (settings().public_url or request.host_url).rstrip("/")


def origin_warning() -> str | None:
    """What is wrong with :func:`public_origin` for paper and phones, or None: this
    machine's own address (the office uses the console on the server itself, so every
    QR says 127.0.0.1), or plain http (the field app needs https; reports travel in clear)."""
    origin = public_origin()
    parts = urlsplit(origin)
    host = (parts.hostname or "").lower()
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost" or host.endswith(".localhost")
    if loopback:
        return _("The codes and links on this page start with %(origin)s, this computer's own "
                 "address: phones that scan them cannot open it. Before printing, set "
                 "GRIDSYNC_PUBLIC_URL in the server's settings (/etc/gridsync/gridsync.env, see "
                 "docs/operations.md) to the address phones reach the server at, for example "
                 "https://jifen.example.cn, and restart the server.", origin=origin)
    if parts.scheme != "https":
        return _("The codes and links on this page start with %(origin)s, a plain http "
                 "address: the field app on phones needs https, and what people send is not "
                 "encrypted. Set GRIDSYNC_PUBLIC_URL in the server's settings "
                 "(/etc/gridsync/gridsync.env, see docs/operations.md) to the server's https "
                 "address and restart the server.", origin=origin)
    return None


def qr_svg(data: str, *, title: str = "") -> Markup:
    code = segno.make(data, error="m")
    svg = code.svg_inline(scale=4, border=2, omitsize=True, svgclass="qr",
                          title=title or None, dark="#000", light="#fff")
    return Markup(svg)  # segno escapes the title; the rest is generated markup
