"""What the fault check counts as a failure, and that its score comparison
finds a score that a full recompute would not give (on either database)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Contact
from bench.faults import check, data
from engagement.models import Activity, ContactEngagement
from engagement.rollup.incremental import scores_rollup


def passing_report() -> check.FaultReport:
    report = check.FaultReport(options=check.FaultOptions(rounds=1))
    report.faults = [check.Fault(name=name, at=1.0, outage=2.0) for name in check.FAULTS]
    report.sent = report.acknowledged = report.stored = 10
    report.drained = report.worker_ping = report.worker_task = True
    report.unscored = 0
    report.scores = data.ScoreComparison(accounts=2, contacts=4, exact=30)
    return report


def test_a_run_with_every_figure_right_passes() -> None:
    report = passing_report()
    assert report.failures() == []
    assert report.lines()[-1] == "Result: PASS"


@pytest.mark.parametrize(
    ("change", "failure"),
    [
        ({"lost": 1}, "1 messages lost (sent, not stored)"),
        ({"acknowledged_not_stored": 2}, "2 acknowledged messages not stored"),
        ({"duplicated": 3}, "3 messages stored more than once"),
        ({"unexpected": 1}, "1 stored message ids never sent"),
        ({"unscored": 5}, "5 activities left unscored"),
        ({"unscored": -1}, "-1 activities left unscored"),
        ({"worker_ping": False}, "the worker did not answer a ping"),
        ({"worker_task": False}, "the worker did not run a task"),
        ({"drained": False}, "the library's queue did not drain"),
        ({"sent": 0}, "no message was sent"),
        ({"faults": []}, "0 faults injected, 3 planned"),
    ],
)
def test_any_figure_wrong_fails_the_run(change: dict[str, object], failure: str) -> None:
    report = passing_report()
    for name, value in change.items():
        setattr(report, name, value)
    assert report.failures() == [failure]
    assert report.lines()[-1] == f"Result: FAIL: {failure}"


def test_the_errors_of_the_batches_the_library_gave_up_on_are_printed() -> None:
    report = passing_report()
    report.given_up = 100
    report.given_up_errors = ["APIError: [Segment] unknown: Bad Gateway (502)"]
    report.stored = 10
    report.lost = 100
    lines = report.lines()
    assert "Given up by the client:   100" in lines
    assert "  the library's error: APIError: [Segment] unknown: Bad Gateway (502)" in lines
    assert lines[-1] == "Result: FAIL: 100 messages lost (sent, not stored)"


def test_the_fault_times_leave_the_last_30_percent_of_the_traffic_without_faults() -> None:
    options = check.FaultOptions(seconds=100.0, rounds=2)
    assert check._fault_times(options) == [
        (pytest.approx(seconds), name)
        for seconds, name in zip([10, 22, 34, 46, 58, 70], check.FAULTS * 2, strict=True)
    ]


@pytest.mark.django_db
def test_the_score_comparison_finds_a_contact_sum_a_full_recompute_does_not_give() -> None:
    seeded = data.seed(accounts=2, contacts_per_account=2)
    source_id = seeded.source_id
    now = timezone.now()
    for n, contact in enumerate(Contact.objects.order_by("pk")):
        Activity.objects.create(
            source_id=source_id, message_id=f"m-{n}", type="demo_request",
            occurred_at=now - dt.timedelta(hours=n), account=contact.account, contact=contact,
        )  # fmt: skip
    scores_rollup()
    assert data.unscored() == 0
    assert data.stored_message_ids(source_id=source_id) == {f"m-{n}": 1 for n in range(4)}

    same = data.scores_against_recompute(segment_id=seeded.segment_id)
    assert (same.accounts, same.contacts, same.mismatches) == (2, 4, 0)

    wrong = ContactEngagement.objects.filter(segment_id=seeded.segment_id).first()
    assert wrong is not None
    ContactEngagement.objects.filter(pk=wrong.pk).update(decay_sum=wrong.decay_sum * 1.01)
    found = data.scores_against_recompute(segment_id=seeded.segment_id)
    assert found.mismatches >= 1
    assert any("decay_sum" in example for example in found.examples or [])
