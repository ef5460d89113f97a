"""The readiness page (`/readiness/`, issue 19 part 4): every figure is the
stored version's, written here by hand and read back from the page; training
from the page runs as a Job; the alert threshold; who may do what; queries."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ICPSegment
from core.models import Job
from engagement.models import AccountReadiness
from readiness.models import ReadinessModel
from tests.factories import AccountFactory, ICPSegmentFactory, segment_member

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 1)
TRAINED_AT = dt.datetime(2026, 12, 2, 4, 0, tzinfo=dt.UTC)


def _bins(pairs: list[tuple[float, float, int, int]]) -> list[dict[str, Any]]:
    return [
        {"bin": n, "mean_predicted": p, "observed_rate": o, "positives": k, "count": c}
        for n, (p, o, k, c) in enumerate(pairs, start=1)
    ]


# Known figures, as a backtest would store them (readiness.backtest.Backtest.as_dict).
FIGURES: dict[str, dict[str, Any]] = {
    "model": {"rows": 400, "positives": 40, "base_rate": 0.1, "auc": 0.8123, "brier": 0.07654,
              "ece": 0.02346, "top_decile_rate": 0.3, "top_decile_lift": 3.0,
              "reliability": _bins([(0.021, 0.025, 5, 200), (0.179, 0.175, 35, 200)])},
    "score": {"rows": 400, "positives": 40, "base_rate": 0.1, "auc": 0.7011, "brier": 0.08321,
              "ece": 0.04102, "top_decile_rate": 0.2, "top_decile_lift": 2.0,
              "reliability": _bins([(0.05, 0.04, 8, 200), (0.15, 0.16, 32, 200)])},
    "mql": {"rows": 400, "positives": 40, "base_rate": 0.1, "auc": 0.5506, "brier": 0.0899,
            "ece": 0.0101, "top_decile_rate": 0.1, "top_decile_lift": None,
            "reliability": _bins([(0.09, 0.08, 16, 200), (0.11, 0.12, 24, 200)])},
}  # fmt: skip


def _model(segment: ICPSegment, *, version: int, **fields: Any) -> ReadinessModel:
    values: dict[str, Any] = {
        "status": "trained", "trained_at": TRAINED_AT, "as_of": TODAY,
        "trained_through": dt.date(2026, 8, 31), "rows": 2408, "positive_rows": 190,
        "accounts": 344, "positive_accounts": 107, "negative_accounts": 237,
        "metrics": {"origins": [], "metrics": FIGURES}, **fields,
    }  # fmt: skip
    return ReadinessModel.objects.create(segment=segment, version=version, **values)


def _fallback(segment: ICPSegment, *, version: int, **fields: Any) -> ReadinessModel:
    reason = ("too little history: 3 accounts opened an opportunity and 12 did not; "
              "a model needs at least 25 and 25")  # fmt: skip
    return _model(segment, version=version, status="fallback", reason=reason, metrics={},
                  rows=40, accounts=15, positive_accounts=3, negative_accounts=12,
                  **fields)  # fmt: skip


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def section(html: str, segment: ICPSegment) -> str:
    match = re.search(rf'<section[^>]*id="segment-{segment.pk}".*?</section>', html, re.S)
    assert match, f"no section for {segment.name}"
    return match.group(0)


def rows_of(html: str, table_class: str) -> list[list[str]]:
    table = re.search(rf'<table class="[^"]*{table_class}[^"]*".*?</table>', html, re.S)
    assert table, table_class
    body = table.group(0).split("<tbody>")[1]
    return [
        [text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


@pytest.fixture
def segments() -> dict[str, ICPSegment]:
    saas = ICPSegmentFactory.create(name="Mid-market SaaS", readiness_alert_percent=40)
    health = ICPSegmentFactory.create(name="Healthcare")
    _model(saas, version=1, trained_at=TRAINED_AT - dt.timedelta(days=30),
           metrics={"metrics": {"model": {**FIGURES["model"], "auc": 0.6999}}})  # fmt: skip
    _fallback(saas, version=2, trained_at=TRAINED_AT - dt.timedelta(days=10))
    _model(saas, version=3)
    _fallback(health, version=1)
    ICPSegmentFactory.create(name="Dormant", is_active=False)
    return {"saas": saas, "health": health}


def test_the_serving_version_and_its_backtest_are_the_stored_figures(
    client: Client, marketer: Any, segments: dict[str, ICPSegment]
) -> None:
    client.force_login(marketer)
    response = client.get("/readiness/")
    assert response.status_code == 200
    html = response.content.decode()
    saas = section(html, segments["saas"])
    words = text(saas)
    assert "Trained: version 3 serves this segment's readiness." in words
    for fact in ("Version 3", "Trained 2 Dec 2026 04:00", "As of 1 Dec 2026",
                 "Trained through 31 Aug 2026", "Rows 2408", "Accounts 344",
                 "Opened an opportunity 107", "Did not 237"):  # fmt: skip
        assert fact in words, fact
    # Each figure as stored, rounded as the page rounds it (3 places for AUC,
    # 4 for Brier and ECE, 2 for the lift), computed here from the literals.
    expected = [
        [label, f"{f['auc']:.3f}", f"{f['brier']:.4f}", f"{f['ece']:.4f}",
         "not computed" if f["top_decile_lift"] is None else f"{f['top_decile_lift']:.2f}\u00d7",
         f"{f['rows']} ({f['positives']} opened)"]
        for label, f in (("Readiness model", FIGURES["model"]),
                         ("Engagement score (calibrated)", FIGURES["score"]),
                         ("MQL rule (form fill in 30 days)", FIGURES["mql"]))
    ]  # fmt: skip
    assert rows_of(saas, "readiness-backtest") == expected
    # The reliability numbers beside the chart: decile, rows, then predicted
    # and observed per method.
    reliability = rows_of(saas, "readiness-reliability-table")
    assert reliability[0] == ["1", "200", "0.021", "0.025", "0.050", "0.040", "0.090", "0.080"]
    assert reliability[1][:4] == ["2", "200", "0.179", "0.175"]
    assert saas.count("<svg") == 1 and "reliability of v3" in saas
    # Earlier versions, newest first, with the model's AUC where it had one.
    assert rows_of(saas, "readiness-versions") == [
        ["v2", "22 Nov 2026 04:00",
         "Fell back: too little history: 3 accounts opened an opportunity and 12 did not; "
         "a model needs at least 25 and 25", "none"],
        ["v1", "2 Nov 2026 04:00", "Trained", "0.700"],
    ]  # fmt: skip
    assert "An alert when an account's readiness rises to 40% or above." in words
    assert "Dormant" not in html


def _comparison(
    baseline: str, auc: tuple[float, float, float], brier: tuple[float, float, float], verdict: str
) -> dict[str, Any]:
    return {"baseline": baseline, "accounts": 344, "rows": 1376, "resamples": 2000,
            "auc": {"value": auc[0], "standard_error": 0.01, "low": auc[1], "high": auc[2]},
            "brier": {"value": brier[0], "standard_error": 0.001, "low": brier[1],
                      "high": brier[2]},
            "verdict": verdict}  # fmt: skip


@pytest.mark.parametrize(
    ("score_verdict", "heading"),
    [("better", "better than both"), ("tie", "not better than both")],
)
def test_the_model_against_each_baseline_with_intervals_and_verdict(
    client: Client, rep: Any, score_verdict: str, heading: str
) -> None:
    saas = ICPSegmentFactory.create(name="Mid-market SaaS")
    comparisons = [
        _comparison("score", (0.0194, -0.0051, 0.0432), (-0.00187, -0.00356, -0.00031),
                    score_verdict),
        _comparison("mql", (0.1481, 0.1107, 0.1862), (-0.00391, -0.00642, -0.00158), "better"),
    ]  # fmt: skip
    _model(saas, version=1, metrics={"metrics": FIGURES, "comparisons": comparisons})
    client.force_login(rep)
    html = section(client.get("/readiness/").content.decode(), saas)
    assert f"Model against the baselines: {heading}" in text(html)
    verdict_words = {"better": "Model better", "tie": "No clear difference"}
    assert rows_of(html, "readiness-comparison") == [
        ["Engagement score (calibrated)", "+0.019 [-0.005, +0.043]",
         "-0.0019 [-0.0036, -0.0003]", verdict_words[score_verdict]],
        ["MQL rule (form fill in 30 days)", "+0.148 [+0.111, +0.186]",
         "-0.0039 [-0.0064, -0.0016]", "Model better"],
    ]  # fmt: skip
    assert "2000 resamples of the 344 accounts" in text(html)


def test_a_version_without_stored_comparisons_shows_no_verdict(
    client: Client, marketer: Any, segments: dict[str, ICPSegment]
) -> None:
    client.force_login(marketer)
    saas = section(client.get("/readiness/").content.decode(), segments["saas"])
    assert "readiness-comparison" not in saas and "Model against the baselines" not in saas


def test_a_fallback_says_so_plainly_with_its_reason(
    client: Client, executive: Any, segments: dict[str, ICPSegment]
) -> None:
    client.force_login(executive)
    health = section(client.get("/readiness/").content.decode(), segments["health"])
    assert (
        "Falls back to the engagement score: too little history: 3 accounts opened an "
        "opportunity and 12 did not; a model needs at least 25 and 25." in text(health)
    )
    assert "readiness-backtest" not in health and "<svg" not in health
    assert "No readiness alerts in this segment." in text(health)
    # Executives read; they neither train nor set thresholds.
    html = client.get("/readiness/").content.decode()
    assert "Train now</button>" not in html and "Save threshold" not in html


def test_accounts_scored_are_counted_from_the_stored_readiness(
    client: Client, marketer: Any, segments: dict[str, ICPSegment]
) -> None:
    saas = segments["saas"]
    scored_at = dt.datetime(2026, 12, 2, 4, 10, tzinfo=dt.UTC)
    for index, probability in enumerate([0.12, 0.4, None]):
        account = segment_member(saas, name=f"Scored {index}")
        AccountReadiness.objects.create(
            account=account, segment=saas, model_version=3, probability=probability,
            fallback_reason="" if probability is not None else "was a fallback",
            features_as_of=dt.date(2026, 12, 1),
            scored_at=scored_at - dt.timedelta(hours=index),
        )  # fmt: skip
    client.force_login(marketer)
    html = client.get("/readiness/").content.decode()
    assert (
        "3 accounts scored: 2 with a probability, 1 falling back to the engagement score; "
        "last scored 2 Dec 2026 04:10 on the features of 1 Dec 2026."
    ) in text(section(html, saas))
    assert "No account scored yet" in text(section(html, segments["health"]))


def test_train_now_runs_the_training_as_a_job(
    client: Client,
    marketer: Any,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    segment = ICPSegmentFactory.create(name="Tiny")
    client.force_login(marketer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/readiness/train/")
    job = Job.objects.get(kind="readiness_train")
    assert response.status_code == 302 and response["Location"] == f"/readiness/?job={job.pk}"
    version = ReadinessModel.objects.get(segment=segment)
    # One segment, no history: it falls back, and the job says so.
    assert (job.status, job.done, job.total, job.unit) == ("done", 1, 1, "segment")
    assert job.created_by_id == marketer.pk
    assert job.result == {"models": [version.pk]}
    assert job.message == "Trained 1 segment(s)"
    assert version.status == "fallback"
    html = client.get(response["Location"]).content.decode()
    assert "Train readiness models: every active segment" in html and "Done" in html
    assert "Falls back to the engagement score: too little history" in text(section(html, segment))


def test_a_run_still_going_shows_its_progress_and_polls(client: Client, executive: Any) -> None:
    running = Job.objects.create(
        kind="readiness_train", label="Train readiness models: every active segment",
        status="running", done=1, total=4, unit="segment",
    )  # fmt: skip
    client.force_login(executive)
    html = client.get("/readiness/").content.decode()
    assert f'hx-get="/jobs/{running.pk}/"' in html
    assert "1 of 4 segments (25%)" in text(html)


@pytest.mark.parametrize(("posted", "stored"), [("25", 25), ("1", 1), ("99", 99), ("", None)])
def test_the_threshold_is_set_and_cleared(
    client: Client, marketer: Any, segments: dict[str, ICPSegment], posted: str, stored: Any
) -> None:
    saas = segments["saas"]
    client.force_login(marketer)
    response = client.post(
        f"/readiness/segments/{saas.pk}/alert/", {f"segment-{saas.pk}-percent": posted}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/readiness/#segment-{saas.pk}"
    saas.refresh_from_db()
    assert saas.readiness_alert_percent == stored


def test_the_clear_button_clears_it(
    client: Client, marketer: Any, segments: dict[str, ICPSegment]
) -> None:
    saas = segments["saas"]
    client.force_login(marketer)
    client.post(
        f"/readiness/segments/{saas.pk}/alert/", {f"segment-{saas.pk}-percent": "40", "clear": "1"}
    )
    saas.refresh_from_db()
    assert saas.readiness_alert_percent is None


@pytest.mark.parametrize(
    ("posted", "error"),
    [("0", "Ensure this value is greater than or equal to 1."),
     ("100", "Ensure this value is less than or equal to 99."),
     ("forty", "Enter a whole number."),
     ("12.5", "Enter a whole number.")],
)  # fmt: skip
def test_a_bad_threshold_is_refused_beside_its_field(
    client: Client, marketer: Any, segments: dict[str, ICPSegment], posted: str, error: str
) -> None:
    saas = segments["saas"]
    client.force_login(marketer)
    response = client.post(
        f"/readiness/segments/{saas.pk}/alert/", {f"segment-{saas.pk}-percent": posted}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert f'<span class="error" id="id_segment-{saas.pk}-percent_error_1">{error}</span>' in html
    saas.refresh_from_db()
    assert saas.readiness_alert_percent == 40


def test_an_unknown_or_inactive_segment_is_not_found(client: Client, marketer: Any) -> None:
    dormant = ICPSegmentFactory.create(name="Dormant", is_active=False)
    client.force_login(marketer)
    for pk in (dormant.pk, 999_999):
        response = client.post(f"/readiness/segments/{pk}/alert/", {f"segment-{pk}-percent": "5"})
        assert response.status_code == 404


@pytest.mark.parametrize(
    ("persona", "read", "train", "threshold"),
    [
        ("marketer", 200, 302, 302),
        ("executive", 200, 403, 403),
        ("rep", 200, 403, 403),
        ("norole", 403, 403, 403),
        (None, "login", "login", "login"),
    ],
)
def test_every_role_gets_what_it_may(
    client: Client,
    personas: dict[str, Any],
    segments: dict[str, ICPSegment],
    persona: str | None,
    read: Any,
    train: Any,
    threshold: Any,
    eager_tasks: None,
) -> None:
    from tests.factories import UserFactory

    users = {**personas, "norole": UserFactory.create(username="nobody")}
    if persona is not None:
        client.force_login(users[persona])
    saas = segments["saas"]
    answers = {
        "read": client.get("/readiness/"),
        "train": client.post("/readiness/train/"),
        "threshold": client.post(
            f"/readiness/segments/{saas.pk}/alert/", {f"segment-{saas.pk}-percent": "7"}
        ),
    }
    for kind, expected in (("read", read), ("train", train), ("threshold", threshold)):
        response = answers[kind]
        if expected == "login":
            assert response.status_code == 302 and response["Location"].startswith("/login/")
        else:
            assert response.status_code == expected, (kind, response.status_code)
            if expected == 403:
                assert b"You may not do this" in response.content
    assert Job.objects.filter(kind="readiness_train").exists() == (persona == "marketer")
    saas.refresh_from_db()
    assert saas.readiness_alert_percent == (7 if persona == "marketer" else 40)


def test_the_workspace_links_the_page_for_its_readers(
    client: Client, personas: dict[str, Any]
) -> None:
    from tests.factories import UserFactory

    link = '<a href="/readiness/"'
    for persona in ("marketer", "executive", "rep"):
        client.force_login(personas[persona])
        assert link in client.get("/accounts/").content.decode(), persona
    client.force_login(UserFactory.create(username="nobody"))
    assert link not in client.get("/accounts/").content.decode()


@pytest.mark.parametrize("versions", [1, 6])
def test_the_page_renders_in_a_fixed_number_of_queries(
    client: Client, marketer: Any, django_assert_num_queries: Any, versions: int
) -> None:
    for number in range(4):
        segment = ICPSegmentFactory.create(name=f"Segment {number}")
        for version in range(1, versions + 1):
            _model(segment, version=version, trained_at=timezone.now())
        account = AccountFactory.create()
        AccountReadiness.objects.create(
            account=account, segment=segment, model_version=versions, probability=0.3,
            features_as_of=TODAY, scored_at=timezone.now(),
        )  # fmt: skip
    client.force_login(marketer)
    # session, user, permissions (user's and groups'), the segments, their
    # versions, their scored accounts, the running jobs, and the shell (rooms,
    # alert count, roles)
    with django_assert_num_queries(11):
        response = client.get("/readiness/")
    assert len(response.context["panels"]) == 4


def _segment_form(**fields: str) -> dict[str, str]:
    return {"name": "Form segment", "description": "", "is_active": "on", "min_fit": "50",
            "criteria-TOTAL_FORMS": "1", "criteria-INITIAL_FORMS": "0",
            "criteria-MIN_NUM_FORMS": "0", "criteria-MAX_NUM_FORMS": "50",
            "criteria-0-field": "industry", "criteria-0-op": "in",
            "criteria-0-value": "Software", "criteria-0-weight": "1", **fields}  # fmt: skip


def test_the_segment_form_shows_and_saves_the_threshold(
    client: Client, marketer: Any, eager_tasks: None
) -> None:
    segment = ICPSegmentFactory.create(
        name="Form segment", readiness_alert_percent=35,
        criteria={"all": [{"field": "industry", "op": "in", "value": ["Software"]}]},
    )  # fmt: skip
    client.force_login(marketer)
    html = client.get(f"/segments/{segment.pk}/").content.decode()
    assert re.search(r'name="readiness_alert_percent"[^>]*value="35"', html), html
    assert "Readiness alert (%)" in html
    response = client.post(f"/segments/{segment.pk}/", _segment_form(readiness_alert_percent="60"))
    assert response.status_code == 302
    segment.refresh_from_db()
    assert segment.readiness_alert_percent == 60
    response = client.post(f"/segments/{segment.pk}/", _segment_form(readiness_alert_percent="0"))
    assert response.status_code == 200  # the form again, with the error beside the field
    assert "Ensure this value is greater than or equal to 1." in response.content.decode()
    segment.refresh_from_db()
    assert segment.readiness_alert_percent == 60
