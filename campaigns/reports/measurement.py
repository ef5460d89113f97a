"""The rows every campaign measurement report reads (DESIGN 5): per program,
campaign and channel, for any period, in a fixed number of queries whatever
the number of programs, accounts or opportunities.

`measurement_load` reads everything a report needs in ten queries (more only to compute
scores a snapshot is missing for: `target_scores`); the reports in this package
(`programs`, `attribution`, `funnel`, `sources`, `campaign`) are plain Python
over those rows, with the math in `campaigns.metrics`.
Definitions (see also the README's "Campaign measurement" section):

- touched: an account with a touch by the program whose [first, last] touch
  overlaps the period; engaged / qualified: a touched (or, for the funnel,
  targeted) account whose score reached the segment model's engaged / qualified
  band on some day of the period (daily snapshots);
- lift: score change from the period's start day to its end day (each day's
  score is its snapshot, or where none was taken, the score computed exactly
  from the activity stored by the end of that day: `target_scores`); a
  campaign compares all its treated targets with its holdout (intention to
  treat); a program or channel compares the treated targets it touched with
  the holdouts of the campaigns involved;
- opportunities: opened in the period, on an account the program first touched
  at most `window_days` before (influenced: full credit; attributed: an even
  share among every program so influencing it, which adds up to the whole).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.db.models import DateTimeField, ExpressionWrapper, F, Sum
from django.utils import timezone

from accounts.models import Opportunity, SegmentMembership
from campaigns import metrics
from campaigns.models import Campaign, CampaignTarget, Program, Spend, Touch
from engagement.models import Activity, EngagementSnapshot
from engagement.peak_selectors import accounts_reaching_bands
from engagement.retention_selectors import HistoryDropped
from engagement.rollup import snapshots

ZERO = Decimal(0)


@dataclass(frozen=True)
class Deal:
    id: int
    # None: not assigned to an account yet. Such a deal counts in the period's
    # pipeline, no program influenced it (influence goes through the account)
    # and it is no targeted or engaged account's opportunity.
    account_id: int | None
    amount: Decimal
    status: str
    source: str
    opened_on: dt.date
    close_on: dt.date | None
    # False when the CRM gave no amount: `amount` is then 0 in sums, and the
    # deal is still counted, with `opportunities_without_amount` saying so.
    has_amount: bool = True


@dataclass(frozen=True)
class TargetSplit:
    """One campaign's targets, split once per report so that each program's
    row reads only the accounts it touched (issue 20: per program over every
    target, the report was programs x targets: 1.8 million steps at 200
    programs and 9,000 targets). Lists keep the targets' order, so that sums
    over them are the same floating-point sums whichever way they are read."""

    # treated account -> its position in `treated_changes`
    treated: dict[int, int]
    treated_changes: list[float | None]
    holdout_changes: list[float]  # measured only
    holdout_not_measured: int

    @classmethod
    def of(cls, targets: dict[int, tuple[bool, float | None]]) -> TargetSplit:
        treated: dict[int, int] = {}
        treated_changes: list[float | None] = []
        holdout_changes: list[float] = []
        holdout_not_measured = 0
        for account_id, (in_holdout, change) in targets.items():
            if not in_holdout:
                treated[account_id] = len(treated_changes)
                treated_changes.append(change)
            elif change is None:
                holdout_not_measured += 1
            else:
                holdout_changes.append(change)
        return cls(treated, treated_changes, holdout_changes, holdout_not_measured)

    def treated_changes_of(self, accounts: set[int] | None) -> list[float | None]:
        """The treated targets' changes, of `accounts` only unless None, in order."""
        if accounts is None:
            return self.treated_changes
        positions = sorted(self.treated[a] for a in accounts if a in self.treated)
        return [self.treated_changes[i] for i in positions]


