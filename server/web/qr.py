"""QR codes as inline SVG (segno): no image files, no JavaScript; and the address the
printed and scanned links start with."""

from __future__ import annotations

import segno
from flask import request
from markupsafe import Markup

from ..config import settings


def public_origin() -> str:
    """``https://host`` (no trailing slash) for links people scan or type from paper:
    ``GRIDSYNC_PUBLIC_URL`` when set (behind a proxy, or printed for another network),
    else the address this request came to."""
    return (settings().public_url or request.host_url).rstrip("/")


def qr_svg(data: str, *, title: str = "") -> Markup:
    code = segno.make(data, error="m")
    svg = code.svg_inline(scale=4, border=2, omitsize=True, svgclass="qr",
                          title=title or None, dark="#000", light="#fff")
    return Markup(svg)  # segno escapes the title; the rest is generated markup
