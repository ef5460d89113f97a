"""What the ranking review adds to campaigns: the day a too-early program
becomes judgeable, a program's run-rate, the runs' counts in one query, and a
run reporting its progress as a job."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from campaigns import ranking, selectors
from campaigns.models import RankingEntry, Spend
from campaigns.services import ranking_run
from core.jobs import job_running
from core.models import Job
from tests.factories import ProgramFactory

START, END = dt.date(2026, 1, 1), dt.date(2026, 6, 30)


def test_a_program_is_judgeable_once_its_window_has_closed() -> None:
    ends = dt.date(2026, 4, 1)
    assert ranking.judgeable_from(program_ends_on=ends, window_days=90) == dt.date(2026, 6, 30)
    # The rule of too_early_to_judge, one day either side.
    assert not ranking.too_early_to_judge(program_ends_on=ends, period_end=END, window_days=90)
    assert ranking.too_early_to_judge(
        program_ends_on=ends + dt.timedelta(days=1), period_end=END, window_days=90
    )


@pytest.mark.parametrize(
    ("starts", "ends", "days"),
    [
        (dt.date(2026, 1, 1), dt.date(2026, 3, 31), 90),  # inside: 31 + 28 + 31
        (dt.date(2025, 12, 1), dt.date(2026, 1, 10), 10),  # clipped at the start
        (dt.date(2026, 6, 21), dt.date(2026, 9, 1), 10),  # clipped at the end
        (dt.date(2026, 7, 1), dt.date(2026, 9, 1), 0),  # after the period
    ],
)
def test_days_running_in_the_period(starts: dt.date, ends: dt.date, days: int) -> None:
    assert (
        ranking.days_running_in(starts_on=starts, ends_on=ends, period_start=START, period_end=END)
        == days
    )


def test_monthly_run_rate_is_spend_per_thirty_days_to_the_cent() -> None:
    assert ranking.monthly_run_rate(spend=Decimal(2500), days_running=90) == Decimal("833.33")
    assert ranking.monthly_run_rate(spend=Decimal(100), days_running=7) == Decimal("428.57")
    assert ranking.monthly_run_rate(spend=Decimal(100), days_running=0) is None


@pytest.mark.django_db
def test_run_summaries_count_each_kind_of_entry_in_one_query(
    django_assert_num_queries: Any,
) -> None:
    for index in range(3):
        program = ProgramFactory.create()
        Spend.objects.create(program=program, spent_on=dt.date(2026, 2, 1), amount=100 + index)
    late = ProgramFactory.create(ends_on=dt.date(2026, 6, 1))
    Spend.objects.create(program=late, spent_on=dt.date(2026, 5, 1), amount=Decimal(5))
    ProgramFactory.create(ends_on=END)  # without spend
    first = ranking_run(start=START, end=END)
    second = ranking_run(start=START, end=END)
    RankingEntry.objects.filter(run=first, is_flagged=True).update(decision="kept")
    with django_assert_num_queries(1):
        # The stubs do not see the selector's annotations.
        rows = list(
            selectors.ranking_run_summaries().values_list(  # type: ignore[misc]
                "pk", "judged", "flagged", "too_early_count", "without_spend", "decided", "pending"
            )
        )
    # Newest first; 3 judged flag ceil(0.3) = 1.
    assert rows == [(second.pk, 3, 1, 1, 1, 0, 1), (first.pk, 3, 1, 1, 1, 1, 0)]


@pytest.mark.django_db
def test_a_run_reports_its_progress_and_what_it_found() -> None:
    for _ in range(2):
        program = ProgramFactory.create()
        Spend.objects.create(program=program, spent_on=dt.date(2026, 2, 1), amount=Decimal(10))
    job = Job.objects.create(kind="ranking_run", label="Rank")
    with job_running(job.pk) as progress:
        run = ranking_run(start=START, end=END, progress=progress)
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("done", 3, 3)
    assert (
        job.message == f"Run {run.pk} stored: 2 programs judged, 1 flagged, 0 too early to judge."
    )
    assert job.result == {"run_id": run.pk}
    # Each entry keeps the program's lift (none measured here, and why).
    lifts = [e.lift for e in run.entries.all()]
    assert all(lift is not None and lift["estimate"] is None and lift["reason"] for lift in lifts)
