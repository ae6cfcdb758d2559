"""QR codes as inline SVG (segno): no image files, no JavaScript."""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(data: str, *, title: str = "") -> Markup:
    code = segno.make(data, error="m")
    svg = code.svg_inline(scale=4, border=2, omitsize=True, svgclass="qr",
                          title=title or None, dark="#000", light="#fff")
    return Markup(svg)  # segno escapes the title; the rest is generated markup
