"""Welch's lift and 95% interval written out from DESIGN 5's formula, with
Student's t quantile by numerical integration: the hand computation report
tests check the product's `campaigns.metrics` against."""

from __future__ import annotations

import math


def t_quantile_975(df: float) -> float:
    """Student's t 0.975 quantile by integrating the density (Simpson's rule)
    from 0 and bisecting for the point where the area is 0.475."""
    const = math.gamma((df + 1) / 2) / (math.sqrt(df * math.pi) * math.gamma(df / 2))

    def area(t: float, steps: int = 4000) -> float:
        h = t / steps
        total = 0.0
        for i in range(steps + 1):
            x = i * h
            weight = 1 if i in (0, steps) else (4 if i % 2 else 2)
            total += weight * const * (1 + x * x / df) ** (-(df + 1) / 2)
        return total * h / 3

    low, high = 0.0, 50.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if area(middle) < 0.475 else (low, middle)
    return (low + high) / 2


def welch(treated: list[float], holdout: list[float]) -> tuple[float, float, float]:
    """Lift and its 95% interval, written out from DESIGN 5's formula."""
    nt, nh = len(treated), len(holdout)
    mt, mh = sum(treated) / nt, sum(holdout) / nh
    vt = sum((x - mt) ** 2 for x in treated) / (nt - 1)
    vh = sum((x - mh) ** 2 for x in holdout) / (nh - 1)
    a, b = vt / nt, vh / nh
    df = (a + b) ** 2 / (a * a / (nt - 1) + b * b / (nh - 1))
    half = t_quantile_975(df) * math.sqrt(a + b)
    return mt - mh, mt - mh - half, mt - mh + half
