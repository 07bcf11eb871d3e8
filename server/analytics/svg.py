"""The console's and the report's two pictures as SVG text: a dwell heatmap over the store's floor plan and a
product funnel chart. Plain strings (no plotting library): they are small, crisp at any size, and a browser,
an image viewer or a mail client shows them as they are."""

from __future__ import annotations

import math
from html import escape
from typing import Any

import numpy as np

from server.analytics.aggregate import STAGES

STAGE_LABELS = {"seen": "seen", "picked_up": "picked up", "tried_on": "tried on", "in_bag": "in bag",
                "bought": "bought"}
_RAMP = ((255, 245, 200), (253, 174, 97), (215, 48, 39), (127, 0, 38))  # light to dark: more dwell


def _colour(t: float) -> str:
    t = min(max(t, 0.0), 1.0) * (len(_RAMP) - 1)
    i = min(int(t), len(_RAMP) - 2)
    f = t - i
    r, g, b = (round(a + (b - a) * f) for a, b in zip(_RAMP[i], _RAMP[i + 1], strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(figures: dict[str, Any], floor: np.ndarray, walls: list[tuple[tuple[float, float], tuple[float, float]]],
            fixtures: list[np.ndarray], title: str, px_per_m: float = 24.0) -> str:
    """`figures`: a published day or a merge (cells with `dwell_s`); floor: (V, 2) x, z polygon; fixtures'
    footprints as (4, 2) corners. North (-z) is up, as on the client's store map."""
    x0, z0 = floor.min(axis=0) - 0.5
    x1, z1 = floor.max(axis=0) + 0.5
    w, h = (x1 - x0) * px_per_m, (z1 - z0) * px_per_m + 48

    def pt(x: float, z: float) -> str:
        return f"{(x - x0) * px_per_m:.1f},{(z - z0) * px_per_m + 40:.1f}"

    cell = figures["cell_m"]
    cells = figures["cells"]
    top = max((c["dwell_s"] for c in cells), default=0.0)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.0f} {h:.0f}"'
             f' role="img" aria-label="{escape(title)}">',
             '<rect width="100%" height="100%" fill="#ffffff"/>',
             f'<text x="8" y="24" font-family="sans-serif" font-size="16" fill="#1d2330">{escape(title)}</text>',
             f'<polygon points="{" ".join(pt(x, z) for x, z in floor)}" fill="#eef1f5" stroke="#8a94a6"/>']
    for c in cells:
        # Square-root scale: a few long dwells at the till would otherwise wash out the rest of the floor.
        t = math.sqrt(c["dwell_s"] / top) if top > 0 else 0.0
        x, z = c["x"] * cell, c["z"] * cell
        parts.append(f'<rect x="{(x - x0) * px_per_m:.1f}" y="{(z - z0) * px_per_m + 40:.1f}" '
                     f'width="{cell * px_per_m:.1f}" height="{cell * px_per_m:.1f}" fill="{_colour(t)}" '
                     f'fill-opacity="0.85"><title>{c["dwell_s"]:.0f} s</title></rect>')
    for corners in fixtures:
        parts.append(f'<polygon points="{" ".join(pt(x, z) for x, z in corners)}" fill="none" stroke="#4b5567" '
                     'stroke-width="1" stroke-dasharray="3 2"/>')
    for (ax, az), (bx, bz) in walls:
        parts.append(f'<polyline points="{pt(ax, az)} {pt(bx, bz)}" stroke="#1d2330" stroke-width="3"/>')
    if not cells:
        parts.append(f'<text x="{w / 2:.0f}" y="{h / 2:.0f}" text-anchor="middle" font-family="sans-serif" '
                     'font-size="14" fill="#4b5567">Not enough visitors yet to show where they went.</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def funnel_chart(figures: dict[str, Any], names: dict[str, str], title: str, top_n: int = 8) -> str:
    """Horizontal bars per product and stage, the products most seen first; left-out stages read '<min'."""
    rows = sorted(figures["funnel"].items(), key=lambda kv: -(kv[1].get("seen") or 0))[:top_n]
    bar_w, label_w, row_h = 200.0, 96.0, 18  # narrow: a phone shows it at about 300 px and the words stay readable
    most = max((n or 0 for _, row in rows for n in row.values()), default=0) or 1
    h = 52 + len(rows) * (len(STAGES) * row_h + 24) + (24 if not rows else 0)
    w = label_w + bar_w + 48
    floor = figures.get("min_visitors")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.0f} {h:.0f}"'
             f' role="img" aria-label="{escape(title)}">', '<rect width="100%" height="100%" fill="#ffffff"/>',
             f'<text x="8" y="24" font-family="sans-serif" font-size="16" fill="#1d2330">{escape(title)}</text>']
    y = 44.0
    for product, row in rows:
        parts.append(f'<text x="8" y="{y + 12:.0f}" font-family="sans-serif" font-size="13" font-weight="bold" '
                     f'fill="#1d2330">{escape(names.get(product, product))}</text>')
        y += 8  # the stages start below the product's name, never beside it
        for stage in STAGES:
            n = row.get(stage)
            y += row_h
            parts.append(f'<text x="{label_w - 8:.0f}" y="{y + 1:.0f}" text-anchor="end" font-family="sans-serif" '
                         f'font-size="12" fill="#4b5567">{STAGE_LABELS[stage]}</text>')
            if n:
                parts.append(f'<rect x="{label_w:.0f}" y="{y - 11:.0f}" width="{max(2.0, bar_w * n / most):.1f}" '
                             f'height="13" fill="#1f7ae0"/>')
            shown = str(n) if n is not None else (f"<{floor}" if floor else "–")
            parts.append(f'<text x="{label_w + (bar_w * (n or 0) / most) + 6:.0f}" y="{y + 1:.0f}" '
                         f'font-family="sans-serif" font-size="12" fill="#1d2330">{escape(shown)}</text>')
        y += 16
    if not rows:
        parts.append('<text x="8" y="60" font-family="sans-serif" font-size="14" fill="#4b5567">'
                     'Not enough visitors yet for a funnel.</text>')
    parts.append("</svg>")
    return "\n".join(parts)
