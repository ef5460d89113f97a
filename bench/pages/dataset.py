"""The pages benchmark's dataset: what the pages and reports read, on top of the
rollup benchmark's COPY-seeded accounts, contacts, segment and activities
(`bench.rollup.dataset`), written set-based (INSERT ... SELECT, one statement a
table) with sizes scaled from the activity count:

- a campaign on the scored segment with programs (one per channel-like slot),
  each with a tracking key that a share of the seeded activities carry, and the
  program touches the product derives from them (`touches_recompute`);
- every member account a target of the campaign, a tenth of them held out;
- weekly spend lines of every program, and opportunities (open, won, lost) on
  accounts, dated in the year the reports show;
- daily engagement snapshots of every member account for the year up to today
  (the trend chart, the 7 and 30 day score changes, the overview's engaged and
  qualified counts), derived from the score the recompute stored;
- a user in the Marketer and Executive groups (the benchmark times the
  ranking run of the year itself).

The benchmark ends the seeded history at the time of the run (the rollup's
own runs end it at a fixed moment), since the pages read "today": the trend
chart, the score changes and the reports' year all end on the day of the run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction

from accounts.roles import EXECUTIVE, MARKETER
from bench import BenchmarkError
from campaigns.models import Campaign, Program, RankingRun
from campaigns.touches import touches_recompute
from engagement.rollup.baselines import change_baselines_set

CAMPAIGN_NAME = "bench pages"
USERNAME = "bench-pages"
SNAPSHOT_DAYS = 365
# One program per this many activities (at least 4, at most 200), and one in
# this many activities carries a program's tracking key.
ACTIVITIES_PER_PROGRAM = 5_000
MIN_PROGRAMS, MAX_PROGRAMS = 4, 200
KEYED_EVERY = 20
# One opportunity per this many activities (at least 20).
ACTIVITIES_PER_OPPORTUNITY = 200
CHANNELS = ("paid_social", "display", "search", "webinar", "event", "email")


@dataclass(frozen=True)
class PagesSeeded:
    campaign_id: int
    programs: int
    keyed_activities: int
    touches: int
    targets: int
    held_out: int
    spend_lines: int
    opportunities: int
    snapshots: int
    user_id: int
    year_start: dt.date
    today: dt.date


def _execute(sql: str, params: Sequence[Any] = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def _scalar(sql: str, params: Sequence[Any] = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def pages_data_delete() -> None:
    """What an earlier run wrote that the rollup's TRUNCATE does not reach."""
    RankingRun.objects.filter(created_by__username=USERNAME).delete()
    Campaign.objects.filter(name__startswith=CAMPAIGN_NAME).delete()
    get_user_model().objects.filter(username=USERNAME).delete()


def _user() -> int:
    user = get_user_model().objects.create_user(
        username=USERNAME, email=f"{USERNAME}@example.test", password=None
    )
    groups = list(Group.objects.filter(name__in=[MARKETER, EXECUTIVE]))
    if len(groups) != 2:
        raise BenchmarkError(
            f"the {MARKETER} and {EXECUTIVE} groups are missing: run `manage.py migrate`"
        )
    user.groups.add(*groups)
    return int(user.pk)


def program_days(n: int) -> tuple[int, int]:
    """Program n's first and last day, counted from the snapshots' first day:
    staggered, so some ended long enough ago to be judged and some still run;
    30 days at least, never past the last snapshot day."""
    first = (n * 7) % 180
    return first, min(SNAPSHOT_DAYS - 1, first + 30 + (n * 11) % 215)


