"""Training and storing the readiness models (issue 19, part 2): versions, the
fallback with its reason, the stored JSON scoring as the fitted model, a fixed
number of queries per segment, the commands, the monthly schedule and the job."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import numpy as np
import pytest
from defusedxml import ElementTree as ET
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import PeriodicTask

from accounts.models import ICPSegment
from config.celery import app as celery_app
from core.models import Job
from readiness import model, scoring
from readiness.charts import reliability_svg
from readiness.feature_names import FEATURE_NAMES
from readiness.metrics import reliability
from readiness.models import ReadinessModel, ReadinessModelStatus
from readiness.selectors import LabelledHistory, readiness_model_latest
from readiness.services import readiness_model_store, readiness_models_train
from readiness.tasks import models_train_job_task, models_train_scheduled_task
from tests.factories import ActivityFactory, ICPSegmentFactory, OpportunityFactory, segment_member
from tests.proof_figures import record
from tests.readiness.history import at
from tests.readiness.synthetic import synthetic_history

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 1)


def _small_segment(members: int) -> ICPSegment:
    """`members` accounts with activity from 5 January 2026; the first opened an
    opportunity on 10 June: 1 account that opened, the others did not."""
    segment = ICPSegmentFactory.create()
    for number in range(members):
        account = segment_member(segment)
        ActivityFactory.create(account=account, occurred_at=at(dt.date(2026, 1, 5)))
        ActivityFactory.create(account=account, occurred_at=at(dt.date(2026, 5, 20)))
        if number == 0:
            OpportunityFactory.create(account=account, opened_on=dt.date(2026, 6, 10))
    return segment


def test_too_little_history_stores_a_fallback_version_that_says_why() -> None:
    segment = _small_segment(3)
    (first,) = readiness_models_train(segment_ids=[segment.pk], today=TODAY)
    assert first.status == ReadinessModelStatus.FALLBACK
    assert first.reason == (
        "too little history: 1 accounts opened an opportunity and 2 did not; "
        "a model needs at least 25 and 25"
    )
    assert (first.version, first.parameters, first.metrics) == (1, {}, {})
    # History from 5 January: the month ends whose 90 days it covers (from
    # 31 March... 5 January + 89 days = 4 April, so from 30 April) up to the
    # last whose label is known on 1 December (31 August): 5 month ends x 3.
    assert (first.rows, first.accounts, first.positive_accounts) == (15, 3, 1)
    assert first.trained_through == dt.date(2026, 8, 31)
    assert first.as_of == TODAY
    assert first.feature_names == list(FEATURE_NAMES)

    (second,) = readiness_models_train(segment_ids=[segment.pk], today=TODAY)
    assert second.version == 2
    assert readiness_model_latest(segment_id=segment.pk) == second
    assert ReadinessModel.objects.filter(segment=segment).count() == 2


def test_a_segment_without_activity_falls_back_with_no_rows() -> None:
    segment = ICPSegmentFactory.create()
    segment_member(segment)
    (stored,) = readiness_models_train(segment_ids=[segment.pk], today=TODAY)
    assert stored.status == ReadinessModelStatus.FALLBACK
    assert (stored.rows, stored.trained_through) == (0, None)


def test_training_costs_the_same_queries_for_a_few_accounts_or_many() -> None:
    few, many = _small_segment(2), _small_segment(9)
    counts = []
    for segment in (few, many):
        with CaptureQueriesContext(connection) as queries:
            readiness_models_train(segment_ids=[segment.pk], today=TODAY)
        counts.append(len(queries))
    record("readiness model", f"training one segment: {counts[0]} queries (2 or 9 accounts)")
    assert counts[0] == counts[1]


def test_a_trained_model_is_stored_as_json_that_scores_like_the_fitted_one() -> None:
    segment = ICPSegmentFactory.create()
    # Enough accounts that some never open in 6 months (25 are needed).
    data = synthetic_history(accounts=250, months=6)
    history = LabelledHistory(
        segment_id=segment.pk,
        today=TODAY,
        features=data.features,
        labels=data.labels,
        month_ends=data.month_ends,
        account_ids=data.account_ids,
        feature_names=FEATURE_NAMES,
    )
    stored = readiness_model_store(history=history)
    stored.refresh_from_db()
    assert stored.status == ReadinessModelStatus.TRAINED and stored.reason == ""
    assert stored.trained_through == max(data.month_ends)
    counts = model.history_counts(data.account_ids, data.labels)
    assert (stored.positive_accounts, stored.negative_accounts) == (
        counts.positive_accounts,
        counts.negative_accounts,
    )
    fitted = model.fit(
        features=data.features,
        labels=data.labels,
        month_ends=data.month_ends,
        feature_names=FEATURE_NAMES,
    )
    expected = fitted.estimator.predict_proba(np.asarray(data.features[:50], dtype=float))[:, 1]
    actual = scoring.probabilities(stored.parameters, data.features[:50])
    assert max(abs(a - e) for a, e in zip(actual, expected, strict=True)) < 1e-9
    figures = stored.metrics["metrics"]
    assert set(figures) == {"model", "score", "mql"}
    assert 0.5 < figures["model"]["auc"] <= 1.0
    assert len(figures["model"]["reliability"]) == 10
    # The comparison with each baseline is stored beside the figures: its AUC
    # difference is the difference of the two stored AUCs.
    comparisons = {row["baseline"]: row for row in stored.metrics["comparisons"]}
    assert set(comparisons) == {"score", "mql"}
    for baseline, row in comparisons.items():
        expected_difference = figures["model"]["auc"] - figures[baseline]["auc"]
        assert row["auc"]["value"] == pytest.approx(expected_difference, abs=1e-12)
        assert row["auc"]["low"] <= row["auc"]["value"] <= row["auc"]["high"]
        assert row["verdict"] in {"better", "tie", "worse"}


def test_readiness_train_prints_its_progress() -> None:
    segment = _small_segment(3)
    out = io.StringIO()
    call_command("readiness_train", "--segment", str(segment.pk), "--today", "2026-12-01",
                 stdout=out)  # fmt: skip
    assert "training 1 segment(s)" in out.getvalue()
    assert "[1/1] " in out.getvalue() and "v1 falls back (too little history" in out.getvalue()
    with pytest.raises(CommandError, match="no active segment"):
        call_command("readiness_train", "--segment", "999999", stdout=io.StringIO())


def test_readiness_backtest_writes_every_figure_to_json(tmp_path: Path) -> None:
    segment = _small_segment(3)
    out, report = io.StringIO(), tmp_path / "backtest.json"
    call_command("readiness_backtest", "--segment", str(segment.pk), "--today", "2026-12-01",
                 "--json", str(report), stdout=out)  # fmt: skip
    written = json.loads(report.read_text())
    (entry,) = written["segments"]
    assert (entry["id"], entry["rows"], entry["positive_accounts"]) == (segment.pk, 15, 1)
    # Five month ends, none with enough known history behind it to train.
    assert [origin["skipped"] != "" for origin in entry["origins"]] == [True] * 5
    assert entry["metrics"] == {}
    with pytest.raises(CommandError, match="not a folder"):
        call_command("readiness_backtest", "--svg", str(report), stdout=io.StringIO())


def test_the_reliability_chart_is_an_svg_with_a_point_per_decile_and_method() -> None:
    table = reliability([0.1 * i for i in range(20)], [i % 2 for i in range(20)], bins=10)
    svg = reliability_svg(title="Reliability <test>", tables={"model": table, "score": table})
    root = ET.fromstring(svg)
    circles = root.findall("{http://www.w3.org/2000/svg}circle")
    assert len(circles) == 20
    assert "Reliability &lt;test&gt;" in svg


def test_the_models_retrain_monthly_from_beat_and_on_demand_as_a_job() -> None:
    task = PeriodicTask.objects.get(name="Readiness models (monthly)")
    assert task.task == "readiness.models_train_scheduled"
    assert (task.crontab.day_of_month, task.crontab.hour, task.crontab.minute) == ("2", "4", "0")
    assert "readiness.models_train_scheduled" in celery_app.tasks
    active = ICPSegment.objects.filter(is_active=True).count()
    segment = _small_segment(2)
    models_train_scheduled_task.apply()
    assert ReadinessModel.objects.count() == active + 1
    assert ReadinessModel.objects.get(segment=segment).version == 1

    job = Job.objects.create(kind="readiness_train", label="Train readiness")
    models_train_job_task.apply(kwargs={"job_id": job.pk, "segment_ids": [segment.pk]})
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == (Job.Status.DONE, 1, 1)
    assert job.message == "Trained 1 segment(s)"
    assert readiness_model_latest(segment_id=segment.pk).version == 2  # type: ignore[union-attr]
