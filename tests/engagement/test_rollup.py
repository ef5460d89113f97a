"""Rollups write the scores DESIGN 4 defines; incremental equals full."""

from __future__ import annotations

import datetime as dt
import random
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Account, Contact, ICPSegment, Opportunity
from engagement.models import (
    AccountEngagement,
    Activity,
    ContactEngagement,
    EngagementSnapshot,
    ScoringModel,
)
from engagement.rollup.incremental import scores_rollup
from engagement.rollup.recompute import scores_recompute, scores_refresh
from engagement.rollup.scoring_models import scoring_model_update
from engagement.rollup.snapshots import score_valid_at, snapshots_backfill, snapshots_take
from engagement.tasks import (
    scores_recompute_task,
    scores_refresh_all_task,
    scores_rollup_all_task,
)
from tests.factories import (
    AccountFactory,
    ContactFactory,
    OpportunityFactory,
    ScoringModelFactory,
    SourceFactory,
)
from tests.factories import segment_member as member

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture
def segment() -> ICPSegment:
    return ScoringModelFactory.create(
        segment__name="Mid-market SaaS", required_roles=["champion", "decision_maker"]
    ).segment


def act(
    account: Account,
    contact: Contact | None,
    kind: str,
    days_ago: float,
    *,
    before: dt.datetime = AT,
    **extra: Any,
) -> Activity:
    """An activity `days_ago` days before AT, or before `before` (the current time
    for what a task or command scores at the current time)."""
    return Activity.objects.create(
        source=SOURCE[0], message_id=f"m-{Activity.objects.count()}-{random.random()}",
        type=kind, occurred_at=before - dt.timedelta(days=days_ago), account=account,
        contact=contact, **extra,
    )  # fmt: skip


SOURCE: list[Any] = []


@pytest.fixture(autouse=True)
def source() -> None:
    SOURCE[:] = [SourceFactory.create()]


def engagement(account: Account, segment: ICPSegment) -> AccountEngagement:
    return AccountEngagement.objects.get(account=account, segment=segment)


def test_an_account_scored_by_hand(segment: ICPSegment) -> None:
    account = member(segment)
    cfo = ContactFactory.create(account=account, seniority="c_level", buying_role="champion")
    manager = ContactFactory.create(account=account, seniority="manager", buying_role="user")
    act(account, cfo, "webinar_attended", 30)  # 15 x 2 x 1/2 = 15
    act(account, manager, "page_view", 0)  # 1
    act(account, manager, "pricing_page_view", 60)  # 5 x 1/4 = 1.25
    act(account, None, "page_view", 0, anonymous_id="anon")  # 1, counted x 0.5
    act(account, manager, "email_open", 0)  # weighs 0

    scores_recompute(segment_id=segment.pk, at=AT)

    row = engagement(account, segment)
    assert row.raw_score == pytest.approx(17.75)  # 15 + 2.25 + 0.5
    assert row.score == 30  # 100 * (1 - e^(-17.75/50)) = 29.88
    assert row.stage == "aware"
    assert row.engaged_contacts == 2
    assert row.roles_covered == ["champion"]
    assert ContactEngagement.objects.filter(segment=segment).count() == 2


def test_the_contact_cap_and_junk_exclusion(segment: ICPSegment) -> None:
    account = member(segment)
    vp = ContactFactory.create(account=account, seniority="vp")
    junk = ContactFactory.create(account=account, seniority="vp", is_junk=True, junk_reason="bot")
    for _ in range(3):
        act(account, vp, "demo_request", 0)  # 3 x 45 = 135, capped at 40
    act(account, junk, "demo_request", 0, excluded_reason="junk contact: bot")
    scores_recompute(segment_id=segment.pk, at=AT)
    row = engagement(account, segment)
    assert row.raw_score == pytest.approx(40.0)
    assert row.score == 55  # 100 * (1 - e^-0.8) = 55.07
    assert row.stage == "engaged"


def test_the_incremental_rollup_covers_the_current_roles_of_engaged_contacts_only(
    segment: ICPSegment,
) -> None:
    account = member(segment)
    champion = ContactFactory.create(account=account, seniority="manager", buying_role="champion")
    decider = ContactFactory.create(
        account=account, seniority="manager", buying_role="decision_maker"
    )
    act(account, champion, "page_view", 0)  # 1 point: engaged (at least 1)
    act(account, decider, "page_view", 30)  # 1 x 1/2 = 0.5: not engaged
    scores_rollup(segment_id=segment.pk, at=AT)
    row = engagement(account, segment)
    assert (row.raw_score, row.engaged_contacts, row.roles_covered) == (
        pytest.approx(1.5),
        1,
        ["champion"],
    )

    # The role is read when the account is re-scored, not kept from before.
    Contact.objects.filter(pk=champion.pk).update(buying_role="user")
    act(account, decider, "page_view", 0)  # 0.5 + 1 = 1.5: engaged now
    scores_rollup(segment_id=segment.pk, at=AT)
    row = engagement(account, segment)
    assert (row.raw_score, row.engaged_contacts, row.roles_covered) == (
        pytest.approx(2.5),
        2,
        ["decision_maker"],
    )