@transaction.atomic
def pages_seed(*, segment_id: int, activities: int, today: dt.date) -> PagesSeeded:
    """Seed what the pages read; the full recompute must have run (the snapshots
    derive from the stored scores)."""
    pages_data_delete()
    user_id = _user()
    year_start = today - dt.timedelta(days=SNAPSHOT_DAYS - 1)
    campaign = Campaign.objects.create(
        name=CAMPAIGN_NAME, objective="pipeline", starts_on=year_start, ends_on=today,
        budget=1_000_000, segment_id=segment_id, owner_id=user_id,
    )  # fmt: skip
    count = min(MAX_PROGRAMS, max(MIN_PROGRAMS, activities // ACTIVITIES_PER_PROGRAM))
    Program.objects.bulk_create(
        Program(
            campaign=campaign, name=f"Program {n:03d}", channel=CHANNELS[n % len(CHANNELS)],
            starts_on=year_start + dt.timedelta(days=program_days(n)[0]),
            ends_on=year_start + dt.timedelta(days=program_days(n)[1]),
            tracking_key=f"bench-pages-{n:03d}", status="active",
        )
        for n in range(count)
    )  # fmt: skip
    # A share of the seeded activities carry a program's key, as UTM-tagged visits do.
    keyed = _execute(
        "UPDATE engagement_activity SET tracking_key = 'bench-pages-' || lpad((id %% %s)::text, 3, "
        "'0') WHERE id %% %s = 0",
        [count, KEYED_EVERY],
    )
    # As autovacuum would have by the time anyone reads the pages: the planner
    # otherwise sees no keyed activity at all.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE engagement_activity")
    touches = touches_recompute()
    # Every member a target; a deterministic tenth held out.
    targets = _execute(
        "INSERT INTO campaigns_campaigntarget (campaign_id, account_id, in_holdout, added_at) "
        "SELECT %s, account_id, account_id %% 10 = 0, now() FROM accounts_segmentmembership "
        "WHERE segment_id = %s",
        [campaign.pk, segment_id],
    )
    held_out = _scalar(
        "SELECT count(*) FROM campaigns_campaigntarget WHERE campaign_id = %s AND in_holdout",
        [campaign.pk],
    )
    spend = _execute(
        "INSERT INTO campaigns_spend (program_id, spent_on, amount, currency, description, "
        "created_at) SELECT p.id, d::date, 100 + (p.id * 37 + extract(doy FROM d)::int) %% 900, "
        "'USD', 'weekly', now() FROM campaigns_program p, "
        "generate_series(p.starts_on::timestamp, p.ends_on::timestamp, interval '7 days') d "
        "WHERE p.campaign_id = %s",
        [campaign.pk],
    )
    opportunities = _execute(
        "INSERT INTO accounts_opportunity (external_id, account_id, name, amount, currency, "
        "crm_stage, status, opened_on, close_on, source, product_line, created_at, updated_at) "
        "SELECT 'bench-pages-' || n, m.account_id, 'Deal ' || n, 5000 + (n * 7919) %% 95000, "
        "'USD', '', s.status, s.opened, CASE WHEN s.status = 'open' THEN s.opened + 60 "
        "ELSE least(%s::date, s.opened + 20 + n %% 70) END, 'marketing', '', now(), now() "
        "FROM generate_series(1, %s) n "
        # Deal n goes to the (n mod members)-th member by account id: numbered
        # once and joined (an OFFSET per deal read n rows for the n-th).
        "JOIN (SELECT account_id, row_number() OVER (ORDER BY account_id) - 1 AS rank, "
        "  count(*) OVER () AS members FROM accounts_segmentmembership WHERE segment_id = %s) m "
        "ON m.rank = n %% m.members "
        "CROSS JOIN LATERAL (SELECT (ARRAY['open', 'won', 'lost'])[1 + n %% 3] AS status, "
        "  %s::date + (n * 13) %% %s AS opened) s",
        [today, max(20, activities // ACTIVITIES_PER_OPPORTUNITY), segment_id,
         year_start, SNAPSHOT_DAYS - 30],
    )  # fmt: skip
    # Daily snapshots for the year: the stored score, lower further back, with
    # a small per-account wobble so the 7 and 30 day changes differ in sign.
    # One statement per day, oldest first, as the nightly snapshot writes
    # them: the table's rows lie by day as in production, and the monthly
    # peaks' trigger reads one day's rows at a time (one statement over the
    # year made it sort 33 million rows at 10M).
    snapshots = sum(
        _execute(
            "INSERT INTO engagement_engagementsnapshot (account_id, segment_id, day, "
            "model_version, score, raw_score, stage, engaged_contacts, roles_covered) "
            "SELECT e.account_id, e.segment_id, %s::date - d, sm.version, "
            "least(100, greatest(0, round(e.score * (1 - d / 730.0))::int "
            "  + (e.account_id + d / 7) %% 7 - 3)), "
            "e.raw_score * (1 - d / 730.0), e.stage, e.engaged_contacts, "
            "jsonb_array_length(e.roles_covered) "
            "FROM engagement_accountengagement e "
            "JOIN engagement_scoringmodel sm ON sm.id = e.scoring_model_id, "
            "(SELECT %s::int AS d) days WHERE e.segment_id = %s",
            [today, days_ago, segment_id],
        )
        for days_ago in range(SNAPSHOT_DAYS - 1, -1, -1)
    )
    # As the nightly run leaves them: the list by score change reads them.
    change_baselines_set(segment_id=segment_id, today=today)
    return PagesSeeded(
        campaign_id=campaign.pk, programs=count, keyed_activities=keyed, touches=touches,
        targets=targets, held_out=held_out, spend_lines=spend, opportunities=opportunities,
        snapshots=snapshots, user_id=user_id, year_start=year_start,
        today=today,
    )  # fmt: skip


# What the seeding wrote or rewrote: the keyed activities' UPDATE and the
# peaks the daily snapshots raised leave dead rows behind.
VACUUMED = ("engagement_activity", "campaigns_touch", "campaigns_campaigntarget",
            "campaigns_spend", "accounts_opportunity", "engagement_engagementsnapshot",
            "engagement_engagementmonthpeak", "engagement_accountengagement")  # fmt: skip


def pages_vacuum() -> None:
    """VACUUM (ANALYZE) what `pages_seed` wrote, as autovacuum would have by the
    time anyone reads the pages: a year of snapshots written in minutes leaves
    its dead rows to the first timed request otherwise (outside a transaction:
    VACUUM cannot run in one)."""
    with connection.cursor() as cursor:
        for table in VACUUMED:
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def accounts_sample(*, segment_id: int, count: int) -> list[int]:
    """`count` member accounts spread over the id range (busy and quiet alike)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT account_id FROM accounts_segmentmembership WHERE segment_id = %s "
            "ORDER BY account_id",
            [segment_id],
        )
        ids = [row[0] for row in cursor.fetchall()]
    step = max(1, len(ids) // max(1, count))
    return ids[::step][:count]
