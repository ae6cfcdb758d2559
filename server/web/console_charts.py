"""Charts as inline SVG drawn on the server: no script, no image files, readable on a
360 px phone (the SVG scales to the width), printable. Every chart has a table of
its numbers beside it on the page; the SVG carries a <title> for screen readers."""

from __future__ import annotations

from markupsafe import Markup, escape

COLOURS = ("#b3261e", "#6b7785", "#e0a33b")
WIDTH, HEIGHT = 300, 180
LEFT, BOTTOM, TOP = 34, 24, 10


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def bars(title: str, labels: list[str], series: list[tuple[str, list[float]]]) -> Markup:
    """Grouped vertical bars: one group per label, one bar per series."""
    top = _nice_max(max((v for _n, values in series for v in values), default=0))
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - BOTTOM - TOP
    group = plot_w / max(len(labels), 1)
    bar = group * 0.8 / max(len(series), 1)
    parts = [f'<svg class="chart console-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i in range(3):
        y = TOP + plot_h * i / 2
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - 4}" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="#e2e4e8" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 3}" y="{y + 3:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#5b6470">{escape(_fmt(top * (2 - i) / 2))}</text>')
    for gi, label in enumerate(labels):
        x0 = LEFT + gi * group + group * 0.1
        for si, (_name, values) in enumerate(series):
            value = values[gi] if gi < len(values) else 0
            h = plot_h * value / top
            parts.append(f'<rect x="{x0 + si * bar:.1f}" y="{TOP + plot_h - h:.1f}" '
                         f'width="{max(bar - 1, 1):.1f}" height="{h:.1f}" '
                         f'fill="{COLOURS[si % len(COLOURS)]}"><title>{escape(label)}: '
                         f'{escape(_fmt(value))}</title></rect>')
        # Every other label (the last one always), so they never run together on a
        # phone; each bar's own <title> and the table beside the chart name them all.
        if (len(labels) - 1 - gi) % 2 == 0:
            parts.append(f'<text x="{x0 + group * 0.4:.1f}" y="{HEIGHT - 8}" '
                         f'text-anchor="middle" font-size="11" fill="#5b6470">'
                         f'{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def hbars(title: str, items: list[tuple[str, float]]) -> Markup:
    """Horizontal bars, one per item, the label above its bar and the number after it."""
    row = 32
    height = max(len(items), 1) * row + 4
    top = _nice_max(max((v for _l, v in items), default=0))
    usable = WIDTH - 50
    parts = [f'<svg class="chart console-chart" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(items):
        y = i * row + 2
        w = usable * value / top
        parts.append(f'<text x="0" y="{y + 11}" font-size="12" fill="#1d2329">'
                     f'{escape(label[:40])}</text>')
        parts.append(f'<rect x="0" y="{y + 15}" width="{max(w, 1):.1f}" height="11" '
                     f'fill="{COLOURS[0]}"/>')
        parts.append(f'<text x="{w + 4:.1f}" y="{y + 25}" font-size="11" fill="#5b6470">'
                     f'{escape(_fmt(value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