def test_deals_set_the_stage_and_silence_means_unaware(segment: ICPSegment) -> None:
    quiet = member(segment)
    pipeline = member(segment)
    won = member(segment)
    OpportunityFactory.create(account=pipeline)
    OpportunityFactory.create(account=won, status="won", close_on=dt.date(2026, 4, 1))
    act(quiet, None, "page_view", 400, anonymous_id="a")
    scores_recompute(segment_id=segment.pk, at=AT)
    assert engagement(quiet, segment).stage == "unaware"
    assert engagement(pipeline, segment).stage == "opportunity"
    assert engagement(won, segment).stage == "customer"


def test_a_deal_without_an_account_moves_no_stage(segment: ICPSegment) -> None:
    """Won and open deals the CRM has not assigned to an account yet belong to
    no account: recompute, rollup and backfill leave every stage to the score."""
    quiet, busy = member(segment), member(segment)
    OpportunityFactory.create(account=None, status="won", opened_on=dt.date(2026, 3, 1),
                              close_on=dt.date(2026, 4, 1))  # fmt: skip
    OpportunityFactory.create(account=None, opened_on=dt.date(2026, 3, 2))
    OpportunityFactory.create(account=busy, opened_on=dt.date(2026, 3, 3))
    act(quiet, None, "page_view", 400, anonymous_id="a")
    scores_recompute(segment_id=segment.pk, at=AT)
    assert engagement(quiet, segment).stage == "unaware"
    assert engagement(busy, segment).stage == "opportunity"
    act(quiet, None, "page_view", 0, anonymous_id="a")
    scores_rollup(segment_id=segment.pk, at=AT)
    assert engagement(quiet, segment).stage == "aware"
    snapshots_backfill(segment_id=segment.pk, since=dt.date(2026, 4, 1), until=dt.date(2026, 4, 2))
    stages = dict(
        EngagementSnapshot.objects.filter(day=dt.date(2026, 4, 2)).values_list(
            "account_id", "stage"
        )
    )
    # On 2 April the quiet account's page view is 340 days old (a year: aware).
    assert stages == {quiet.pk: "aware", busy.pk: "opportunity"}


def test_only_members_of_the_segment_are_scored(segment: ICPSegment) -> None:
    outsider = AccountFactory.create()
    act(outsider, ContactFactory.create(account=outsider), "demo_request", 0)
    scores_recompute(segment_id=segment.pk, at=AT)
    assert not AccountEngagement.objects.filter(account=outsider).exists()


def _stream(segment: ICPSegment, rng: random.Random) -> list[dict[str, Any]]:
    accounts = [member(segment) for _ in range(4)]
    people = [
        ContactFactory.create(account=rng.choice(accounts),
                              seniority=rng.choice(["c_level", "vp", "manager", "other"]))
        for _ in range(10)
    ]  # fmt: skip
    kinds = ["page_view", "pricing_page_view", "demo_request", "unsubscribe", "webinar_attended",
             "email_open", "meeting_held", "other"]  # fmt: skip
    stream = []
    for _ in range(400):
        person = rng.choice([*people, None])
        account = person.account if person else rng.choice(accounts)
        stream.append({
            "account": account, "contact": person, "kind": rng.choice(kinds),
            # late data: any time in the last 200 days, in no order
            "days_ago": rng.uniform(0, 200),
            "excluded_reason": "junk contact: test" if rng.random() < 0.05 else "",
        })  # fmt: skip
    return stream