@dataclass
class MeasurementData:
    start: dt.date
    end: dt.date
    window_days: int
    programs: dict[int, dict[str, Any]]
    campaigns: dict[int, dict[str, Any]]
    spend: dict[int, Decimal]
    touched: dict[int, set[int]]
    engaged: set[int]
    qualified: set[int]
    # campaign -> account -> (in_holdout, score change or None)
    targets: dict[int, dict[int, tuple[bool, float | None]]]
    deals: dict[int, Deal]
    # opportunity -> programs influencing it (over all programs)
    influencers: dict[int, set[int]] = field(default_factory=dict)
    # Why no lift can be measured for the period (outside the data), else None.
    lift_reason: str | None = None
    # frozenset of programs -> their credit (attribution.program_credit's memo)
    credit_memo: dict[frozenset[int], dict[str, Any]] = field(default_factory=dict)

    @cached_property
    def target_splits(self) -> dict[int, TargetSplit]:
        """campaign -> its targets split into treated and holdout (TargetSplit)."""
        return {pk: TargetSplit.of(targets) for pk, targets in self.targets.items()}

    def target_split(self, campaign_id: int) -> TargetSplit:
        return self.target_splits.get(campaign_id) or TargetSplit({}, [], [], 0)

    @cached_property
    def influenced_by(self) -> dict[int, list[int]]:
        """program -> the opportunities it influenced, in `influencers` order:
        a program's credit reads its own deals, not every influenced deal
        (programs x deals: 10 million steps at 200 programs and 50,000 deals).
        Read once `influencers` is set (measurement_load sets it last)."""
        influenced: dict[int, list[int]] = defaultdict(list)
        for deal_id, programs in self.influencers.items():
            for program_id in programs:
                influenced[program_id].append(deal_id)
        return dict(influenced)

    @cached_property
    def deal_shares(self) -> dict[int, dict[int, Decimal]]:
        """opportunity -> each influencing program's even share of its amount
        (`metrics.even_split`), split once per deal: every program's and
        group's credit reads it (split again per program and per report row,
        it was 250,000 splits for 50,000 deals, 1.3 s of a year's report at
        10M activities). Read once `influencers` is set."""
        return {
            deal_id: metrics.even_split(self.deals[deal_id].amount, programs)
            for deal_id, programs in self.influencers.items()
        }

    @cached_property
    def influence_order(self) -> dict[int, int]:
        """opportunity -> its position in `influencers`, to merge programs'
        deals back into that order (the same floating-point sums)."""
        return {deal_id: n for n, deal_id in enumerate(self.influencers)}


