"""The readiness models on the API (issue 19, part 4): the versions with their
stored backtest, training as a Job (202), its 400s and permissions; and the
segment's readiness_alert_percent on the segments API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ICPSegment
from accounts.roles import EXECUTIVE, MARKETER, SALES
from core.models import Job
from readiness.models import ReadinessModel
from tests.api_clients import api_client_as
from tests.factories import ICPSegmentFactory, UserFactory

pytestmark = pytest.mark.django_db

TRAINED_AT = dt.datetime(2026, 12, 2, 4, 0, tzinfo=dt.UTC)
MODEL = {
    "rows": 300,
    "positives": 30,
    "base_rate": 0.1,
    "auc": 0.79,
    "brier": 0.081,
    "ece": 0.021,
    "top_decile_rate": 0.33,
    "top_decile_lift": 3.3,
    "reliability": [],
}
SCORE = {**MODEL, "auc": 0.71, "brier": 0.084, "ece": 0.03, "top_decile_lift": 2.5}
MQL = {**MODEL, "auc": 0.55, "brier": 0.089, "ece": 0.012, "top_decile_lift": None}  # fmt: skip


def _version(segment: ICPSegment, version: int, **fields: Any) -> ReadinessModel:
    values: dict[str, Any] = {
        "status": "trained", "trained_at": TRAINED_AT, "as_of": dt.date(2026, 12, 1),
        "trained_through": dt.date(2026, 8, 31), "rows": 2408, "positive_rows": 190,
        "accounts": 344, "positive_accounts": 107, "negative_accounts": 237,
        "parameters": {"secret": "not listed"},
        "metrics": {"metrics": {"model": MODEL, "score": SCORE, "mql": MQL}}, **fields,
    }  # fmt: skip
    return ReadinessModel.objects.create(segment=segment, version=version, **values)


@pytest.fixture
def versions() -> dict[str, Any]:
    saas = ICPSegmentFactory.create(name="SaaS")
    health = ICPSegmentFactory.create(name="Health")
    old = _version(saas, 1)
    new = _version(saas, 2, trained_at=timezone.now())
    fallback = _version(
        health, 1, status="fallback", reason="too little history", metrics={}, parameters={}
    )
    return {"saas": saas, "health": health, "old": old, "new": new, "fallback": fallback}


def test_the_latest_version_of_each_segment_with_its_stored_backtest(
    versions: dict[str, Any],
) -> None:
    api = api_client_as(SALES, username="rep")
    body = api.get("/api/readiness/models/").json()
    assert body["count"] == 2
    health, saas = body["results"]  # by segment name
    assert (saas["id"], saas["segment"], saas["segment_id"], saas["version"]) == (
        versions["new"].pk, "SaaS", versions["saas"].pk, 2)  # fmt: skip
    assert {key: saas[key] for key in ("status", "reason", "as_of", "trained_through", "rows",
                                       "positive_rows", "accounts", "positive_accounts",
                                       "negative_accounts")} == {
        "status": "trained", "reason": "", "as_of": "2026-12-01",
        "trained_through": "2026-08-31", "rows": 2408, "positive_rows": 190, "accounts": 344,
        "positive_accounts": 107, "negative_accounts": 237}  # fmt: skip
    figures = ("auc", "brier", "ece", "top_decile_lift", "top_decile_rate", "base_rate", "rows",
               "positives")  # fmt: skip
    assert saas["backtest"] == [
        {"method": method, "label": label, **{name: stored[name] for name in figures}}
        for method, label, stored in (
            ("model", "readiness model", MODEL),
            ("score", "engagement score (calibrated)", SCORE),
            ("mql", "MQL rule (form fill in 30 days)", MQL),
        )
    ]
    assert "parameters" not in saas
    assert (health["status"], health["reason"], health["backtest"]) == (
        "fallback", "too little history", [])  # fmt: skip


def test_a_version_lists_its_stored_comparisons_with_the_baselines() -> None:
    segment = ICPSegmentFactory.create(name="SaaS")
    stored = {"baseline": "score", "accounts": 344, "rows": 1376, "resamples": 2000,
              "auc": {"value": 0.021, "standard_error": 0.012, "low": -0.001, "high": 0.044},
              "brier": {"value": -0.0016, "standard_error": 0.0009, "low": -0.0031,
                        "high": 0.0002},
              "verdict": "tie"}  # fmt: skip
    _version(segment, 1, metrics={"metrics": {"model": MODEL}, "comparisons": [stored]})
    body = api_client_as(MARKETER, username="m").get("/api/readiness/models/").json()
    (row,) = body["results"] if isinstance(body, dict) else body
    assert row["comparisons"] == [
        {"baseline": "score", "label": "engagement score (calibrated)", "auc": 0.021,
         "auc_low": -0.001, "auc_high": 0.044, "brier": -0.0016, "brier_low": -0.0031,
         "brier_high": 0.0002, "verdict": "tie", "accounts": 344, "resamples": 2000}
    ]  # fmt: skip


def test_all_lists_every_version_newest_first(versions: dict[str, Any]) -> None:
    api = api_client_as(EXECUTIVE, username="exec")
    body = api.get("/api/readiness/models/?all=1").json()
    assert [(row["segment"], row["version"]) for row in body["results"]] == [
        ("Health", 1), ("SaaS", 2), ("SaaS", 1)]  # fmt: skip


@pytest.mark.parametrize("count", [2, 8])
def test_the_list_costs_a_fixed_number_of_queries(
    django_assert_num_queries: Any, count: int
) -> None:
    for number in range(count):
        _version(ICPSegmentFactory.create(name=f"S{number}"), 1)
    api = api_client_as(MARKETER, username="maya")
    # user's and groups' permissions, the page count, the page of versions with segments
    with django_assert_num_queries(4):
        assert api.get("/api/readiness/models/?all=1").json()["count"] == count


def test_training_starts_a_job_and_answers_202_with_its_url(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    tiny = ICPSegmentFactory.create(name="Tiny")
    ICPSegmentFactory.create(name="Other")
    api = api_client_as(MARKETER, username="maya")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/readiness/models/train/", {"segments": [tiny.pk]}, format="json")
    assert response.status_code == 202, response.json()
    job = Job.objects.get(kind="readiness_train")
    assert response.json() == {
        "job": job.pk, "url": f"http://testserver/jobs/{job.pk}/", "status": "queued",
        "segments": [tiny.pk]}  # fmt: skip
    # Run at commit (eager): one segment trained, the other untouched.
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("done", 1, 1)
    assert list(ReadinessModel.objects.values_list("segment__name", "version", "status")) == [
        ("Tiny", 1, "fallback")]  # fmt: skip


def test_without_a_body_every_active_segment_is_trained(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    for name in ("A", "B"):
        ICPSegmentFactory.create(name=name)
    ICPSegmentFactory.create(name="Off", is_active=False)
    api = api_client_as(MARKETER, username="maya")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/readiness/models/train/")
    assert response.status_code == 202 and response.json()["segments"] is None
    assert sorted(ReadinessModel.objects.values_list("segment__name", flat=True)) == ["A", "B"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"segments": "all"}, 'Expected a list of items but got type "str".'),
        ({"segments": []}, "This list may not be empty."),
        ({"segments": ["x"]}, None),
        ({"segments": [0]}, None),
        ({"segments": [2**63]}, None),
        ({"segments": [999_999]}, "no active segment with id 999999"),
        ({"segments": "inactive"}, "no active segment with id"),
    ],
)
def test_bad_segments_are_a_400_naming_the_field(body: dict[str, Any], message: Any) -> None:
    off = ICPSegmentFactory.create(name="Off", is_active=False)
    if body["segments"] == "inactive":
        body = {"segments": [off.pk]}
    api = api_client_as(MARKETER, username="maya")
    response = api.post("/api/readiness/models/train/", body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == ["segments"], errors
    if message is not None:
        assert message in str(errors["segments"])
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("role", "read", "train"),
    [(MARKETER, 200, 202), (SALES, 200, 403), (EXECUTIVE, 200, 403), (None, 403, 403)],
)
def test_who_may_read_and_train(role: str | None, read: int, train: int, eager_tasks: None) -> None:
    ICPSegmentFactory.create(name="A")
    if role is None:
        api = APIClient()
        api.force_authenticate(UserFactory.create(username="nobody"))
    else:
        api = api_client_as(role, username="someone")
    assert api.get("/api/readiness/models/").status_code == read
    assert api.post("/api/readiness/models/train/").status_code == train
    assert Job.objects.exists() == (train == 202)
    assert APIClient().get("/api/readiness/models/").status_code == 403


# --- readiness_alert_percent on the segments API -------------------------------------


def test_the_segment_api_shows_and_takes_the_threshold() -> None:
    ICPSegmentFactory.create(name="Set", readiness_alert_percent=40)
    api = api_client_as(MARKETER, username="maya")
    listed = api.get("/api/segments/").json()["results"]
    assert [(row["name"], row["readiness_alert_percent"]) for row in listed] == [("Set", 40)]
    for value, stored in ((25, 25), (None, None)):
        response = api.post(
            "/api/segments/", {"name": f"New {value}", "readiness_alert_percent": value},
            format="json",
        )  # fmt: skip
        assert response.status_code == 201, response.json()
        assert response.json()["readiness_alert_percent"] == stored
        assert ICPSegment.objects.get(name=f"New {value}").readiness_alert_percent == stored


@pytest.mark.parametrize("value", [0, 100, -5, "forty", 12.5])
def test_a_threshold_outside_1_to_99_is_a_400_naming_it(value: Any) -> None:
    api = api_client_as(MARKETER, username="maya")
    response = api.post(
        "/api/segments/", {"name": "Bad", "readiness_alert_percent": value}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["readiness_alert_percent"]
    assert not ICPSegment.objects.filter(name="Bad").exists()


def test_a_form_body_is_refused_as_unsupported(eager_tasks: None) -> None:
    """JSON only: a form repeating `segments` past Django's field limit was an
    HTML 400 (the fuzz found it); now any form body is a JSON 415."""
    api = api_client_as(MARKETER, username="maya")
    response = api.post("/api/readiness/models/train/", {"segments": ["1"] * 1200})
    assert response.status_code == 415 and "detail" in response.json()
    assert not Job.objects.exists()
