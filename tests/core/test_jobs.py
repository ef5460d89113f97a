"""Long work started from a page (core.jobs): the task's outcome lands on the
job row, live counts are readable while the work's transaction is still open,
and the progress fragment polls only while the job runs."""

from __future__ import annotations

from typing import Any

import pytest
from celery import shared_task
from django.db import transaction
from django.test import Client

from core.jobs import job_running, job_start, job_state, jobs_recent
from core.models import Job
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@shared_task(name="tests.core.count_to")
def count_to(*, job_id: int, upto: int, fail_at: int | None = None) -> None:
    with job_running(job_id) as progress:
        progress.set_total(upto)
        for number in range(1, upto + 1):
            if number == fail_at:
                raise ValueError(f"row {number}: not a number")
            progress.advance()
        progress.finish(message=f"Counted to {upto}.", result={"upto": upto})


def test_an_eager_job_is_done_with_its_message_and_result(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    user = UserFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(
            kind="count", label="Count to 7", task=count_to, task_kwargs={"upto": 7},
            created_by_id=user.pk, unit="row",
        )  # fmt: skip
    row = Job.objects.get(pk=job.pk)
    assert (row.status, row.done, row.total) == ("done", 7, 7)
    assert row.message == "Counted to 7."
    assert row.result == {"upto": 7}
    assert row.created_by_id == user.pk
    assert row.started_at is not None and row.finished_at is not None
    state = job_state(job.pk)
    assert state is not None and state.finished and state.percent == 100


def test_a_failing_job_records_why_and_does_not_raise(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(
            kind="count", label="Count to 5", task=count_to,
            task_kwargs={"upto": 5, "fail_at": 4}, created_by_id=None,
        )  # fmt: skip
    row = Job.objects.get(pk=job.pk)
    assert row.status == "failed"
    assert row.message == "Failed: row 4: not a number"
    assert (row.done, row.total) == (3, 5)


def test_live_counts_are_readable_while_the_work_holds_its_transaction() -> None:
    job = Job.objects.create(kind="count", label="Count")
    with job_running(job.pk) as progress, transaction.atomic():
        progress.set_total(10)
        progress.advance(4)
        # The row has not been written (the work's transaction is open), but
        # the page reads the live counts.
        assert Job.objects.values_list("done", "total").get(pk=job.pk) == (0, None)
        state = job_state(job.pk)
        assert state is not None
        assert (state.status, state.done, state.total, state.percent) == ("running", 0, 10, 0)
        progress.advance(1, message="Halfway")
        progress._report(force=True)
        state = job_state(job.pk)
        assert state is not None and (state.done, state.message) == (5, "Halfway")
    assert Job.objects.values_list("status", "done").get(pk=job.pk) == ("done", 5)


def test_recent_jobs_of_a_kind_newest_first() -> None:
    first = Job.objects.create(kind="count", label="first")
    second = Job.objects.create(kind="count", label="second")
    Job.objects.create(kind="other", label="other")
    assert [job.id for job in jobs_recent(kind="count")] == [second.pk, first.pk]


@pytest.fixture
def signed_in(client: Client) -> Client:
    client.force_login(UserFactory.create())
    return client


def test_the_fragment_polls_while_the_job_runs_and_stops_when_done(signed_in: Client) -> None:
    job = Job.objects.create(kind="count", label="Import accounts.csv", total=200, unit="row")
    with job_running(job.pk) as progress:
        progress.advance(50)
        html = signed_in.get(f"/jobs/{job.pk}/", headers={"HX-Request": "true"}).content.decode()
        assert 'hx-trigger="every 1s"' in html
        assert "<html" not in html  # the fragment alone
        assert "50 of 200 rows (25%)" in html
        progress.finish(message="200 rows imported.")
    html = signed_in.get(f"/jobs/{job.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in html
    assert "200 rows imported." in html
    assert 'value="200"' in html


def test_a_job_opened_directly_comes_in_the_shell_and_needs_a_login(
    client: Client, signed_in: Any
) -> None:
    job = Job.objects.create(kind="count", label="Count", status="failed", message="Failed: x")
    page = signed_in.get(f"/jobs/{job.pk}/").content.decode()
    assert "<html" in page and "Failed: x" in page
    assert signed_in.get("/jobs/999999/").status_code == 404
    signed_in.logout()
    assert client.get(f"/jobs/{job.pk}/").status_code == 302
