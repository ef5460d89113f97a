"""Activity retention (issue 20): old raw activity is folded into carried sums
and deleted, and every score, history day and program touch stays what it was.

The scenario: scored at NOW = 2026-06-01 12:00 UTC, keeping 3 whole months
before June, so the cutoff is 2026-03-01 and everything before it is dropped.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from accounts.models import Account, Contact, ICPSegment
from campaigns.models import Touch
from campaigns.touches import touches_recompute, touches_refresh
from engagement.models import (
    AccountEngagement,
    Activity,
    ActivityCarried,
    ActivityPending,
    ActivityRetentionRun,
    ContactEngagement,
    EngagementSnapshot,
    TrackingKeyCarried,
)
from engagement.retention_selectors import HistoryDropped, retention_cutoff
from engagement.rollup.recompute import scores_recompute
from engagement.rollup.scoring_models import scoring_model_update
from engagement.rollup.snapshots import scores_as_of, snapshots_backfill
from engagement.services.junk import contact_junk_set
from engagement.services.retention import activity_retention_apply, retention_cutoff_for
from engagement.tasks import activity_retention_task
from tests.factories import (
    ContactFactory,
    ProgramFactory,
    ScoringModelFactory,
    SourceFactory,
    segment_member,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
CUTOFF = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
HALF_LIFE = 30.0


def decayed(weight: float, occurred_at: dt.datetime, at: dt.datetime = NOW) -> float:
    """DESIGN 4 by hand: w * 2^(-days / half-life)."""
    return weight * 2 ** (-(at - occurred_at).total_seconds() / 86400 / HALF_LIFE)


def score_of(raw: float) -> int:
    return round(100 * (1 - math.exp(-raw / 50)))


@pytest.fixture
def segment() -> ICPSegment:
    return ScoringModelFactory.create(segment__name="Retained").segment


@pytest.fixture
def source() -> Any:
    return SourceFactory.create()


def act(source: Any, account: Account, contact: Contact | None, kind: str, at: dt.datetime,
        **extra: Any) -> Activity:  # fmt: skip
    return Activity.objects.create(
        source=source, message_id=f"m-{random.random()}", type=kind, occurred_at=at,
        account=account, contact=contact, **extra,
    )  # fmt: skip


def roll_all() -> None:
    """What the rollup leaves: nothing pending."""
    ActivityPending.objects.all().delete()


def scores(segment: ICPSegment) -> dict[int, tuple[Any, ...]]:
    return {
        row.account_id: (
            row.score,
            round(row.raw_score, 9),
            row.stage,
            row.engaged_contacts,
            row.last_activity_at,
        )
        for row in AccountEngagement.objects.filter(segment=segment)
    }


def contact_points(segment: ICPSegment) -> dict[tuple[int, int], float]:
    return {
        (row.account_id, row.contact_id): row.decay_sum
        for row in ContactEngagement.objects.filter(segment=segment)
    }


def history(segment: ICPSegment, source: Any, *, seed: int = 7) -> list[Account]:
    """Accounts with contacts of every seniority, anonymous and junk-excluded
    activity, from December 2025 to May 2026 (both sides of the cutoff)."""
    chance = random.Random(seed)
    accounts = []
    kinds = ["page_view", "pricing_page_view", "demo_request", "content_download",
             "meeting_held", "unsubscribe", "other"]  # fmt: skip
    for n in range(6):
        account = segment_member(segment, name=f"Account {n}")
        accounts.append(account)
        people = [
            ContactFactory.create(account=account, seniority=seniority, buying_role=role)
            for seniority, role in (("c_level", "decision_maker"), ("manager", "champion"),
                                    ("other", ""))
        ]  # fmt: skip
        for _ in range(40):
            at = dt.datetime(2025, 12, 1, tzinfo=dt.UTC) + dt.timedelta(days=chance.uniform(0, 180))
            who = chance.choice([*people, None])
            reason = "junk: test" if chance.random() < 0.1 else ""
            act(source, account, who, chance.choice(kinds), min(at, NOW), excluded_reason=reason)
    roll_all()
    return accounts


def test_the_cutoff_is_the_start_of_the_month_that_many_whole_months_back() -> None:
    assert retention_cutoff_for(months=13, now=dt.datetime(2026, 12, 3, tzinfo=dt.UTC)) == (
        dt.datetime(2025, 11, 1, tzinfo=dt.UTC)
    )
    assert retention_cutoff_for(months=1, now=dt.datetime(2026, 1, 15, tzinfo=dt.UTC)) == (
        dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
    )
    assert retention_cutoff_for(months=12, now=dt.datetime(2026, 3, 31, 23, tzinfo=dt.UTC)) == (
        dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    )
    assert retention_cutoff_for(months=3, now=NOW) == CUTOFF
    with pytest.raises(ValueError, match="at least 1"):
        retention_cutoff_for(months=0, now=NOW)


def test_a_recompute_after_the_drop_gives_every_score_it_gave_before(
    segment: ICPSegment, source: Any
) -> None:
    history(segment, source)
    scores_recompute(segment_id=segment.pk, at=NOW)
    before, points_before = scores(segment), contact_points(segment)
    kept = Activity.objects.filter(occurred_at__gte=CUTOFF).count()
    old = Activity.objects.filter(occurred_at__lt=CUTOFF).count()
    assert old > 50 and kept > 50
    dropped_keys = Counter(
        Activity.objects.filter(occurred_at__lt=CUTOFF).values_list(
            "account_id", "contact_id", "type", "excluded_reason"
        )
    )

    result = activity_retention_apply(months=3, now=NOW)

    assert result.cutoff == CUTOFF and result.activities_dropped == old
    assert not Activity.objects.filter(occurred_at__lt=CUTOFF).exists()
    assert Activity.objects.count() == kept
    assert retention_cutoff() == CUTOFF
    # One carried row per (account, contact, type, exclusion) of the dropped
    # rows, with their count (one decay rate: one current model).
    carried = {
        (row.account_id, row.contact_id, row.type, row.excluded_reason): row.count
        for row in ActivityCarried.objects.all()
    }
    assert carried == dict(dropped_keys)
    assert len(carried) == result.carried_rows

    ContactEngagement.objects.all().delete()
    AccountEngagement.objects.all().delete()
    scores_recompute(segment_id=segment.pk, at=NOW)
    assert scores(segment) == before
    after = contact_points(segment)
    assert after.keys() == points_before.keys()
    for pair, value in points_before.items():
        assert after[pair] == pytest.approx(value, rel=1e-9, abs=1e-12)


def test_a_contacts_points_after_the_drop_are_the_hand_computed_sum(
    segment: ICPSegment, source: Any
) -> None:
    account = segment_member(segment, name="Alpha")
    ann = ContactFactory.create(account=account, seniority="manager")
    dropped_at = dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC)  # 120 days: 4 half-lives
    kept_at = dt.datetime(2026, 5, 2, 12, tzinfo=dt.UTC)  # 30 days: 1 half-life
    act(source, account, ann, "demo_request", dropped_at)
    act(source, account, ann, "page_view", kept_at)
    roll_all()
    scores_recompute(segment_id=segment.pk, at=NOW)
    activity_retention_apply(months=3, now=NOW)
    assert list(Activity.objects.values_list("type", flat=True)) == ["page_view"]
    scores_recompute(segment_id=segment.pk, at=NOW)

    raw = 30 / 16 + 1 / 2  # 2.375
    assert decayed(30, dropped_at) + decayed(1, kept_at) == pytest.approx(raw)
    row = AccountEngagement.objects.get(account=account, segment=segment)
    assert row.raw_score == pytest.approx(raw, rel=1e-9)
    assert row.score == score_of(raw) == 5
    assert row.last_activity_at == kept_at

    # A weight changed after the drop re-weighs the dropped demo request too.
    scoring_model_update(segment_id=segment.pk, changes={"activity_weights": {
        "demo_request": 80, "page_view": 2}}, recompute=False)  # fmt: skip
    scores_recompute(segment_id=segment.pk, at=NOW)
    row.refresh_from_db()
    assert row.raw_score == pytest.approx(80 / 16 + 2 / 2, rel=1e-9)  # 6.0

    # So does a seniority edited after it (vice president: 1.5).
    Contact.objects.filter(pk=ann.pk).update(seniority="vp")
    scores_recompute(segment_id=segment.pk, at=NOW)
    row.refresh_from_db()
    assert row.raw_score == pytest.approx(1.5 * 6.0, rel=1e-9)

    # And the junk flag: set, the dropped activity counts zero; reversed, it counts.
    contact_junk_set(contact_id=ann.pk, is_junk=True, reason="test")
    scores_recompute(segment_id=segment.pk, at=NOW)
    row.refresh_from_db()
    assert row.raw_score == 0.0
    assert set(ActivityCarried.objects.values_list("excluded_reason", flat=True)) != {""}
    contact_junk_set(contact_id=ann.pk, is_junk=False)
    scores_recompute(segment_id=segment.pk, at=NOW)
    row.refresh_from_db()
    assert row.raw_score == pytest.approx(9.0, rel=1e-9)


def test_anonymous_dropped_activity_counts_with_its_factor(
    segment: ICPSegment, source: Any
) -> None:
    account = segment_member(segment, name="Bravo")
    visit = dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC)  # 4 half-lives before NOW
    act(source, account, None, "pricing_page_view", visit)
    roll_all()
    activity_retention_apply(months=3, now=NOW)
    assert not Activity.objects.exists()
    scores_recompute(segment_id=segment.pk, at=NOW)
    row = AccountEngagement.objects.get(account=account, segment=segment)
    assert row.raw_score == pytest.approx(0.5 * 5 / 16, rel=1e-9)
    assert row.last_activity_at == visit


def test_a_later_run_moves_the_carried_sums_to_its_cutoff(segment: ICPSegment, source: Any) -> None:
    history(segment, source, seed=11)
    scores_recompute(segment_id=segment.pk, at=NOW)
    before = scores(segment)
    activity_retention_apply(months=4, now=NOW)  # cutoff 2026-02-01
    first = ActivityCarried.objects.values_list("landmark", flat=True).distinct()
    assert list(first) == [dt.datetime(2026, 2, 1, tzinfo=dt.UTC)]
    again = activity_retention_apply(months=4, now=NOW)
    assert again.activities_dropped == 0
    activity_retention_apply(months=3, now=NOW)  # cutoff 2026-03-01
    assert list(ActivityCarried.objects.values_list("landmark", flat=True).distinct()) == [CUTOFF]
    assert ActivityRetentionRun.objects.count() == 3
    scores_recompute(segment_id=segment.pk, at=NOW)
    assert scores(segment) == before
    with pytest.raises(ValueError, match="cannot come back"):
        activity_retention_apply(months=5, now=NOW)


def test_pending_activity_is_not_dropped_until_it_is_rolled_up(
    segment: ICPSegment, source: Any
) -> None:
    account = segment_member(segment, name="Charlie")
    late = act(source, account, None, "page_view", dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    assert ActivityPending.objects.filter(activity_id=late.pk).exists()
    result = activity_retention_apply(months=3, now=NOW)
    assert result.activities_dropped == 0
    assert Activity.objects.filter(pk=late.pk).exists()
    roll_all()
    assert activity_retention_apply(months=3, now=NOW).activities_dropped == 1


def test_a_visit_never_resolved_to_an_account_is_deleted_without_a_trace(
    segment: ICPSegment, source: Any
) -> None:
    Activity.objects.create(
        source=source, message_id="anonymous-old", type="page_view", anonymous_id="visitor-1",
        occurred_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
    )  # fmt: skip
    roll_all()
    result = activity_retention_apply(months=3, now=NOW)
    assert result.activities_dropped == 1 and not Activity.objects.exists()
    assert not ActivityCarried.objects.exists() and result.carried_rows == 0


def test_the_score_of_a_day_after_the_cutoff_is_unchanged_and_before_it_refused(
    segment: ICPSegment, source: Any
) -> None:
    accounts = history(segment, source, seed=3)
    ids = Account.objects.filter(pk__in=[a.pk for a in accounts]).values("pk")
    days = [dt.date(2026, 3, 1), dt.date(2026, 4, 15), dt.date(2026, 5, 31)]
    before = {day: scores_as_of(segment_id=segment.pk, day=day, accounts=ids) for day in days}
    activity_retention_apply(months=3, now=NOW)
    for day in days:
        assert scores_as_of(segment_id=segment.pk, day=day, accounts=ids) == before[day]
    with pytest.raises(HistoryDropped, match="2026-03-01"):
        scores_as_of(segment_id=segment.pk, day=dt.date(2026, 2, 27), accounts=ids)


def test_missing_snapshot_days_are_backfilled_before_the_drop_and_kept_ones_untouched(
    segment: ICPSegment, source: Any
) -> None:
    history(segment, source, seed=5)
    first_day = Activity.objects.order_by("occurred_at").first().occurred_at.date()  # type: ignore[union-attr]
    # A nightly snapshot taken on one day, with a marker score no backfill gives.
    marked = dt.date(2026, 1, 10)
    account = Account.objects.first()
    assert account is not None
    EngagementSnapshot.objects.create(
        account=account, segment=segment, day=marked, model_version=1, score=99,
        raw_score=0.0, stage="aware", engaged_contacts=0, roles_covered=0,
    )  # fmt: skip
    expected_days = (dt.date(2026, 2, 28) - first_day).days + 1 - 1  # less the marked day
    backfilled = snapshots_backfill(segment_id=segment.pk, since=dt.date(2026, 2, 10),
                                    until=dt.date(2026, 2, 20))  # fmt: skip
    assert backfilled == 6 * 11
    reference = {
        (row.account_id, row.day): (row.score, row.raw_score)
        for row in EngagementSnapshot.objects.filter(day=dt.date(2026, 2, 15))
    }
    result = activity_retention_apply(months=3, now=NOW)
    assert result.snapshot_days_backfilled == expected_days - 11
    days = set(EngagementSnapshot.objects.filter(segment=segment).values_list("day", flat=True))
    wanted = {first_day + dt.timedelta(days=n) for n in range((CUTOFF.date() - first_day).days)}
    assert wanted <= days
    assert EngagementSnapshot.objects.get(account=account, day=marked).score == 99
    after = {
        (row.account_id, row.day): (row.score, row.raw_score)
        for row in EngagementSnapshot.objects.filter(day=dt.date(2026, 2, 15))
    }
    assert after == reference
    # A backfill that would need the dropped activity is refused; after the cutoff it works.
    with pytest.raises(HistoryDropped):
        snapshots_backfill(segment_id=segment.pk, since=dt.date(2026, 2, 1),
                           until=dt.date(2026, 3, 5))  # fmt: skip
    with pytest.raises(CommandError, match="retention dropped"):
        call_command("snapshots_backfill", "--since", "2026-02-01", "--until", "2026-03-05",
                     verbosity=0)  # fmt: skip


def test_a_backfill_after_the_cutoff_gives_the_days_it_gave_before(
    segment: ICPSegment, source: Any
) -> None:
    history(segment, source, seed=9)
    since, until = dt.date(2026, 3, 1), dt.date(2026, 3, 20)
    snapshots_backfill(segment_id=segment.pk, since=since, until=until)
    window = EngagementSnapshot.objects.filter(day__range=(since, until))
    before = {(r.account_id, r.day): (r.score, round(r.raw_score, 9)) for r in window}
    activity_retention_apply(months=3, now=NOW)
    EngagementSnapshot.objects.filter(day__range=(since, until)).delete()
    snapshots_backfill(segment_id=segment.pk, since=since, until=until)
    after = {(r.account_id, r.day): (r.score, round(r.raw_score, 9)) for r in window}
    assert after == before and len(after) == 6 * 20


def test_program_touches_keep_their_first_touch_and_count(segment: ICPSegment, source: Any) -> None:
    program = ProgramFactory.create(tracking_key="spring-webinar")
    account = segment_member(segment, name="Delta")
    person = ContactFactory.create(account=account)
    first = dt.datetime(2026, 1, 20, 9, tzinfo=dt.UTC)
    for at in (
        first,
        dt.datetime(2026, 2, 3, tzinfo=dt.UTC),
        dt.datetime(2026, 4, 2, tzinfo=dt.UTC),
    ):
        act(source, account, person, "page_view", at, tracking_key="spring-webinar")
    act(source, account, person, "page_view", dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
        tracking_key="spring-webinar", excluded_reason="junk: test")  # fmt: skip
    roll_all()
    touches_recompute()
    before = Touch.objects.values_list("first_touch_at", "last_touch_at", "touch_count").get(
        program=program, account=account
    )
    assert before == (first, dt.datetime(2026, 4, 2, tzinfo=dt.UTC), 3)
    activity_retention_apply(months=3, now=NOW)
    assert TrackingKeyCarried.objects.count() == 2  # counted and excluded apart
    Touch.objects.all().delete()
    touches_recompute()
    assert (
        Touch.objects.values_list("first_touch_at", "last_touch_at", "touch_count").get(
            program=program, account=account
        )
        == before
    )
    # A new keyed visit refreshes the pair from live and carried activity together.
    new = act(source, account, person, "page_view", dt.datetime(2026, 5, 30, tzinfo=dt.UTC),
              tracking_key="spring-webinar")  # fmt: skip
    touches_refresh(activity_ids=[new.pk])
    assert Touch.objects.values_list("first_touch_at", "touch_count").get(
        program=program, account=account
    ) == (first, 4)
    # The contact flagged junk: the carried rows follow, and the touch goes.
    contact_junk_set(contact_id=person.pk, is_junk=True, reason="test")
    touches_recompute()
    assert not Touch.objects.filter(program=program).exists()


def test_the_nightly_task_does_nothing_unless_retention_is_set(
    segment: ICPSegment, source: Any
) -> None:
    account = segment_member(segment, name="Echo")
    # Today is the real date: 13 months back from it is before September 2025.
    act(source, account, None, "page_view", dt.datetime(2024, 9, 1, tzinfo=dt.UTC))
    roll_all()
    activity_retention_task()
    assert Activity.objects.count() == 1 and not ActivityRetentionRun.objects.exists()
    with override_settings(ACTIVITY_RETENTION_MONTHS=13):
        activity_retention_task()
    assert not Activity.objects.exists()
    assert ActivityRetentionRun.objects.get().months_kept == 13


def test_the_command_says_what_it_dropped_and_refuses_without_a_period(
    segment: ICPSegment, source: Any
) -> None:
    account = segment_member(segment, name="Foxtrot")
    act(source, account, None, "page_view", dt.datetime(2024, 10, 1, tzinfo=dt.UTC))
    roll_all()
    with pytest.raises(CommandError, match="--months"):
        call_command("activity_retention")
    out = StringIO()
    call_command("activity_retention", "--months", "24", stdout=out)
    assert "1 rows dropped" in out.getvalue()
    assert connection.vendor in ("postgresql", "sqlite")


def test_the_admin_lists_each_run_read_only(
    segment: ICPSegment, source: Any, admin_client: Any
) -> None:
    account = segment_member(segment, name="Golf")
    act(source, account, None, "page_view", dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    roll_all()
    activity_retention_apply(months=3, now=NOW)
    listing = admin_client.get("/admin/engagement/activityretentionrun/")
    assert listing.status_code == 200
    assert "March 1, 2026, midnight" in listing.content.decode()
    run = ActivityRetentionRun.objects.get()
    assert admin_client.post(f"/admin/engagement/activityretentionrun/{run.pk}/delete/",
                             {"post": "yes"}).status_code == 403  # fmt: skip
    assert ActivityRetentionRun.objects.filter(pk=run.pk).exists()
