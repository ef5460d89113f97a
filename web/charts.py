"""Charts as SVG rendered on the server: pure functions from numbers to markup.

Why SVG from the server rather than a JavaScript library: a page's chart is
drawn from the same rows as the table beside it, in the same request, with no
script to load, nothing fetched at run time, no client-side state to test
apart; it prints (the executive report) and scales to any width. Each chart is
an `<svg role="img">` with a title and a description, every mark carries a
`<title>` with its exact figure (a tooltip, and text for a screen reader), and
the page always shows the numbers as a table too.

Pure: no Django. Text is escaped here; the caller marks the result safe.
Colours and line styles come from CSS classes (`chart-series-N`,
`chart-threshold`, ...) in the one stylesheet, with plain attributes as the
fallback when the SVG is seen on its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

# The drawing area inside the viewBox; the SVG scales to its container's width.
WIDTH = 640
HEIGHT = 240
MARGIN_LEFT = 44
MARGIN_RIGHT = 12
MARGIN_TOP = 12
MARGIN_BOTTOM = 28
PALETTE = ("#1f5fbf", "#c2410c", "#15803d", "#7c3aed")


@dataclass(frozen=True)
class Threshold:
    """A horizontal line across the chart, such as a band's lower bound."""

    label: str
    value: float


@dataclass(frozen=True)
class DateSeries:
    """One line over days; a None value is a gap (no figure that day)."""

    name: str
    points: Sequence[tuple[date, float | None]]


@dataclass(frozen=True)
class BarGroup:
    """One category (a month, a channel) and its value per series; None: no figure."""

    label: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class Interval:
    """An estimate with its interval (lift with its 95% interval), per row."""

    label: str
    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class ScatterPoint:
    """A point of a scatter, its area proportional to `size` (>= 0)."""

    label: str
    x: float
    y: float
    size: float = 1.0


def nice_ticks(low: float, high: float, *, count: int = 6) -> list[float]:
    """About `count` round tick values covering [low, high]: steps of 1, 2 or 5
    times a power of ten, the first at or below `low` and the last at or above
    `high`."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"ticks need finite bounds, got {low!r} and {high!r}")
    if high < low:
        low, high = high, low
    if high == low:
        high = low + 1
    raw_step = (high - low) / max(1, count - 1)
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw_step)
    first = math.floor(low / step) * step
    last = math.ceil(high / step) * step
    ticks_count = round((last - first) / step) + 1
    # Rounded to the step's decimals, so 0.1 + 0.2 prints as 0.3.
    decimals = max(0, -math.floor(math.log10(step)))
    return [round(first + i * step, decimals) for i in range(ticks_count)]


def number_label(value: float) -> str:
    """A tick or tooltip figure: thousands separated, no trailing zeros."""
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def month_starts(first: date, last: date) -> list[date]:
    """The first day of each month from `first`'s month after it to `last`."""
    months: list[date] = []
    year, month = first.year, first.month
    while True:
        month += 1
        if month == 13:
            year, month = year + 1, 1
        start = date(year, month, 1)
        if start > last:
            return months
        months.append(start)


class _Frame:
    """Maps values to viewBox coordinates over the drawing area."""

    def __init__(self, *, x_low: float, x_high: float, y_low: float, y_high: float) -> None:
        self.x_low, self.x_high = x_low, x_high if x_high != x_low else x_low + 1
        self.y_low, self.y_high = y_low, y_high if y_high != y_low else y_low + 1

    def x(self, value: float) -> float:
        share = (value - self.x_low) / (self.x_high - self.x_low)
        return round(MARGIN_LEFT + share * (WIDTH - MARGIN_LEFT - MARGIN_RIGHT), 1)

    def y(self, value: float) -> float:
        share = (value - self.y_low) / (self.y_high - self.y_low)
        return round(HEIGHT - MARGIN_BOTTOM - share * (HEIGHT - MARGIN_TOP - MARGIN_BOTTOM), 1)


def _svg(*, chart_id: str, title: str, description: str, body: list[str]) -> str:
    ident = escape(chart_id)
    return "\n".join(
        [
            f'<svg class="chart" id="{ident}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-labelledby="{ident}-title {ident}-desc" '
            'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
            f'<title id="{ident}-title">{escape(title)}</title>',
            f'<desc id="{ident}-desc">{escape(description)}</desc>',
            *body,
            "</svg>",
        ]
    )


def _y_axis(frame: _Frame, ticks: Sequence[float]) -> list[str]:
    marks = []
    for tick in ticks:
        y = frame.y(tick)
        marks.append(
            f'<line class="chart-grid" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" '
            f'y1="{y}" y2="{y}" stroke="#e5e7eb" />'
        )
        marks.append(
            f'<text class="chart-tick" x="{MARGIN_LEFT - 6}" y="{y + 4}" '
            f'text-anchor="end" font-size="11">{escape(number_label(tick))}</text>'
        )
    return marks


