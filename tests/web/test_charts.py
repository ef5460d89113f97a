"""Server-rendered SVG charts: every mark where the numbers put it, computed by
hand from the drawing area (viewBox 640 x 240; plot from x 44 to 628, y 212 at
the lowest tick up to 12 at the highest)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from web.charts import (
    BarGroup,
    DateSeries,
    Interval,
    ScatterPoint,
    Threshold,
    bar_chart,
    date_line_chart,
    interval_chart,
    month_starts,
    nice_ticks,
    number_label,
    scatter_chart,
)

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own markup; also proves it is well-formed


def _all(root: ET.Element, tag: str, css: str = "") -> list[ET.Element]:
    return [e for e in root.iter(SVG + tag) if css in e.get("class", "")]


def _num(element: ET.Element, attribute: str) -> float:
    return float(element.get(attribute, "nan"))


def _child(element: ET.Element, tag: str) -> ET.Element:
    child = element.find(SVG + tag)
    assert child is not None, f"no <{tag}> in <{element.tag}>"
    return child


def _text(element: ET.Element, tag: str) -> str:
    return _child(element, tag).text or ""


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0, 100, [0, 20, 40, 60, 80, 100]),
        (-3.2, 7.9, [-5, 0, 5, 10]),
        (0, 0.7, [0, 0.2, 0.4, 0.6, 0.8]),
        (12, 12, [12, 12.2, 12.4, 12.6, 12.8, 13]),
        (250_000, 1_730_000, [0, 500_000, 1_000_000, 1_500_000, 2_000_000]),
    ],
)
def test_ticks_are_round_steps_covering_the_range(
    low: float, high: float, ticks: list[float]
) -> None:
    assert nice_ticks(low, high) == ticks


def test_ticks_refuse_a_bound_that_is_not_a_number() -> None:
    with pytest.raises(ValueError, match="finite"):
        nice_ticks(0, float("nan"))


def test_figures_print_with_separators_and_no_trailing_zeros() -> None:
    assert [number_label(v) for v in (1000, 1234.5, 0.25, -7.0, 2.125)] == [
        "1,000", "1,234.5", "0.25", "-7", "2.12",
    ]  # fmt: skip


def test_month_ticks_are_the_first_days_after_the_first_day() -> None:
    assert month_starts(date(2025, 11, 15), date(2026, 2, 1)) == [
        date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1),
    ]  # fmt: skip


def test_a_score_trend_puts_each_day_and_band_line_where_it_belongs() -> None:
    series = DateSeries(
        name="Mid-market SaaS",
        points=[(date(2026, 1, 1), 0.0), (date(2026, 1, 2), None), (date(2026, 1, 3), 50.0),
                (date(2026, 1, 5), 100.0)],
    )  # fmt: skip
    root = _parse(
        date_line_chart(
            chart_id="trend", title="Score <trend>", series=[series], y_low=0, y_high=100,
            thresholds=[Threshold("engaged", 41), Threshold("qualified", 61)],
        )
    )  # fmt: skip

    assert root.get("role") == "img"
    assert _text(root, "title") == "Score <trend>"  # escaped, read back as text
    points = [(_num(c, "cx"), _num(c, "cy")) for c in _all(root, "circle", "chart-point")]
    # x: 44 + (day - Jan 1) / 4 days * 584; y: 212 - score / 100 * 200.
    assert points == [(44.0, 212.0), (336.0, 112.0), (628.0, 12.0)]
    # The missing day breaks the line: one run of one point, then one of two.
    lines = [p.get("points") for p in _all(root, "polyline")]
    assert lines == ["44.0,212.0", "336.0,112.0 628.0,12.0"]
    thresholds = [_num(t, "y1") for t in _all(root, "line", "chart-threshold")]
    assert thresholds == [212 - 0.41 * 200, 212 - 0.61 * 200]
    tips = [_text(c, "title") for c in _all(root, "circle", "chart-point")]
    assert tips[1] == "Mid-market SaaS, 2026-01-03: 50"
    assert "3 points" in _text(root, "desc")


def test_a_chart_without_data_says_so() -> None:
    root = _parse(date_line_chart(chart_id="t", title="Trend", series=[]))
    assert _text(root, "desc") == "No data."
    assert not _all(root, "circle")


def test_bars_rise_from_zero_and_fall_below_it() -> None:
    root = _parse(
        bar_chart(
            chart_id="money", title="By month", series_names=["spend", "pipeline"],
            groups=[BarGroup("Jan", [10, None]), BarGroup("Feb", [-5, 20])],
        )
    )  # fmt: skip
    # Ticks -5..20 by 5: y(v) = 212 - (v + 5) / 25 * 200, so zero is at 172.
    # Slots of 292 wide; bars 0.8 * 292 / 2 = 116.8 wide, 10% of a slot in.
    bars = [tuple(_num(r, k) for k in ("x", "y", "width", "height")) for r in _all(root, "rect")]
    assert bars == [(73.2, 92.0, 116.8, 80.0), (365.2, 172.0, 116.8, 40.0),
                    (482.0, 12.0, 116.8, 160.0)]  # fmt: skip
    assert [_text(r, "title") for r in _all(root, "rect")] == [
        "spend, Jan: 10", "spend, Feb: -5", "pipeline, Feb: 20",
    ]  # fmt: skip


def test_intervals_are_drawn_against_zero() -> None:
    root = _parse(
        interval_chart(
            chart_id="lift", title="Lift",
            rows=[Interval("A", 13.5, 6.5, 20.6), Interval("B", -1.0, -4.0, 3.0)],
        )
    )  # fmt: skip
    # Ticks -5..25 by 5: x(v) = 44 + (v + 5) / 30 * 584.
    zero = _all(root, "line", "chart-zero")[0]
    assert _num(zero, "x1") == round(44 + 5 / 30 * 584, 1)
    groups = _all(root, "g", "chart-interval")
    first_line = _child(groups[0], "line")
    assert _num(first_line, "x1") == round(44 + 11.5 / 30 * 584, 1)
    assert _num(first_line, "x2") == round(44 + 25.6 / 30 * 584, 1)
    # Two rows over the plot's 200 units of height: centres at 62 and 162.
    assert [_num(_child(g, "circle"), "cy") for g in groups] == [62.0, 162.0]
    assert _text(groups[1], "title") == "B: -1 [-4, 3]"


def test_scatter_areas_follow_the_size() -> None:
    root = _parse(
        scatter_chart(
            chart_id="pay", title="Spend and pipeline", x_name="spend", y_name="pipeline",
            points=[ScatterPoint("Webinars", 10, 100, 4.0), ScatterPoint("Ads", 20, 0, 1.0),
                    ScatterPoint("Events", 5, 50, -2.0)],
        )
    )  # fmt: skip
    radii = [_num(c, "r") for c in _all(root, "circle")]
    # 3 + 12 * sqrt(size / largest): 15, 3 + 12 * 0.5 = 9, and 3 for a negative size.
    assert radii == [15.0, 9.0, 3.0]
