"""Point-in-time training data for a segment's readiness model (issue 19, part 1).

`training_data(segment_id=..., month_ends=..., today=...)` gives one row per
(member account, month end): the features of readiness.feature_names as of the
end of that day, and the label, whether the account opened an opportunity in
the 90 days after it. Five queries whatever the number of accounts and months
(training_sql holds the hand-written ones); the rest is arithmetic on their rows.

What "as of" means for each source:
- snapshots: the EngagementSnapshot of the day itself (and of the days 7, 30
  and 90 before, for the changes). A day without a snapshot gives NaN and the
  `*_missing` indicator, never a guess and never 0. `snapshots_backfill`
  (engagement.rollup.snapshots) computes the missing days exactly from the
  activity stored up to them; run it over the range first to fill gaps.
- activity: `occurred_at` before midnight after the month end, excluded
  (junk) activity left out, as the scores leave it out.
- opportunities: `opened_on` and `close_on` against the month end: customer
  means won with a close date on or before it, not today's is_customer flag.
- fit, tier, seniority and segment membership are read as they stand today:
  the tables keep no history of them (docs/readiness.md).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import Opportunity, OpportunityStatus, SegmentMembership
from engagement.models import EngagementSnapshot
from readiness import training_sql
from readiness.feature_names import (
    ACTIVITY_CHANNELS,
    ACTIVITY_TYPES,
    CHANGE_DAYS,
    FEATURE_INDEX,
    FEATURE_NAMES,
    LABEL_HORIZON_DAYS,
    LONG_WINDOW_DAYS,
    NO_PROGRAM_CHANNEL,
    SENIORITIES,
    SHORT_WINDOW_DAYS,
    TIERS,
    activity_count_feature,
    channel_count_feature,
    program_touch_feature,
    seniority_feature,
)
from readiness.months import end_of_day, label_known

NAN = math.nan


@dataclass(frozen=True)
class TrainingData:
    """Row i is account `account_ids[i]` as of `month_ends[i]`; `features[i]` is
    in the order of `feature_names`. `labels[i]` is 1 or 0 where
    `label_known[i]`, else None (the 90 days after the month end are not over:
    not a 0)."""

    segment_id: int
    feature_names: tuple[str, ...]
    account_ids: list[int]
    month_ends: list[dt.date]
    features: list[list[float]]
    labels: list[int | None]
    label_known: list[bool]

    def __len__(self) -> int:
        return len(self.account_ids)

    def labelled(self) -> tuple[list[list[float]], list[int]]:
        """The rows whose label is known, as (X, y) for a model to fit."""
        rows = [i for i, known in enumerate(self.label_known) if known]
        return [self.features[i] for i in rows], [int(self.labels[i] or 0) for i in rows]

    def column(self, name: str) -> list[float]:
        index = self.feature_names.index(name)
        return [row[index] for row in self.features]


def training_data(
    *, segment_id: int, month_ends: Sequence[dt.date], today: dt.date | None = None
) -> TrainingData:
    """The training rows of every member of the segment at each month end (each
    before `today`, default today UTC). Five queries in all."""
    today = today or timezone.now().date()
    ends = sorted(set(month_ends))
    if ends and ends[-1] >= today:
        raise ValueError(f"month end {ends[-1]} is not in the past (today is {today})")
    members = list(
        SegmentMembership.objects.filter(segment_id=segment_id)
        .order_by("account_id")
        .values_list("account_id", "fit_score", "account__tier")
    )
    if not ends or not members:
        return TrainingData(segment_id, FEATURE_NAMES, [], [], [], [], [])
    rows = _blank_rows(members, ends)
    _fill_snapshots(rows, segment_id=segment_id, ends=ends)
    _fill_activity(rows, segment_id=segment_id, ends=ends)
    _fill_last_activity(rows, segment_id=segment_id, ends=ends)
    labels = _fill_deals(rows, segment_id=segment_id, ends=ends)
    keys = sorted(rows)  # by month end, then account
    known = [label_known(ends[idx], today=today, horizon_days=LABEL_HORIZON_DAYS)
             for idx, _ in keys]  # fmt: skip
    return TrainingData(
        segment_id=segment_id,
        feature_names=FEATURE_NAMES,
        account_ids=[account for _, account in keys],
        month_ends=[ends[idx] for idx, _ in keys],
        features=[rows[key] for key in keys],
        labels=[int(key in labels) if ok else None for key, ok in zip(keys, known, strict=True)],
        label_known=known,
    )


_Key = tuple[int, int]  # (month end index, account id)


def _blank_rows(
    members: Sequence[tuple[int, int, int | None]], ends: Sequence[dt.date]
) -> dict[_Key, list[float]]:
    """Each row with its counts at 0, its snapshot values and changes NaN with
    their indicators at 1, and its current-state account features set."""
    template = [0.0] * len(FEATURE_NAMES)
    for name in (
        "score",
        "raw_score",
        "engaged_contacts",
        "roles_covered",
        "days_since_last_activity",
        *(f"score_change_{d}d" for d in CHANGE_DAYS),
    ):
        template[FEATURE_INDEX[name]] = NAN  # fmt: skip
    for name in (
        "score_missing",
        "no_activity_yet",
        *(f"score_change_{d}d_missing" for d in CHANGE_DAYS),
    ):
        template[FEATURE_INDEX[name]] = 1.0  # fmt: skip
    rows: dict[_Key, list[float]] = {}
    for account_id, fit_score, tier in members:
        own = list(template)
        own[FEATURE_INDEX["fit_score"]] = float(fit_score)
        if tier in TIERS:
            own[FEATURE_INDEX[f"tier_{tier}"]] = 1.0
        else:
            own[FEATURE_INDEX["tier_unknown"]] = 1.0
        for idx in range(len(ends)):
            rows[idx, account_id] = list(own)
    return rows


def _fill_snapshots(rows: dict[_Key, list[float]], *, segment_id: int, ends: list[dt.date]) -> None:
    wanted = {end - dt.timedelta(days=back) for end in ends for back in (0, *CHANGE_DAYS)}
    snapshots = EngagementSnapshot.objects.filter(segment_id=segment_id, day__in=wanted)
    columns = ("account_id", "day", "score", "raw_score", "engaged_contacts", "roles_covered")
    found: dict[tuple[dt.date, int], tuple[int, float, int, int]] = {
        (day, account): (score, raw, engaged, roles)
        for account, day, score, raw, engaged, roles in snapshots.values_list(*columns)
    }
    at = FEATURE_INDEX
    for (idx, account), row in rows.items():
        now = found.get((ends[idx], account))
        if now is None:
            continue
        row[at["score"]], row[at["raw_score"]] = float(now[0]), float(now[1])
        row[at["engaged_contacts"]], row[at["roles_covered"]] = float(now[2]), float(now[3])
        row[at["score_missing"]] = 0.0
        for days in CHANGE_DAYS:
            before = found.get((ends[idx] - dt.timedelta(days=days), account))
            if before is not None:
                row[at[f"score_change_{days}d"]] = float(now[0] - before[0])
                row[at[f"score_change_{days}d_missing"]] = 0.0


def _fill_activity(rows: dict[_Key, list[float]], *, segment_id: int, ends: list[dt.date]) -> None:
    at = FEATURE_INDEX
    touched: dict[tuple[_Key, str], set[int]] = {}
    contacts: dict[tuple[_Key, str], set[int]] = {}
    for group in training_sql.activity_groups(segment_id=segment_id, month_ends=ends):
        key = (group.idx, group.account_id)
        row = rows.get(key)
        if row is None:
            continue
        kind = group.type if group.type in ACTIVITY_TYPES else "other"
        channel = NO_PROGRAM_CHANNEL
        if group.program_id is not None and group.channel in ACTIVITY_CHANNELS:
            channel = group.channel
            touched.setdefault((key, channel), set()).add(group.program_id)
        for days, count in ((SHORT_WINDOW_DAYS, group.short_count),
                            (LONG_WINDOW_DAYS, group.long_count)):  # fmt: skip
            row[at[activity_count_feature(kind, days)]] += count
            row[at[channel_count_feature(channel, days)]] += count
        if group.contact_id is not None and group.seniority in SENIORITIES:
            contacts.setdefault((key, group.seniority), set()).add(group.contact_id)
    for (key, channel), programs in touched.items():
        rows[key][at[program_touch_feature(channel)]] = float(len(programs))
    for (key, seniority), people in contacts.items():
        rows[key][at[seniority_feature(seniority)]] = float(len(people))
    for row in rows.values():
        for days in (SHORT_WINDOW_DAYS, LONG_WINDOW_DAYS):
            pricing = row[at[activity_count_feature("pricing_page_view", days)]]
            demo = row[at[activity_count_feature("demo_request", days)]]
            row[at[f"pricing_interest_{days}d"]] = 1.0 if pricing > 0 else 0.0
            row[at[f"demo_interest_{days}d"]] = 1.0 if demo > 0 else 0.0


def _fill_last_activity(
    rows: dict[_Key, list[float]], *, segment_id: int, ends: list[dt.date]
) -> None:
    at = FEATURE_INDEX
    for idx, account, latest in training_sql.last_activity(segment_id=segment_id, month_ends=ends):
        row = rows.get((idx, account))
        if row is not None:
            days = (end_of_day(ends[idx]) - latest).total_seconds() / 86400.0
            row[at["days_since_last_activity"]] = days
            row[at["no_activity_yet"]] = 0.0


def _fill_deals(
    rows: dict[_Key, list[float]], *, segment_id: int, ends: list[dt.date]
) -> set[_Key]:
    """Customer and open-deal flags as of each month end, and the keys whose
    account opened an opportunity in the 90 days after it (the positive labels)."""
    at = FEATURE_INDEX
    deals: dict[int, list[tuple[dt.date, str, dt.date | None]]] = {}
    for account, opened_on, status, close_on in Opportunity.objects.filter(
        account__memberships__segment_id=segment_id,
        opened_on__lte=ends[-1] + dt.timedelta(days=LABEL_HORIZON_DAYS),
    ).values_list("account_id", "opened_on", "status", "close_on"):
        deals.setdefault(account, []).append((opened_on, status, close_on))
    positives: set[_Key] = set()
    horizon = dt.timedelta(days=LABEL_HORIZON_DAYS)
    for (idx, account), row in rows.items():
        end = ends[idx]
        for opened_on, status, close_on in deals.get(account, ()):
            closed = status in (OpportunityStatus.WON, OpportunityStatus.LOST)
            closed_by_then = closed and close_on is not None and close_on <= end
            if status == OpportunityStatus.WON and closed_by_then:
                row[at["customer_as_of"]] = 1.0
            if opened_on <= end and not closed_by_then:
                row[at["open_opportunity_as_of"]] = 1.0
            if end < opened_on <= end + horizon:
                positives.add((idx, account))
    return positives