def _x_label(x: float, text: str) -> str:
    return (
        f'<text class="chart-tick" x="{x}" y="{HEIGHT - MARGIN_BOTTOM + 16}" '
        f'text-anchor="middle" font-size="11">{escape(text)}</text>'
    )


def _thresholds(frame: _Frame, thresholds: Sequence[Threshold]) -> list[str]:
    marks = []
    for threshold in thresholds:
        y = frame.y(threshold.value)
        label = f"{threshold.label} ({number_label(threshold.value)})"
        marks.append(
            f'<line class="chart-threshold" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" '
            f'y1="{y}" y2="{y}" stroke="#6b7280" stroke-dasharray="4 3">'
            f"<title>{escape(label)}</title></line>"
        )
        marks.append(
            # A halo of the background colour keeps the label legible where the
            # series line runs through it.
            f'<text class="chart-threshold-label" x="{WIDTH - MARGIN_RIGHT - 2}" y="{y - 3}" '
            'text-anchor="end" font-size="10" paint-order="stroke" stroke="#ffffff" '
            f'stroke-width="3" stroke-linejoin="round">{escape(label)}</text>'
        )
    return marks


def _segments(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive points with a value: a None breaks the line."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((x, y))
    return [run for run in runs if run]


def date_line_chart(
    *,
    chart_id: str,
    title: str,
    series: Sequence[DateSeries],
    y_low: float | None = None,
    y_high: float | None = None,
    thresholds: Sequence[Threshold] = (),
    point_marks: bool = True,
) -> str:
    """Lines over days (a score's trend), with month ticks, horizontal
    thresholds (band bounds) and a circle with its figure at every day that has
    one. An empty chart says so in its description."""
    days = [day for line in series for day, _ in line.points]
    values = [v for line in series for _, v in line.points if v is not None]
    if not days:
        return _svg(chart_id=chart_id, title=title, description="No data.", body=[])
    lows = [*values, *(t.value for t in thresholds)] or [0.0]
    ticks = nice_ticks(
        min(lows) if y_low is None else y_low,
        max(lows) if y_high is None else y_high,
    )
    first, last = min(days), max(days)
    frame = _Frame(
        x_low=first.toordinal(), x_high=last.toordinal(), y_low=ticks[0], y_high=ticks[-1]
    )
    body = _y_axis(frame, ticks) + _thresholds(frame, thresholds)
    for month in month_starts(first, last):
        text = month.strftime("%b") if month.month != 1 else month.strftime("%Y")
        body.append(_x_label(frame.x(month.toordinal()), text))
    for index, line in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        css = f"chart-series chart-series-{index}"
        xy = [
            (frame.x(day.toordinal()), None if v is None else frame.y(v)) for day, v in line.points
        ]
        for run in _segments(xy):
            path = " ".join(f"{x},{y}" for x, y in run)
            body.append(
                f'<polyline class="{css}" points="{path}" fill="none" stroke="{colour}" '
                'stroke-width="2" />'
            )
        if point_marks:
            for day, value in line.points:
                if value is None:
                    continue
                tip = f"{line.name}, {day.isoformat()}: {number_label(value)}"
                body.append(
                    f'<circle class="{css} chart-point" cx="{frame.x(day.toordinal())}" '
                    f'cy="{frame.y(value)}" r="2.5" fill="{colour}">'
                    f"<title>{escape(tip)}</title></circle>"
                )
    description = (
        f"{', '.join(line.name for line in series)} from {first.isoformat()} to "
        f"{last.isoformat()}; {len(values)} points"
        + (f"; lines at {', '.join(t.label for t in thresholds)}" if thresholds else "")
        + ". The same figures are in the table beside the chart."
    )
    return _svg(chart_id=chart_id, title=title, description=description, body=body)


def bar_chart(
    *, chart_id: str, title: str, series_names: Sequence[str], groups: Sequence[BarGroup]
) -> str:
    """Grouped vertical bars (spend, pipeline and won revenue by month) from 0,
    negatives drawn below the axis; a None value draws no bar."""
    values = [v for group in groups for v in group.values if v is not None]
    if not groups or not values:
        return _svg(chart_id=chart_id, title=title, description="No data.", body=[])
    ticks = nice_ticks(min(0.0, *values), max(0.0, *values))
    frame = _Frame(x_low=0, x_high=len(groups), y_low=ticks[0], y_high=ticks[-1])
    body = _y_axis(frame, ticks)
    slot = frame.x(1) - frame.x(0)
    bar_width = round(slot * 0.8 / max(1, len(series_names)), 1)
    zero = frame.y(0)
    for index, group in enumerate(groups):
        left = frame.x(index) + slot * 0.1
        body.append(_x_label(round(frame.x(index) + slot / 2, 1), group.label))
        for position, value in enumerate(group.values):
            if value is None:
                continue
            top = min(zero, frame.y(value))
            height = round(abs(frame.y(value) - zero), 1)
            name = series_names[position]
            tip = f"{name}, {group.label}: {number_label(value)}"
            body.append(
                f'<rect class="chart-series chart-series-{position}" '
                f'x="{round(left + position * bar_width, 1)}" y="{top}" width="{bar_width}" '
                f'height="{height}" fill="{PALETTE[position % len(PALETTE)]}">'
                f"<title>{escape(tip)}</title></rect>"
            )
    description = (
        f"{', '.join(series_names)} for {len(groups)} groups "
        f"({groups[0].label} to {groups[-1].label}). The same figures are in the table beside."
    )
    return _svg(chart_id=chart_id, title=title, description=description, body=body)


def interval_chart(*, chart_id: str, title: str, rows: Sequence[Interval]) -> str:
    """Horizontal error bars: each row's estimate as a dot on its interval, with
    the zero line drawn, so an interval that crosses zero shows at a glance."""
    if not rows:
        return _svg(chart_id=chart_id, title=title, description="No data.", body=[])
    ticks = nice_ticks(min(0.0, *(r.low for r in rows)), max(0.0, *(r.high for r in rows)))
    # Rows go down the chart: x is the value, y the row's slot.
    frame = _Frame(x_low=ticks[0], x_high=ticks[-1], y_low=len(rows), y_high=0)
    body = []
    for tick in ticks:
        x = frame.x(tick)
        body.append(
            f'<line class="chart-grid" x1="{x}" x2="{x}" y1="{MARGIN_TOP}" '
            f'y2="{HEIGHT - MARGIN_BOTTOM}" stroke="#e5e7eb" />'
        )
        body.append(_x_label(x, number_label(tick)))
    zero = frame.x(0)
    body.append(
        f'<line class="chart-zero" x1="{zero}" x2="{zero}" y1="{MARGIN_TOP}" '
        f'y2="{HEIGHT - MARGIN_BOTTOM}" stroke="#111827" />'
    )
    for index, row in enumerate(rows):
        y = frame.y(index + 0.5)
        tip = (
            f"{row.label}: {number_label(row.estimate)} "
            f"[{number_label(row.low)}, {number_label(row.high)}]"
        )
        body.append(
            f'<g class="chart-interval"><title>{escape(tip)}</title>'
            f'<line x1="{frame.x(row.low)}" x2="{frame.x(row.high)}" y1="{y}" y2="{y}" '
            f'stroke="{PALETTE[0]}" stroke-width="2" />'
            f'<circle cx="{frame.x(row.estimate)}" cy="{y}" r="4" fill="{PALETTE[0]}" /></g>'
        )
    description = (
        f"{len(rows)} estimates with their intervals, against zero. "
        "The same figures are in the table beside."
    )
    return _svg(chart_id=chart_id, title=title, description=description, body=body)


def scatter_chart(
    *, chart_id: str, title: str, x_name: str, y_name: str, points: Sequence[ScatterPoint]
) -> str:
    """Points by two measures (spend against attributed pipeline), each circle's
    area proportional to its size (lift; 0 or less draws the smallest)."""
    if not points:
        return _svg(chart_id=chart_id, title=title, description="No data.", body=[])
    x_ticks = nice_ticks(min(0.0, *(p.x for p in points)), max(p.x for p in points))
    y_ticks = nice_ticks(min(0.0, *(p.y for p in points)), max(p.y for p in points))
    frame = _Frame(x_low=x_ticks[0], x_high=x_ticks[-1], y_low=y_ticks[0], y_high=y_ticks[-1])
    body = _y_axis(frame, y_ticks)
    for tick in x_ticks:
        body.append(_x_label(frame.x(tick), number_label(tick)))
    largest = max((p.size for p in points), default=0.0)
    for point in points:
        share = max(0.0, point.size) / largest if largest > 0 else 0.0
        radius = round(3 + 12 * math.sqrt(share), 1)
        tip = (
            f"{point.label}: {x_name} {number_label(point.x)}, {y_name} {number_label(point.y)}, "
            f"size {number_label(point.size)}"
        )
        body.append(
            f'<circle class="chart-series chart-series-0 chart-point" cx="{frame.x(point.x)}" '
            f'cy="{frame.y(point.y)}" r="{radius}" fill="{PALETTE[0]}" fill-opacity="0.6">'
            f"<title>{escape(tip)}</title></circle>"
        )
    description = (
        f"{len(points)} points, {x_name} across and {y_name} up. "
        "The same figures are in the table beside."
    )
    return _svg(chart_id=chart_id, title=title, description=description, body=body)
