"""Claiming rollups, the chunked resumable recompute and the ingest trigger."""

from __future__ import annotations

import datetime as dt
import random
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from accounts.models import Account, Contact, ICPSegment, SegmentMembership
from engagement.models import (
    AccountEngagement,
    Activity,
    ActivityPending,
    ContactEngagement,
    RollupCursor,
    ScoreRecomputeRun,
    ScoringModel,
)
from engagement.rollup import recompute
from engagement.rollup.incremental import scores_rollup
from engagement.rollup.recompute import scores_recompute, segments_to_recompute
from engagement.services.sources import source_create
from engagement.tasks import scores_rollup_all_task
from tests.factories import AccountFactory, ContactFactory, ScoringModelFactory, SourceFactory
from tests.factories import segment_member as member
from tests.tracking_client import post

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture
def segment() -> ICPSegment:
    return ScoringModelFactory.create(segment__name="Claims").segment


def act(
    account: Account, contact: Contact | None, kind: str, days_ago: float, **extra: Any
) -> Activity:
    return Activity.objects.create(
        source=extra.pop("source", None) or SourceFactory.create(),
        message_id=f"c-{random.random()}", type=kind,
        occurred_at=AT - days_ago * DAY, account=account, contact=contact,
        anonymous_id="" if contact else "anon", **extra,
    )  # fmt: skip


def raw_scores(segment: ICPSegment) -> dict[int, float]:
    return dict(
        AccountEngagement.objects.filter(segment=segment).values_list("account_id", "raw_score")
    )


def test_an_activity_committed_late_with_a_lower_id_is_still_rolled_up(segment: ICPSegment) -> None:
    # The race an id cursor loses: id 50 is rolled up while id 10's transaction
    # is still open; id 10 commits afterwards. A claim takes it whenever it lands.
    account = member(segment)
    vp = ContactFactory.create(account=account, seniority="vp")
    act(account, vp, "page_view", 0, id=50)  # 1 x 1.5
    scores_rollup(segment_id=segment.pk, at=AT)
    assert raw_scores(segment)[account.pk] == pytest.approx(1.5)
    act(account, vp, "pricing_page_view", 0, id=10)  # 5 x 1.5, committed "late"
    result = scores_rollup(segment_id=segment.pk, at=AT)
    assert (result.activities, result.accounts_refreshed) == (1, 1)
    assert raw_scores(segment)[account.pk] == pytest.approx(9.0)
    assert not ActivityPending.objects.exists()
    # Nothing pending: the next rollup claims nothing and changes nothing.
    assert scores_rollup(segment_id=segment.pk, at=AT).activities == 0
    assert raw_scores(segment)[account.pk] == pytest.approx(9.0)


def test_one_claim_is_added_to_every_scored_segment(segment: ICPSegment) -> None:
    other = ICPSegment.objects.create(name="Other")
    ScoringModel.objects.create(segment=other, half_life_days=60)
    account = member(segment)
    SegmentMembership.objects.create(segment=other, account=account)
    person = ContactFactory.create(account=account, seniority="manager")
    scores_recompute(segment_id=segment.pk, at=AT)
    scores_recompute(segment_id=other.pk, at=AT)
    act(account, person, "content_download", 60)  # 10, a quarter / half of it left
    result = scores_rollup(at=AT)  # no segment named: every segment
    assert result.activities == 1
    assert result.by_segment == {segment.pk: 1, other.pk: 1}
    assert raw_scores(segment)[account.pk] == pytest.approx(2.5)
    assert raw_scores(other)[account.pk] == pytest.approx(5.0)


def test_a_recompute_claims_pending_activity_first_so_nothing_counts_twice(
    segment: ICPSegment,
) -> None:
    account = member(segment)
    person = ContactFactory.create(account=account, seniority="manager")
    act(account, person, "form_fill", 0)
    scores_rollup(segment_id=segment.pk, at=AT)  # first rollup: a recompute
    act(account, person, "demo_request", 0)  # pending
    act(account, None, "page_view", 0)  # pending, anonymous: 1 x 0.5
    result = scores_recompute(segment_id=segment.pk, at=AT)
    assert result.activities == 2  # claimed by the recompute
    assert raw_scores(segment)[account.pk] == pytest.approx(40.5)  # 10 + 30, and 0.5
    assert scores_rollup(segment_id=segment.pk, at=AT).activities == 0
    assert raw_scores(segment)[account.pk] == pytest.approx(40.5)


