"""The readiness page as a marketer uses it, in Chromium: the serving version
and its backtest, the reliability chart with its numbers, the fallback said
plainly, a threshold set, and "Train now" run as a Job with its progress."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from accounts.models import ICPSegment
from readiness.models import ReadinessModel
from tests.factories import ICPSegmentFactory
from tests.web.browser import check_page, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TRAINED_AT = dt.datetime(2026, 11, 2, 4, 0, tzinfo=dt.UTC)


def _table(pairs: list[tuple[float, float]]) -> list[dict[str, Any]]:
    return [
        {"bin": n, "count": 40, "mean_predicted": p, "observed_rate": o,
         "positives": round(o * 40)}
        for n, (p, o) in enumerate(pairs, start=1)
    ]  # fmt: skip


def _figures(auc: float, brier: float, ece: float, lift: float | None, step: float) -> Any:
    pairs = [(0.02 + step * i, 0.025 + step * i * 0.95) for i in range(10)]
    return {"rows": 400, "positives": 60, "base_rate": 0.15, "auc": auc, "brier": brier,
            "ece": ece, "top_decile_rate": 0.45, "top_decile_lift": lift,
            "reliability": _table(pairs)}  # fmt: skip


def _comparison(baseline: str, auc: float, auc_low: float, brier: float, verdict: str) -> Any:
    return {"baseline": baseline, "accounts": 344, "rows": 1376, "resamples": 2000,
            "auc": {"value": auc, "standard_error": 0.01, "low": auc_low,
                    "high": auc + (auc - auc_low)},
            "brier": {"value": brier, "standard_error": 0.001, "low": brier - 0.002,
                      "high": brier + 0.0015},
            "verdict": verdict}  # fmt: skip


@pytest.fixture
def models() -> dict[str, ICPSegment]:
    saas = ICPSegmentFactory.create(name="Mid-market SaaS")
    health = ICPSegmentFactory.create(name="Healthcare & life sciences")
    common = {"as_of": dt.date(2026, 11, 1), "trained_through": dt.date(2026, 7, 31),
              "rows": 2408, "positive_rows": 190, "accounts": 344, "positive_accounts": 107,
              "negative_accounts": 237}  # fmt: skip
    ReadinessModel.objects.create(
        segment=saas, version=1, status="trained", trained_at=TRAINED_AT, **common,
        metrics={"metrics": {"model": _figures(0.706, 0.1071, 0.0221, 3.02, 0.05),
                             "score": _figures(0.688, 0.1102, 0.0301, 2.61, 0.04),
                             "mql": _figures(0.571, 0.1201, 0.0121, None, 0.01)},
                 "comparisons": [_comparison("score", 0.018, 0.003, -0.0031, "better"),
                                 _comparison("mql", 0.135, 0.094, -0.0130, "better")]},
    )  # fmt: skip
    ReadinessModel.objects.create(
        segment=health,
        version=1,
        status="fallback",
        trained_at=TRAINED_AT,
        **common,
        reason="too little history: 10 accounts opened an opportunity and 26 did not; "
        "a model needs at least 25 and 25",
    )
    return {"saas": saas, "health": health}


def test_a_marketer_reads_the_models_sets_a_threshold_and_trains(
    models: dict[str, ICPSegment], marketer: Any, live_server: Any, page: Any
) -> None:
    base = live_server.url
    log_in(page, base, "marketer")
    page.goto(f"{base}/accounts/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Readiness").click()
    page.wait_for_url(f"{base}/readiness/")
    assert page.get_by_role("heading", name="Readiness models", level=1).is_visible()

    saas = page.locator(f"#segment-{models['saas'].pk}")
    assert "Trained: version 1 serves" in saas.inner_text()
    rows = saas.locator("table.readiness-backtest tbody tr")
    assert rows.count() == 3
    assert [c.strip() for c in rows.nth(0).locator("th, td").all_inner_texts()][:5] == [
        "Readiness model", "0.706", "0.1071", "0.0221", "3.02\u00d7"]  # fmt: skip
    assert saas.get_by_role(
        "heading", name="Model against the baselines: better than both"
    ).is_visible()
    comparison = saas.locator("table.readiness-comparison tbody tr")
    assert [c.strip() for c in comparison.nth(0).locator("th, td").all_inner_texts()] == [
        "Engagement score (calibrated)", "+0.018 [+0.003, +0.033]",
        "-0.0031 [-0.0051, -0.0016]", "Model better"]  # fmt: skip
    assert saas.locator("svg").count() == 1
    assert saas.locator("table.readiness-reliability-table tbody tr").count() == 10
    health = page.locator(f"#segment-{models['health'].pk}")
    assert "Falls back to the engagement score: too little history: 10 accounts" in (
        health.inner_text()
    )
    check_page(page, "readiness")

    # A threshold for the SaaS segment, set from its form.
    saas.get_by_label("Alert at readiness (%)").fill("40")
    saas.get_by_role("button", name="Save threshold").click()
    page.wait_for_url(f"{base}/readiness/#segment-{models['saas'].pk}")
    message = page.locator(".message").inner_text()
    assert "an alert when an account's readiness rises to 40%" in message
    models["saas"].refresh_from_db()
    assert models["saas"].readiness_alert_percent == 40

    # Train now: a Job, run eagerly here; its outcome shows above the segments.
    page.get_by_role("button", name="Train now").click()
    page.wait_for_url(f"{base}/readiness/?job=*")
    job = page.locator(".readiness-job")
    assert "Train readiness models: every active segment" in job.inner_text()
    assert "Done" in job.inner_text() and "Trained 2 segment(s)" in job.inner_text()
    # Both segments have no history here: version 2 falls back, version 1 is listed before it.
    saas = page.locator(f"#segment-{models['saas'].pk}")
    assert "Falls back to the engagement score" in saas.inner_text()
    assert saas.locator("table.readiness-versions tbody tr").count() == 1
    check_page(page, "readiness-trained")
