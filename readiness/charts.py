"""Pure: the backtest's reliability chart as a standalone SVG (docs/readiness.md).

Predicted probability (x) against observed rate (y), one point per decile bin
and a line per method, with the diagonal a calibrated model would sit on.
readiness may not import web (layers), so this small drawing is its own; no
Django here. Every point carries a <title> with its exact figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from readiness.metrics import ReliabilityBin

SIZE = 360
MARGIN = 44
COLOURS = ("#1f5fbf", "#c2410c", "#15803d", "#7c3aed")
DASHES = ("", "6 3", "2 3", "8 2 2 2")


def reliability_svg(
    *, title: str, tables: Mapping[str, Sequence[ReliabilityBin]], top: float | None = None
) -> str:
    """`tables`: method label -> its reliability table. Both axes run from 0 to
    `top` (default: the largest figure rounded up to a tenth)."""
    figures = [
        v
        for table in tables.values()
        for row in table
        for v in (row.mean_predicted, row.observed_rate)
    ]
    if top is None:
        top = max(0.1, (int(max(figures, default=0.0) * 10) + 1) / 10)
    inner = SIZE - 2 * MARGIN

    def x(value: float) -> float:
        return MARGIN + inner * min(value, top) / top

    def y(value: float) -> float:
        return SIZE - MARGIN - inner * min(value, top) / top

    body = [
        f'<rect x="{MARGIN}" y="{MARGIN}" width="{inner}" height="{inner}" fill="none" '
        'stroke="#999"/>',
        f'<line x1="{x(0):.1f}" y1="{y(0):.1f}" x2="{x(top):.1f}" y2="{y(top):.1f}" '
        'stroke="#999" stroke-dasharray="3 3"><title>perfect calibration</title></line>',
    ]
    for step in range(6):
        value = top * step / 5
        body.append(
            f'<text x="{x(value):.1f}" y="{SIZE - MARGIN + 14}" font-size="10" '
            f'text-anchor="middle">{value:.2f}</text>'
        )
        body.append(
            f'<text x="{MARGIN - 4}" y="{y(value) + 3:.1f}" font-size="10" '
            f'text-anchor="end">{value:.2f}</text>'
        )
    body.append(
        f'<text x="{SIZE / 2}" y="{SIZE - 8}" font-size="11" text-anchor="middle">'
        "mean predicted probability (decile)</text>"
    )
    body.append(
        f'<text x="12" y="{SIZE / 2}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {SIZE / 2})">observed rate</text>'
    )
    for number, (label, table) in enumerate(tables.items()):
        colour, dash = COLOURS[number % len(COLOURS)], DASHES[number % len(DASHES)]
        points = " ".join(f"{x(r.mean_predicted):.1f},{y(r.observed_rate):.1f}" for r in table)
        dashing = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" '
            f'stroke-width="1.5"{dashing}/>'
        )
        for row in table:
            tip = (
                f"{label}, decile {row.bin}: predicted {row.mean_predicted:.3f}, "
                f"observed {row.observed_rate:.3f} ({row.positives} of {row.count})"
            )
            body.append(
                f'<circle cx="{x(row.mean_predicted):.1f}" cy="{y(row.observed_rate):.1f}" '
                f'r="3" fill="{colour}"><title>{escape(tip)}</title></circle>'
            )
        legend_y = MARGIN + 14 + 14 * number
        body.append(
            f'<line x1="{MARGIN + 8}" y1="{legend_y - 4}" x2="{MARGIN + 28}" '
            f'y2="{legend_y - 4}" stroke="{colour}" stroke-width="1.5"{dashing}/>'
        )
        body.append(f'<text x="{MARGIN + 32}" y="{legend_y}" font-size="10">{escape(label)}</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" role="img" '
        f'width="{SIZE}" height="{SIZE}"><title>{escape(title)}</title>'
        f'<text x="{MARGIN}" y="{MARGIN - 10}" font-size="12">{escape(title)}</text>'
        + "".join(body)
        + "</svg>\n"
    )