def test_a_rollup_keeps_the_landmark_a_recompute_set(segment: ICPSegment) -> None:
    account = member(segment)
    act(account, ContactFactory.create(account=account), "page_view", 3)
    scores_recompute(segment_id=segment.pk, at=AT)
    landmark = RollupCursor.objects.get(segment=segment).landmark
    assert landmark == dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    # A later recompute keeps it (no rebase needed), so rollups meanwhile agree.
    scores_recompute(segment_id=segment.pk, at=AT + 40 * DAY)
    assert RollupCursor.objects.get(segment=segment).landmark == landmark
    assert ContactEngagement.objects.get().landmark == landmark


def test_a_landmark_far_behind_is_rebased_without_changing_any_score(segment: ICPSegment) -> None:
    account = member(segment)
    act(account, ContactFactory.create(account=account, seniority="vp"), "meeting_held", 10)
    act(account, None, "page_view", 5)
    scores_recompute(segment_id=segment.pk, at=AT)
    # 30-day half-life: lambda x 23,000 days is about 531, past the rebase limit.
    old = dt.datetime(1963, 6, 1, tzinfo=dt.UTC)
    RollupCursor.objects.filter(segment=segment).update(landmark=old)
    ContactEngagement.objects.update(landmark=old)
    AccountEngagement.objects.update(landmark=old)
    scores_recompute(segment_id=segment.pk, at=AT + DAY)
    assert RollupCursor.objects.get(segment=segment).landmark == dt.datetime(
        2026, 6, 2, tzinfo=dt.UTC
    )
    expected = 25 * 1.5 * 2 ** (-11 / 30) + 0.5 * 2 ** (-6 / 30)
    assert raw_scores(segment)[account.pk] == pytest.approx(expected)


def _five_accounts(segment: ICPSegment) -> list[Account]:
    accounts = [member(segment) for _ in range(5)]
    for n, account in enumerate(accounts):
        person = ContactFactory.create(account=account, seniority="director")
        for days in range(n + 1):
            act(account, person, "webinar_attended", days * 7)
        act(account, None, "pricing_page_view", n)
    return accounts


class Crash(Exception):
    pass


def test_a_crashed_chunked_recompute_resumes_after_its_last_committed_range(
    segment: ICPSegment,
) -> None:
    accounts = _five_accounts(segment)
    leaver = AccountFactory.create()  # scored once, then left the segment
    AccountEngagement.objects.create(
        account=leaver, segment=segment, scoring_model=ScoringModel.objects.get(),
        landmark=AT, computed_at=AT, score=50,
    )  # fmt: skip
    scores_recompute(segment_id=segment.pk, at=AT)
    clean = raw_scores(segment)
    assert set(clean) == {a.pk for a in accounts}
    # Wipe the scores and crash a run after its first range of two accounts.
    AccountEngagement.objects.update(raw_score=0, score=0)
    ContactEngagement.objects.update(decay_sum=0)
    chunks: list[int] = []

    def crash_after_first(accounts_done: int) -> None:
        chunks.append(accounts_done)
        raise Crash

    with pytest.raises(Crash):
        scores_recompute(segment_id=segment.pk, at=AT, chunk_accounts=2, on_chunk=crash_after_first)
    run = ScoreRecomputeRun.objects.get(finished_at__isnull=True)
    first_two = sorted(a.pk for a in accounts)[:2]
    assert run.through_account_id == first_two[1]
    assert {k for k, v in raw_scores(segment).items() if v > 0} == set(first_two)
    # A stalled run is picked up by the sweep.
    assert segments_to_recompute(now=run.updated_at + dt.timedelta(minutes=11)) == [segment.pk]
    assert segments_to_recompute(now=run.updated_at) == []

    resumed: list[int] = []
    result = scores_recompute(
        segment_id=segment.pk, at=AT, chunk_accounts=2, on_chunk=resumed.append
    )
    assert resumed == [2, 1]  # the three accounts left, in two ranges
    assert result.accounts_refreshed == 3
    assert not ScoreRecomputeRun.objects.filter(finished_at__isnull=True).exists()
    for account_id, value in clean.items():
        assert raw_scores(segment)[account_id] == pytest.approx(value, rel=1e-12)
    # A fresh run starts from the first account again and gives the same scores.
    again: list[int] = []
    scores_recompute(segment_id=segment.pk, at=AT, chunk_accounts=2, on_chunk=again.append)
    assert again == [2, 2, 1]
    assert raw_scores(segment) == pytest.approx(clean)


