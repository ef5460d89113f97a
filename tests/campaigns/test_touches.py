"""Program touches: activity carrying a program's tracking key, per account."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from accounts.models import ICPSegment
from campaigns import touches
from campaigns.models import Touch, TouchSweep
from campaigns.services import program_save
from campaigns.tasks import program_touches_recompute_task, touches_refresh_task
from engagement.models import Activity, ScoringModel
from engagement.rollup.incremental import scores_rollup
from engagement.rollup.recompute import scores_recompute
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    ContactFactory,
    ProgramFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC)


def touch_rows() -> set[tuple[int, int, dt.datetime, dt.datetime, int]]:
    return set(
        Touch.objects.values_list(
            "program_id", "account_id", "first_touch_at", "last_touch_at", "touch_count"
        )
    )


def test_keyed_activity_becomes_touches_and_refreshing_twice_changes_nothing() -> None:
    webinar = ProgramFactory.create(tracking_key="webinar-q1")
    ads = ProgramFactory.create(tracking_key="ads-q1")
    person = ContactFactory.create()
    account = person.account
    other = ContactFactory.create()
    source = SourceFactory.create()
    made = [
        ActivityFactory.create(source=source, contact=person, tracking_key="webinar-q1",
                               occurred_at=T0 + dt.timedelta(days=d))
        for d in (3, 0, 7)
    ] + [
        ActivityFactory.create(source=source, contact=other, tracking_key="ads-q1",
                               occurred_at=T0),
        # Not touches: junk, no key, an unknown key, no account.
        ActivityFactory.create(source=source, contact=person, tracking_key="ads-q1",
                               occurred_at=T0, excluded_reason="junk"),
        ActivityFactory.create(source=source, contact=person, occurred_at=T0),
        ActivityFactory.create(source=source, contact=person, tracking_key="nope",
                               occurred_at=T0),
        ActivityFactory.create(source=source, contact=None, account=None,
                               tracking_key="ads-q1", occurred_at=T0),
    ]  # fmt: skip
    touches_refresh_task([a.pk for a in made])  # the task body, inline
    expected = {
        (webinar.pk, account.pk, T0, T0 + dt.timedelta(days=7), 3),
        (ads.pk, other.account.pk, T0, T0, 1),
    }
    assert touch_rows() == expected
    touches.touches_refresh(activity_ids=[a.pk for a in made])
    assert touch_rows() == expected
    assert touches.touches_recompute() >= 0 and touch_rows() == expected
    # A fourth webinar activity later: only its pair is recomputed, from all activity.
    late = ActivityFactory.create(source=source, contact=person, tracking_key="webinar-q1",
                                  occurred_at=T0 - dt.timedelta(days=1))  # fmt: skip
    touches.touches_refresh(activity_ids=[late.pk])
    assert (webinar.pk, account.pk, T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=7), 4) in (
        touch_rows()
    )


def test_junk_flag_and_moved_activity_leave_no_stale_touch() -> None:
    program = ProgramFactory.create(tracking_key="k")
    activity = ActivityFactory.create(tracking_key="k", occurred_at=T0)
    touches.touches_refresh(activity_ids=[activity.pk])
    assert Touch.objects.count() == 1
    Activity.objects.filter(pk=activity.pk).update(excluded_reason="competitor")
    touches.touches_refresh(activity_ids=[activity.pk])
    assert Touch.objects.count() == 0
    Activity.objects.filter(pk=activity.pk).update(excluded_reason="")
    touches.touches_recompute()
    assert Touch.objects.get().program_id == program.pk
    moved_to = AccountFactory.create()
    Activity.objects.filter(pk=activity.pk).update(account=moved_to)
    touches.touches_recompute()
    assert list(Touch.objects.values_list("account_id", flat=True)) == [moved_to.pk]


def test_a_program_entered_after_its_activity_gets_its_touches(
    django_capture_on_commit_callbacks: Any,
) -> None:
    activity = ActivityFactory.create(tracking_key="direct-mail-7", occurred_at=T0)
    program = ProgramFactory.create(tracking_key="other")
    with django_capture_on_commit_callbacks(execute=False) as scheduled:
        program_save(program_id=program.pk, values={"tracking_key": "direct-mail-7"})
    assert len(scheduled) == 1 and not Touch.objects.exists()  # enqueued on commit
    program_touches_recompute_task(program.pk)  # what the worker runs
    assert touch_rows() == {(program.pk, activity.account_id, T0, T0, 1)}


def test_sweep_rereads_an_overlap_so_a_late_commit_below_the_cursor_is_not_skipped() -> None:
    ProgramFactory.create(tracking_key="k")
    person = ContactFactory.create()
    first = touches.touches_sweep(now=T0)
    assert first.scanned_from_id == 0  # no sweep before: a full recompute
    # The late transaction's row: its id is handed out now, but it stays
    # invisible as a touch (no account) until after later ids are swept. Making
    # it visible below stands in for its commit landing late.
    late = ActivityFactory.create(contact=person, account=None, tracking_key="k", occurred_at=T0)
    ActivityFactory.create(contact=person, tracking_key="k", occurred_at=T0)
    second = touches.touches_sweep(now=T0 + dt.timedelta(minutes=31))
    assert second.scanned_from_id == first.high_water_id
    assert late.pk <= second.high_water_id  # a plain max-id cursor would now be past it
    ActivityFactory.create(contact=person, tracking_key="k", occurred_at=T0)
    third = touches.touches_sweep(now=T0 + dt.timedelta(minutes=36))
    assert third.scanned_from_id == first.high_water_id  # trails by the overlap
    assert Touch.objects.get().touch_count == 2
    Activity.objects.filter(pk=late.pk).update(account=person.account)  # the late commit
    touches.touches_sweep(now=T0 + dt.timedelta(minutes=40))
    assert Touch.objects.get().touch_count == 3
    assert not TouchSweep.objects.filter(swept_at__lt=T0).exists()


def test_a_commit_later_than_the_overlap_waits_for_the_daily_recompute() -> None:
    ProgramFactory.create(tracking_key="k")
    person = ContactFactory.create()
    touches.touches_sweep(now=T0)
    late = ActivityFactory.create(contact=person, account=None, tracking_key="k", occurred_at=T0)
    touches.touches_sweep(now=T0 + dt.timedelta(minutes=5))
    Activity.objects.filter(pk=late.pk).update(account=person.account)  # 90 minutes later
    after = touches.touches_sweep(now=T0 + dt.timedelta(minutes=95))
    assert after.scanned_from_id >= late.pk and not Touch.objects.exists()
    touches.touches_recompute()
    assert Touch.objects.get().touch_count == 1


def test_touches_follow_the_activity_a_score_rollup_claims(
    django_capture_on_commit_callbacks: Any, eager_tasks: None
) -> None:
    # The enqueued task runs in this process, broker or not: eager_tasks tells
    # both the project's Celery app and the current one (the Django setting
    # alone was not seen once another test had made its own app, on PostgreSQL
    # with a broker in a full run).
    program = ProgramFactory.create(tracking_key="webinar-q1")
    segment = ICPSegment.objects.create(name="Claims")
    ScoringModel.objects.create(segment=segment)
    scores_recompute(segment_id=segment.pk)  # the segment is scored: rollups claim
    person = ContactFactory.create()
    ActivityFactory.create(contact=person, tracking_key="webinar-q1", occurred_at=T0)
    assert not Touch.objects.exists()
    # The claim's commit sends the signal; its receiver enqueues the batch's touches.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rolled = scores_rollup()
    assert rolled.activities == 1 and callbacks
    assert touch_rows() == {(program.pk, person.account.pk, T0, T0, 1)}