def _data_before(day: dt.date) -> bool:
    """Whether anything is stored on or before `day`: an activity before its end
    or a snapshot. Activity is stored in time order, so an EXISTS over it stops
    at one of the first rows whenever history goes back that far."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    return (
        Activity.objects.filter(occurred_at__lt=end).exists()
        or EngagementSnapshot.objects.filter(day__lte=day).exists()
    )


def target_scores(
    *, start: dt.date, end: dt.date, segment_of: dict[int, int | None]
) -> tuple[dict[int, dict[int, tuple[bool, float | None]]], str | None]:
    """Each campaign target's score change from `start` to `end`: campaign ->
    account -> (in holdout, change or None), and why nothing can be measured
    for the period (None when it can).

    A target's score on a day, in its campaign's segment (`segment_of`; a
    campaign without one: the highest over the segments the account is in), is
    that day's snapshot, or where none was taken the score computed exactly
    from the activity stored by the end of the day (`snapshots.scores_as_of`):
    never guessed. A target with no activity by then scores 0, a real zero. A
    target outside the segment has no score there: its change is None (not
    measured). A period ending after today, or starting before any stored
    activity or snapshot, is outside the data: every change is None and the
    reason says why. Three queries, plus a fixed few per (segment, day) that
    lacks a snapshot for some member target, whatever the number of targets.
    """
    rows = list(
        CampaignTarget.objects.values_list("campaign_id", "account_id", "in_holdout").order_by(
            "campaign_id", "account_id"
        )
    )
    targets: dict[int, dict[int, tuple[bool, float | None]]] = defaultdict(dict)
    today = timezone.now().date()
    reason = None
    if end > today:
        reason = (
            f"the period ends on {end}, after today ({today}): scores on days to come are "
            "not known yet"
        )
    if reason is not None or not rows:
        for campaign_id, account_id, in_holdout in rows:
            targets[campaign_id][account_id] = (in_holdout, None)
        return dict(targets), reason
    target_accounts = CampaignTarget.objects.values("account_id")
    member_of: dict[int, set[int]] = defaultdict(set)
    for account_id, segment_id in SegmentMembership.objects.filter(
        account_id__in=target_accounts
    ).values_list("account_id", "segment_id"):
        member_of[account_id].add(segment_id)
    # (account, segment) -> its score on the period's first and last days
    # ([start, end]; None where neither a snapshot nor a computed score).
    # Keyed without the day: the loops below run once per target (90,000 at
    # 10M activities), and a set and a list per target were half of their time.
    scores: dict[tuple[int, int], list[float | None]] = {}
    # Which of the two days a day is (both for a period of one day).
    sides = {start: (0, 1)} if start == end else {start: (0,), end: (1,)}
    for account_id, segment_id, day, score in EngagementSnapshot.objects.filter(
        account_id__in=target_accounts, day__in=(start, end)
    ).values_list("account_id", "segment_id", "day", "score"):
        pair = scores.setdefault((account_id, segment_id), [None, None])
        for side in sides[day]:
            pair[side] = score
    no_segments: set[int] = set()

    # A campaign with a segment of its own reads that segment's pair alone
    # (most campaigns): no generator of segments and no best to take per target.
    no_pair: tuple[None, None] = (None, None)
    # The (segment, day) pairs some member target has no snapshot for.
    missing: set[tuple[int, dt.date]] = set()
    for campaign_id, account_id, _ in rows:
        member = member_of.get(account_id)
        if not member:
            continue
        own = segment_of.get(campaign_id)
        if own is not None and own not in member:
            continue
        for segment_id in (own,) if own is not None else member:
            known = scores.get((account_id, segment_id), no_pair)
            if known[0] is None:
                missing.add((segment_id, start))
            if known[1] is None:
                missing.add((segment_id, end))
    if any(day == start for _, day in missing) and not _data_before(start):
        reason = (
            f"the period starts on {start}, before any stored activity or score: there is "
            "no history to measure its start from"
        )
        for campaign_id, account_id, in_holdout in rows:
            targets[campaign_id][account_id] = (in_holdout, None)
        return dict(targets), reason
    for segment_id, day in sorted(missing):
        try:
            computed = snapshots.scores_as_of(
                segment_id=segment_id, day=day, accounts=target_accounts
            )
        except HistoryDropped:
            # Retention dropped that day's activity: only its snapshots tell,
            # and these targets have none there (not measured, not zero).
            continue
        for account_id, score in computed.items():
            pair = scores.setdefault((account_id, segment_id), [None, None])
            for side in sides[day]:
                if pair[side] is None:
                    pair[side] = score

    def best_member_score(account_id: int, side: int) -> float | None:
        """The best of the target's member segments' scores on that side's day
        (a campaign without a segment of its own)."""
        best: float | None = None
        for segment_id in member_of.get(account_id, no_segments):
            pair = scores.get((account_id, segment_id))
            if pair is not None and (found := pair[side]) is not None:
                best = found if best is None else max(best, found)
        return best

    for campaign_id, account_id, in_holdout in rows:
        own = segment_of.get(campaign_id)
        if own is not None:
            before, after = scores.get((account_id, own), no_pair)
        else:
            before = best_member_score(account_id, 0)
            after = best_member_score(account_id, 1)
        change = None if before is None or after is None else after - before
        targets[campaign_id][account_id] = (in_holdout, change)
    return dict(targets), None


def measurement_load(
    *, start: dt.date, end: dt.date, window_days: int = metrics.INFLUENCE_WINDOW_DAYS
) -> MeasurementData:
    """Everything a measurement report needs, in ten queries while snapshots cover
    the targets' scores on the period's first and last days."""
    if end < start:
        raise ValueError(f"period end {end} is before its start {start}")
    campaigns: dict[int, dict[str, Any]] = {
        row["id"]: dict(row)
        for row in Campaign.objects.values("id", "name", "objective", "starts_on", "ends_on",
                                           "budget", "holdout_fraction", "segment_id")
    }  # fmt: skip
    programs: dict[int, dict[str, Any]] = {
        row["id"]: dict(row)
        for row in Program.objects.values("id", "name", "campaign_id", "channel", "status",
                                          "tracking_key", "starts_on", "ends_on")
    }  # fmt: skip
    spend = dict(
        Spend.objects.filter(spent_on__range=(start, end))
        .values("program_id")
        .annotate(total=Sum("amount"))
        .values_list("program_id", "total")
    )
    period_start = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    period_end = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    touched: dict[int, set[int]] = defaultdict(set)
    for program_id, account_id in Touch.objects.filter(
        first_touch_at__lt=period_end, last_touch_at__gte=period_start
    ).values_list("program_id", "account_id"):
        touched[program_id].add(account_id)

    engaged, qualified, _ = accounts_reaching_bands(start=start, end=end)

    targets, lift_reason = target_scores(
        start=start, end=end,
        segment_of={pk: campaign["segment_id"] for pk, campaign in campaigns.items()},
    )  # fmt: skip

    deals = {
        row[0]: Deal(
            row[0], row[1], row[2] or ZERO, row[3], row[4], row[5], row[6], row[2] is not None
        )
        for row in Opportunity.objects.filter(opened_on__range=(start, end)).values_list(
            "id", "account_id", "amount", "status", "source", "opened_on", "close_on"
        )
    }
    data = MeasurementData(start, end, window_days, programs, campaigns, spend, dict(touched),
                           engaged, qualified, targets, deals,
                           lift_reason=lift_reason)  # fmt: skip
    # Influence: every program whose first touch on the deal's account came at
    # most window_days before it opened (coarse bounds in SQL, exact in Python:
    # `metrics.influenced` owns the rule). The bounds are per deal as well as
    # per period, a day wider on each side than the rule: a year's touches x
    # deals on the same accounts were 260,000 rows at 10M activities, most of
    # them first touches outside the deal's window.
    earliest = dt.datetime.combine(start - dt.timedelta(days=window_days + 1), dt.time.min,
                                   tzinfo=dt.UTC)  # fmt: skip
    opened = F("account__opportunities__opened_on")
    influencers: dict[int, set[int]] = defaultdict(set)
    for program_id, first_touch_at, deal_id, opened_on in (
        Touch.objects.filter(first_touch_at__gte=earliest, first_touch_at__lt=period_end)
        .filter(
            # One filter(): the bounds read the same opportunity row as the range.
            account__opportunities__opened_on__range=(start, end),
            first_touch_at__gte=ExpressionWrapper(
                opened - dt.timedelta(days=window_days + 1), output_field=DateTimeField()
            ),
            first_touch_at__lt=ExpressionWrapper(
                opened + dt.timedelta(days=2), output_field=DateTimeField()
            ),
        )
        .values_list("program_id", "first_touch_at", "account__opportunities__id",
                     "account__opportunities__opened_on")
    ):  # fmt: skip
        if metrics.influenced(first_touch=first_touch_at.astimezone(dt.UTC).date(),
                              opened_on=opened_on, window_days=window_days):  # fmt: skip
            influencers[deal_id].add(program_id)
    data.influencers = dict(influencers)
    return data


def deals_win_rate(deals: Iterable[Deal]) -> float | None:
    statuses = [d.status for d in deals]
    return metrics.win_rate(won=statuses.count("won"), lost=statuses.count("lost"))


def programs_with_spend(data: MeasurementData) -> set[int]:
    return {pk for pk, total in data.spend.items() if total > 0}