def test_a_run_of_an_older_model_starts_over(segment: ICPSegment) -> None:
    _five_accounts(segment)
    with pytest.raises(Crash):
        scores_recompute(
            segment_id=segment.pk, at=AT, chunk_accounts=2,
            on_chunk=lambda _n: (_ for _ in ()).throw(Crash),
        )  # fmt: skip
    old = ScoringModel.objects.get()
    old.is_current = False
    old.save()
    ScoringModel.objects.create(segment=segment, version=2, half_life_days=10)
    done: list[int] = []
    scores_recompute(segment_id=segment.pk, at=AT, chunk_accounts=2, on_chunk=done.append)
    assert done == [2, 2, 1]
    assert set(AccountEngagement.objects.values_list("scoring_model__version", flat=True)) == {2}


def test_by_default_a_recompute_chunk_holds_about_the_configured_number_of_activities(
    segment: ICPSegment, monkeypatch: pytest.MonkeyPatch
) -> None:
    _five_accounts(segment)  # 5 accounts, 20 activities: 4 per account on average
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # the estimate the default reads
            cursor.execute("ANALYZE engagement_activity")
    monkeypatch.setattr(recompute, "RECOMPUTE_CHUNK_ACTIVITIES", 8)
    chunks: list[int] = []
    scores_recompute(segment_id=segment.pk, at=AT, on_chunk=chunks.append)
    assert chunks == [2, 2, 1]  # ceil(8 / 4) accounts a chunk


def test_a_recompute_updates_kept_sums_deletes_gone_ones_and_adds_new_ones(
    segment: ICPSegment,
) -> None:
    account, other = member(segment), member(segment)
    stays, goes = ContactFactory.create(account=account), ContactFactory.create(account=account)
    act(account, stays, "demo_request", 1)
    gone = act(account, goes, "form_fill", 1)
    elsewhere = ContactFactory.create(account=other)
    act(other, elsewhere, "meeting_held", 2)
    scores_recompute(segment_id=segment.pk, at=AT)
    first = {(row.account_id, row.contact_id): row.pk for row in ContactEngagement.objects.all()}
    assert set(first) == {(account.pk, stays.pk), (account.pk, goes.pk), (other.pk, elsewhere.pk)}

    ContactEngagement.objects.update(decay_sum=0)  # every stored sum gone stale
    gone.excluded_reason = "junk contact: student"
    gone.save()
    newcomer = ContactFactory.create(account=account)
    act(account, newcomer, "webinar_attended", 3)
    scores_recompute(segment_id=segment.pk, at=AT)

    second = {(row.account_id, row.contact_id): row for row in ContactEngagement.objects.all()}
    assert set(second) == {
        (account.pk, stays.pk), (account.pk, newcomer.pk), (other.pk, elsewhere.pk)
    }  # fmt: skip
    # Kept pairs are the same rows, updated in place, with their sums rebuilt.
    assert second[(account.pk, stays.pk)].pk == first[(account.pk, stays.pk)]
    assert all(row.decay_sum > 0 for row in second.values())
    # The same as a recompute into empty tables.
    scores = raw_scores(segment)
    ContactEngagement.objects.all().delete()
    AccountEngagement.objects.all().delete()
    scores_recompute(segment_id=segment.pk, at=AT)
    assert raw_scores(segment) == pytest.approx(scores, rel=1e-12)
    assert {key: row.decay_sum for key, row in second.items()} == pytest.approx(
        {(r.account_id, r.contact_id): r.decay_sum for r in ContactEngagement.objects.all()},
        rel=1e-12,
    )