def test_incremental_rollups_equal_one_full_recompute(segment: ICPSegment) -> None:
    rng = random.Random(7)
    stream = _stream(segment, rng)
    cuts = sorted(rng.sample(range(1, len(stream)), 5))
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        for item in stream[start:end]:
            act(item["account"], item["contact"], item["kind"], item["days_ago"],
                anonymous_id="" if item["contact"] else "anon",
                excluded_reason=item["excluded_reason"])  # fmt: skip
        scores_rollup(segment_id=segment.pk, at=AT - dt.timedelta(hours=end))
    scores_refresh(segment_id=segment.pk, at=AT)
    incremental = dict(AccountEngagement.objects.values_list("account_id", "raw_score"))

    scores_recompute(segment_id=segment.pk, at=AT)
    full = dict(AccountEngagement.objects.values_list("account_id", "raw_score"))

    assert incremental.keys() == full.keys()
    assert any(value > 0 for value in full.values())
    for account_id, value in full.items():
        assert incremental[account_id] == pytest.approx(value, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("new_activities", [5, 80])
def test_the_rollup_costs_a_fixed_number_of_queries(
    segment: ICPSegment, django_assert_num_queries: Any, new_activities: int
) -> None:
    # Bands out of reach: this test is about the rollup's cost, not its alerts.
    ScoringModel.objects.filter(segment=segment).update(engaged_min=99, qualified_min=100)
    account = member(segment)
    person = ContactFactory.create(account=account)
    act(account, person, "page_view", 1)
    scores_rollup(segment_id=segment.pk, at=AT)
    for i in range(new_activities):
        act(account if i % 2 else member(segment), person if i % 3 else None, "demo_request", i % 9,
            anonymous_id="a")  # fmt: skip
    # segment scored?, savepoint, anything pending?, cursors FOR SHARE, models, batch
    # id, claim UPDATE (of the pending table), touched accounts' rows locked, contact
    # sums INSERT ... SELECT, anonymous sums, members, contact rows, stored rows,
    # deals, account upsert, the batch's id range, its pending rows deleted (both
    # since issue 20: the claim no longer writes activity rows), release: per
    # segment, not per activity or account
    with django_assert_num_queries(18):
        scores_rollup(segment_id=segment.pk, at=AT)


def test_the_tasks_roll_up_and_refresh_every_scored_segment(segment: ICPSegment) -> None:
    account = member(segment)
    person = ContactFactory.create(account=account, seniority="vp")
    act(account, person, "demo_request", 0, before=timezone.now())
    scores_rollup_all_task.apply()
    assert engagement(account, segment).raw_score > 0
    AccountEngagement.objects.update(score=0)
    today = timezone.now().date()
    EngagementSnapshot.objects.create(
        account=account, segment=segment, day=today - 30 * DAY, model_version=1, score=33,
        raw_score=20.0, stage="aware",
    )  # fmt: skip
    scores_refresh_all_task.apply()
    refreshed = engagement(account, segment)
    assert refreshed.score > 0
    # Then the change baselines for today: the snapshot of 30 days ago, none 7 days ago.
    assert (refreshed.baselines_for, refreshed.baseline_score_30d) == (today, 33)
    assert refreshed.baseline_score_7d is None


def test_the_recompute_command_scores_one_or_every_segment(segment: ICPSegment) -> None:
    account = member(segment)
    # The command scores at the current time: an activity of a fixed date would
    # decay towards zero as the calendar moves on (it did, six months after AT).
    act(
        account,
        ContactFactory.create(account=account),
        "webinar_attended",
        1,
        before=timezone.now(),
    )
    out = StringIO()
    call_command("scores_recompute", "--segment", "Mid-market SaaS", stdout=out, verbosity=0)
    assert f"segment {segment.pk}: 1 accounts scored" in out.getvalue()
    assert engagement(account, segment).score > 0
    with pytest.raises(CommandError, match="no segment named or numbered 'Nope'"):
        call_command("scores_recompute", "--segment", "Nope", verbosity=0)


def test_changing_a_model_makes_a_new_version_and_schedules_a_recompute(
    segment: ICPSegment, django_capture_on_commit_callbacks: Any
) -> None:
    account = member(segment)
    # Now, not AT: the recompute the task runs scores at the current time.
    Activity.objects.create(
        source=SOURCE[0], message_id="v-1", type="pricing_page_view",
        occurred_at=timezone.now(), account=account,
        contact=ContactFactory.create(account=account),
    )  # fmt: skip
    scores_recompute(segment_id=segment.pk)
    assert engagement(account, segment).raw_score == pytest.approx(5.0, rel=1e-3)

    with django_capture_on_commit_callbacks(execute=False) as scheduled:
        new = scoring_model_update(
            segment_id=segment.pk, changes={"activity_weights": {"pricing_page_view": 8}}
        )
    assert (new.version, new.is_current) == (2, True)
    assert ScoringModel.objects.get(segment=segment, version=1).is_current is False
    assert len(scheduled) == 1
    scores_recompute_task.apply(args=(segment.pk,))  # what the worker runs
    row = engagement(account, segment)
    assert row.raw_score == pytest.approx(8.0, rel=1e-3)
    assert row.scoring_model_id == new.pk


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"activity_weights": {"fax_sent": 3}}, "unknown activity types"),
        ({"half_life_days": 0}, "half_life_days: must be above 0"),
        ({"engaged_min": 70, "qualified_min": 60}, "engaged band must start below the qualified"),
        ({"required_roles": ["mascot"]}, "unknown buying roles"),
        ({"landmark": 1}, "not scoring parameters"),
    ],
)
def test_an_unscorable_model_is_refused(
    segment: ICPSegment, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        scoring_model_update(segment_id=segment.pk, changes=changes)
    assert ScoringModel.objects.get(segment=segment).version == 1


def test_a_backfilled_day_equals_a_recompute_at_its_end(segment: ICPSegment) -> None:
    account = member(segment)
    person = ContactFactory.create(account=account, seniority="vp", buying_role="champion")
    day = (AT - 10 * DAY).date()
    act(account, person, "demo_request", 40)  # both before the end of `day`
    act(account, None, "page_view", 12, anonymous_id="a")
    OpportunityFactory.create(account=account, opened_on=(AT - DAY).date())  # opened later

    written = snapshots_backfill(
        segment_id=segment.pk, since=day - dt.timedelta(days=60), until=day
    )
    assert written == 61
    snapshot = EngagementSnapshot.objects.get(account=account, segment=segment, day=day)
    first = EngagementSnapshot.objects.get(account=account, day=day - dt.timedelta(days=60))
    assert (first.score, first.stage) == (0, "unaware")  # before any activity

    end_of_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    Opportunity.objects.all().delete()  # the deal came after `day`
    scores_recompute(segment_id=segment.pk, at=end_of_day)
    now_row = engagement(account, segment)
    assert snapshot.raw_score == pytest.approx(now_row.raw_score, rel=1e-9)
    assert (snapshot.score, snapshot.stage) == (now_row.score, now_row.stage)
    assert snapshot.stage != "opportunity"


def test_a_long_backfill_with_a_short_half_life_scores_every_day_by_hand(
    segment: ICPSegment,
) -> None:
    """With a one-day half-life, 400 days are a decay exponent of about 277: a
    single landmark at the backfill's end would hold old terms at the exponent's
    lower bound and then multiply them back up, scoring a quiet day in the
    billions. The backfill moves its landmark in windows instead."""
    ScoringModel.objects.filter(segment=segment).update(half_life_days=1)
    account = member(segment)
    person = ContactFactory.create(account=account, seniority="manager", buying_role="champion")
    for days_ago in (390, 300.5, 160, 150.25, 20, 3.5):
        act(account, person, "demo_request", days_ago)
    until = (AT - 2 * DAY).date()
    since = until - dt.timedelta(days=399)
    assert snapshots_backfill(segment_id=segment.pk, since=since, until=until) == 400

    for day in (until - dt.timedelta(days=d) for d in (390, 299, 250, 150, 19, 2, 0)):
        end_of_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        # By hand: 30 points a demo request, manager x1, halved every day, capped at 40.
        points = sum(
            30 * 0.5 ** ((end_of_day - (AT - dt.timedelta(days=d))).total_seconds() / 86_400)
            for d in (390, 300.5, 160, 150.25, 20, 3.5)
            if AT - dt.timedelta(days=d) < end_of_day
        )
        snapshot = EngagementSnapshot.objects.get(account=account, segment=segment, day=day)
        assert snapshot.raw_score == pytest.approx(min(40.0, points), rel=1e-9, abs=1e-12)
    # The last day, after every activity, equals a recompute at its end.
    scores_recompute(segment_id=segment.pk, at=score_valid_at(until))
    last = EngagementSnapshot.objects.get(account=account, segment=segment, day=until)
    assert last.raw_score == pytest.approx(engagement(account, segment).raw_score, rel=1e-9)


def test_taking_a_snapshot_records_scores_and_model_version(segment: ICPSegment) -> None:
    account = member(segment)
    act(account, ContactFactory.create(account=account), "webinar_attended", 0)
    scores_recompute(segment_id=segment.pk, at=AT)
    assert snapshots_take(segment_id=segment.pk, day=AT.date()) == 1
    assert snapshots_take(segment_id=segment.pk, day=AT.date()) == 1  # idempotent
    snapshot = EngagementSnapshot.objects.get()
    assert (snapshot.day, snapshot.model_version) == (AT.date(), 1)
    assert snapshot.score == engagement(account, segment).score > 0


def test_the_backfill_command_writes_a_snapshot_per_member_and_day(segment: ICPSegment) -> None:
    account = member(segment)
    act(account, ContactFactory.create(account=account), "demo_request", 5)
    out = StringIO()
    call_command("snapshots_backfill", "--since", "2026-05-01", "--until", "2026-05-31",
                 stdout=out, verbosity=0)  # fmt: skip
    assert f"segment {segment.pk}: 31 snapshots over 31 days" in out.getvalue()
    assert EngagementSnapshot.objects.filter(account=account).count() == 31
    with pytest.raises(CommandError, match="is after --until"):
        call_command("snapshots_backfill", "--since", "2026-06-02", "--until", "2026-06-01")
