"""Small inline SVG charts for the 办结率 page: no image files, no JavaScript.

Each function returns ``Markup`` holding one ``<svg>`` with a ``<title>`` and
text labels, so the chart reads without colour and prints cleanly.
"""

from __future__ import annotations

from flask_babel import gettext as _
from markupsafe import Markup, escape

W, H, PAD, BOTTOM = 640, 220, 36, 28
RECEIVED, CLOSED, LINE = "#9aa5b1", "#b3261e", "#1e5631"


def _svg(title: str, body: list[str], height: int = H) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {W} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        + "".join(body) + "</svg>")


def _text(x: float, y: float, text: object, anchor: str = "middle", size: int = 11) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}">'
            f'{escape(str(text))}</text>')


def month_bars(series: list[dict]) -> Markup:
    """Received and closed per month, side by side."""
    top = max([1] + [max(s["received"], s["closed"]) for s in series])
    slot = (W - 2 * PAD) / max(1, len(series))
    bar = slot * 0.35
    body = [f'<line x1="{PAD}" y1="{H - BOTTOM}" x2="{W - PAD}" y2="{H - BOTTOM}" '
            'stroke="#c4c9d0"/>']
    for i, s in enumerate(series):
        x = PAD + i * slot + slot * 0.15
        for j, (key, colour) in enumerate((("received", RECEIVED), ("closed", CLOSED))):
            h = (H - BOTTOM - 20) * s[key] / top
            bx = x + j * bar
            body.append(f'<rect x="{bx:.1f}" y="{H - BOTTOM - h:.1f}" width="{bar:.1f}" '
                        f'height="{h:.1f}" fill="{colour}"><title>{escape(s["month"])} '
                        f'{escape(_("Received") if j == 0 else _("Closed"))}: {s[key]}'
                        '</title></rect>')
            if s[key]:
                body.append(_text(bx + bar / 2, H - BOTTOM - h - 3, s[key], size=9))
        body.append(_text(x + bar, H - BOTTOM + 14, s["month"][2:], size=10))
    body.append(f'<rect x="{PAD}" y="4" width="10" height="10" fill="{RECEIVED}"/>')
    body.append(_text(PAD + 14, 13, _("Received"), anchor="start"))
    body.append(f'<rect x="{PAD + 90}" y="4" width="10" height="10" fill="{CLOSED}"/>')
    body.append(_text(PAD + 104, 13, _("Closed"), anchor="start"))
    return _svg(_("Received and closed per month"), body)


def rate_line(series: list[dict]) -> Markup:
    """Closure rate per month (0–100 %), months with nothing received left out."""
    slot = (W - 2 * PAD) / max(1, len(series))
    scale = H - BOTTOM - 20
    body = []
    for pct in (0, 50, 100):
        y = H - BOTTOM - scale * pct / 100
        body.append(f'<line x1="{PAD}" y1="{y:.1f}" x2="{W - PAD}" y2="{y:.1f}" '
                    'stroke="#eceef1"/>')
        body.append(_text(PAD - 4, y + 4, f"{pct}%", anchor="end", size=10))
    points = []
    for i, s in enumerate(series):
        x = PAD + i * slot + slot / 2
        body.append(_text(x, H - BOTTOM + 14, s["month"][2:], size=10))
        if s["received"] - s["cancelled"] > 0:
            y = H - BOTTOM - scale * s["closure_rate_bp"] / 10000
            points.append(f"{x:.1f},{y:.1f}")
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{LINE}"><title>'
                        f'{escape(s["month"])}: {s["closure_rate_bp"] / 100:.2f}%</title>'
                        '</circle>')
    if len(points) > 1:
        body.insert(0, f'<polyline points="{" ".join(points)}" fill="none" stroke="{LINE}" '
                       'stroke-width="2"/>')
    return _svg(_("Closure rate per month"), body)


def _hbars(title: str, rows: list[tuple[str, int, int | None]]) -> Markup:
    """Horizontal bars: (label, value, second value drawn over it or None)."""
    top = max([1] + [v for _, v, _ in rows])
    row_h = 22
    height = max(40, row_h * len(rows) + 10)
    left = 150
    body = []
    for i, (label, value, inner) in enumerate(rows):
        y = 5 + i * row_h
        w = (W - left - 60) * value / top
        body.append(_text(left - 6, y + 14, label, anchor="end"))
        body.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="16" fill="{RECEIVED}"/>')
        if inner is not None:
            iw = (W - left - 60) * inner / top
            body.append(f'<rect x="{left}" y="{y + 4}" width="{iw:.1f}" height="8" '
                        f'fill="{CLOSED}"/>')
        body.append(_text(left + w + 6, y + 13, value if inner is None else f"{inner}/{value}",
                          anchor="start"))
    return _svg(title, body, height)


def rating_bars(ratings: dict[str, int]) -> Markup:
    stars = {"1": "★", "2": "★★", "3": "★★★", "4": "★★★★", "5": "★★★★★"}
    return _hbars(_("Ratings"), [(stars[k], ratings.get(k, 0), None) for k in sorted(stars)])


def category_bars(by_category: dict[str, dict[str, int]], names: dict[str, str]) -> Markup:
    return _hbars(_("By category: closed of received"),
                  [(names.get(k, k), v["received"], v["closed"])
                   for k, v in sorted(by_category.items(), key=lambda kv: -kv[1]["received"])])