@pytest.mark.services
def test_a_recompute_leaves_sums_the_rollups_kept_right_unwritten(
    segment: ICPSegment, postgresql: None
) -> None:
    account = member(segment)
    person = ContactFactory.create(account=account, seniority="vp")
    act(account, person, "demo_request", 9)
    scores_recompute(segment_id=segment.pk, at=AT)
    act(account, person, "webinar_attended", 1)
    scores_rollup(segment_id=segment.pk, at=AT)  # adds the new term to the stored sum

    def row_version() -> tuple[str, float]:
        with connection.cursor() as cursor:  # xmin: the transaction that wrote the row
            cursor.execute("SELECT xmin::text, decay_sum FROM engagement_contactengagement")
            (version,) = cursor.fetchall()
        return version

    before = row_version()
    scores_recompute(segment_id=segment.pk, at=AT)
    assert row_version() == before  # same sum, not rewritten
    ContactEngagement.objects.update(decay_sum=before[1] * 1.001)
    scores_recompute(segment_id=segment.pk, at=AT)
    assert row_version()[1] == pytest.approx(before[1], rel=1e-12)  # rewritten right


def test_the_recompute_command_shows_progress_by_account_ranges(
    segment: ICPSegment, capsys: pytest.CaptureFixture[str]
) -> None:
    _five_accounts(segment)
    out = StringIO()
    call_command("scores_recompute", "--segment", "Claims", "--chunk", "2", stdout=out)
    assert "5 accounts scored" in out.getvalue()
    assert "5/5" in capsys.readouterr().err  # the tqdm bar counts accounts
    assert ScoreRecomputeRun.objects.get().accounts_done == 5


def test_the_daily_task_rebuilds_stored_sums_from_claimed_activity(
    segment: ICPSegment,
) -> None:
    from engagement.tasks import scores_refresh_all_task

    account = member(segment)
    act(account, ContactFactory.create(account=account), "demo_request", 0)
    scores_rollup_all_task.apply()
    assert ScoreRecomputeRun.objects.count() == 1  # the sweep's first scoring
    right = raw_scores(segment)[account.pk]
    assert right > 0
    # A sum gone stale (old activity's worth changed) is rebuilt overnight.
    ContactEngagement.objects.update(decay_sum=0)
    scores_refresh_all_task.apply()
    assert ScoreRecomputeRun.objects.count() == 2
    # (Scored a moment later: the same to within the decay of those milliseconds.)
    assert raw_scores(segment)[account.pk] == pytest.approx(right, rel=1e-6)


def test_the_rollup_command_rolls_pending_activity_up(segment: ICPSegment) -> None:
    account = member(segment)
    act(account, ContactFactory.create(account=account), "form_fill", 0)
    out = StringIO()
    call_command("scores_rollup", stdout=out)  # first time: the segment's recompute
    act(account, None, "page_view", 0)
    call_command("scores_rollup", stdout=out)
    assert "1 activities rolled up, 1 account scores refreshed" in out.getvalue()


def test_with_eager_tasks_ingest_runs_no_rollup_inline(
    segment: ICPSegment, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    account = member(segment)
    ContactFactory.create(account=account, external_id="u-1")
    scores_recompute(segment_id=segment.pk, at=AT)
    issued = source_create(name="Site")
    body = {"type": "track", "messageId": "e-1", "userId": "u-1", "event": "Demo Requested"}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert post(Client(), "/v1/track", body, issued.write_key).status_code == 200
    assert len(callbacks) == 1  # the debounced trigger, which does nothing when eager
    assert ActivityPending.objects.filter(activity__message_id="e-1", batch=None).exists()
    assert raw_scores(segment)[account.pk] == 0
