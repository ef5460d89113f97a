"""The rollup benchmark's dataset: emptied tables (refusing a database that holds
anything an earlier run did not write), then accounts, contacts (seniority,
junk), one scored segment with the default scoring model and activities over 18
months, seeded with COPY from a seed and the sizes alone; and the late-arriving
activities the incremental rollup is timed on.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import random
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from tqdm import tqdm

from accounts.junk import junk_exclusion_reason
from accounts.models import Account, Contact, ICPSegment
from bench import BenchmarkError
from bench.rollup.copy_rows import NULL, copy_line, copy_lines
from engagement.models import Activity, ActivityMessage, ActivityPending, ScoringModel, Source
from engagement.partitions import month_of
from engagement.services.partitions import activity_partitions_ensure
from engagement.services.sources import source_create

SOURCE_NAME = "bench rollup"
SEGMENT_NAME = "bench rollup"
# Every account and contact the benchmark writes has an address in this domain.
DOMAIN_SUFFIX = ".bench-rollup.test"

# The moment the scores are computed at: fixed, so that every run computes the
# same scores. All seeded activity happened before it; the incremental batch is
# late-arriving activity of the last days before it.
AT = dt.datetime(2025, 6, 1, 9, 30, tzinfo=dt.UTC)
HISTORY_DAYS = 548  # 18 months
NEW_ACTIVITY_DAYS = 3

SENIORITIES: tuple[str, ...] = ("c_level", "vp", "director", "manager", "other", "unknown")
SENIORITY_WEIGHTS: tuple[float, ...] = (5, 10, 15, 25, 25, 20)
BUYING_ROLES: tuple[str, ...] = (
    "decision_maker", "economic_buyer", "champion", "influencer", "technical_evaluator",
    "user", "unknown",
)  # fmt: skip
BUYING_ROLE_WEIGHTS: tuple[float, ...] = (5, 5, 10, 15, 15, 20, 30)
INDUSTRIES: tuple[str, ...] = ("Software", "Manufacturing", "Finance", "Healthcare", "Retail")
COUNTRIES: tuple[str, ...] = ("US", "GB", "DE", "FR", "NL", "CA", "AU")

# Share of each activity type, in percent: opens, impressions and page views
# dominate, as in real marketing data; high-intent types are rare.
ACTIVITY_MIX: tuple[tuple[str, float], ...] = (
    ("email_open", 24.0),
    ("page_view", 24.0),
    ("ad_impression", 14.0),
    ("email_click", 6.0),
    ("social_engagement", 4.0),
    ("ad_click", 4.0),
    ("pricing_page_view", 4.0),
    ("content_download", 4.0),
    ("webinar_registered", 2.5),
    ("form_fill", 1.5),
    ("webinar_attended", 1.2),
    ("other", 2.0),
    ("unsubscribe", 0.8),
    ("meeting_held", 0.6),
    ("event_attended", 0.6),
    ("hard_bounce", 0.5),
    ("demo_request", 0.3),
)
ACTIVITY_TYPES = tuple(name for name, _ in ACTIVITY_MIX)
ACTIVITY_CUMULATIVE = tuple(itertools.accumulate(share for _, share in ACTIVITY_MIX))

SHARE_MEMBERS = 0.9  # accounts in the scored segment; the rest must not count
SHARE_CONTACTS_WITHOUT_ACCOUNT = 0.02  # free-mail addresses: junk, no account
SHARE_JUNK_WITH_ACCOUNT = 0.02  # job seekers at real companies: junk
SHARE_UNRESOLVED = 0.03  # anonymous visits no company was found for
SHARE_ACCOUNTLESS_CONTACT = 0.02  # activity of contacts without an account
SHARE_ANONYMOUS = 0.22  # anonymous visits resolved to an account
SHARE_MOVED = 0.005  # a contact's activity recorded at another account
SHARE_OTHERWISE_EXCLUDED = 0.01  # unsupported country and the like

ACCOUNT_COLUMNS = (
    "name", "domain", "industry", "employees", "country", "tier", "tags", "is_target",
    "is_customer", "created_at", "updated_at",
)  # fmt: skip
CONTACT_COLUMNS = (
    "email", "email_domain", "first_name", "last_name", "title", "seniority", "job_function",
    "buying_role", "country", "account_id", "is_junk", "junk_reason", "junk_reviewed",
    "created_at", "updated_at",
)  # fmt: skip
MEMBERSHIP_COLUMNS = ("segment_id", "account_id", "fit_score", "fit_grade", "computed_at")
# What the ingest path writes for a stored activity (see engagement/services/tracking.py);
# columns added later take their defaults, so the rows look like ingested ones.
ACTIVITY_COLUMNS = (
    "source_id", "message_id", "type", "occurred_at", "received_at", "account_id",
    "contact_id", "anonymous_id", "tracking_key", "event_name", "properties",
    "excluded_reason",
)  # fmt: skip
# History is stored as claimed long ago: it is copied with the pending trigger
# off (`_history_copied`), so it has no ActivityPending row; the new activities
# arrive pending, as ingested rows do (the trigger writes their pending rows).
PENDING_TRIGGER = "engagement_activity_pending"  # engagement migration 0023
CREATED_AT = (AT - dt.timedelta(days=HISTORY_DAYS + 30)).isoformat()


@dataclass
class _Plan:
    """What the activity generator needs to know of the seeded accounts and contacts."""

    account_ids: list[int]
    # Cumulative popularity, to draw the account of an activity: a few busy
    # accounts and a long tail.
    account_cumulative: list[float]
    contacts_by_account: dict[int, list[int]]
    accountless_contacts: list[int]
    junk_reason_by_contact: dict[int, str]
    contact_ids: list[int]


def _accounts_lines(rng: random.Random, count: int) -> Iterator[str]:
    for n in range(count):
        yield copy_line(
            (
                f"Bench Account {n:06d}",
                f"a{n:06d}{DOMAIN_SUFFIX}",
                rng.choice(INDUSTRIES),
                min(int(10 * rng.paretovariate(0.8)), 500_000),
                rng.choice(COUNTRIES),
                rng.choice(("1", "2", "3", NULL)),
                "[]",
                "t" if rng.random() < 0.3 else "f",
                "f",
                CREATED_AT,
                CREATED_AT,
            )
        )


def _contact_line(
    n: int, rng: random.Random, account_index: int | None, account_id: int | None, junk: str
) -> str:
    domain = "freemail" if account_index is None else f"a{account_index:06d}"
    email_domain = f"{domain}{DOMAIN_SUFFIX}"
    return copy_line(
        (
            f"c{n:07d}@{email_domain}",
            email_domain,
            "Bench",
            f"Contact {n:07d}",
            "Student" if junk else "Manager",
            rng.choices(SENIORITIES, SENIORITY_WEIGHTS)[0],
            "unknown",
            rng.choices(BUYING_ROLES, BUYING_ROLE_WEIGHTS)[0],
            rng.choice(COUNTRIES),
            NULL if account_id is None else account_id,
            "t" if junk else "f",
            junk,
            "f",
            CREATED_AT,
            CREATED_AT,
        )
    )


def _ids(sql: str, params: Sequence[Any] = ()) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _activity_lines(
    rng: random.Random,
    plan: _Plan,
    *,
    count: int,
    source_id: int,
    message_prefix: str,
    within_days: float,
    at: dt.datetime,
) -> Iterator[str]:
    """`count` activities of the last `within_days` days before `at`."""
    cumulative = plan.account_cumulative
    top = cumulative[-1]
    accounts = plan.account_ids
    for n in range(count):
        account_id: int | None
        contact_id: int | None = None
        anonymous_id = ""
        draw = rng.random()
        if draw < SHARE_UNRESOLVED:
            account_id = None
            anonymous_id = f"v{rng.randrange(10 * count + 10):08d}"
        elif draw < SHARE_UNRESOLVED + SHARE_ACCOUNTLESS_CONTACT and plan.accountless_contacts:
            account_id = None
            contact_id = rng.choice(plan.accountless_contacts)
        else:
            account_id = accounts[bisect.bisect_left(cumulative, rng.random() * top)]
            team = plan.contacts_by_account.get(account_id)
            if rng.random() < SHARE_MOVED:
                contact_id = rng.choice(plan.contact_ids)
            elif team and rng.random() >= SHARE_ANONYMOUS:
                # Some people in a team are far more active than others.
                contact_id = team[int(len(team) * rng.random() ** 2)]
            else:
                anonymous_id = f"v{account_id}-{rng.randrange(20)}"
        kind = ACTIVITY_TYPES[
            bisect.bisect_left(ACTIVITY_CUMULATIVE, rng.random() * ACTIVITY_CUMULATIVE[-1])
        ]
        # Denser towards the present, as a growing marketing programme is.
        age = dt.timedelta(seconds=1 + int(within_days * 86_400 * rng.random() ** 1.3))
        occurred = (at - age).isoformat()
        junk = plan.junk_reason_by_contact.get(contact_id) if contact_id else None
        if junk:
            excluded = junk_exclusion_reason(junk)
        elif rng.random() < SHARE_OTHERWISE_EXCLUDED:
            excluded = "unsupported country: KP"
        else:
            excluded = ""
        yield copy_line(
            (
                source_id, f"{message_prefix}{n:08d}", kind, occurred, occurred,
                NULL if account_id is None else account_id,
                NULL if contact_id is None else contact_id,
                anonymous_id, "", "", "{}", excluded,
            )
        )  # fmt: skip


@dataclass(frozen=True)
class Seeded:
    segment_id: int
    source_id: int
    plan: _Plan
    members: int
    seconds: float
    # The end of the seeded history, and the moment the scores are computed at.
    at: dt.datetime = AT


def _foreign_rows() -> dict[str, int]:
    """Rows of the tables the benchmark empties that an earlier run did not write."""
    checks = {
        "accounts": Account.objects.exclude(domain__endswith=DOMAIN_SUFFIX).count(),
        "contacts": Contact.objects.exclude(email__endswith=DOMAIN_SUFFIX).count(),
        "segments": ICPSegment.objects.exclude(name=SEGMENT_NAME).count(),
        "activities": Activity.objects.exclude(source__name=SOURCE_NAME).count(),
    }
    return {name: rows for name, rows in checks.items() if rows}


def bench_data_delete() -> None:
    """Empty the tables the benchmark seeds (TRUNCATE ... CASCADE: scores, cursors,
    snapshots and alerts of the segment go with them), refusing if they hold
    anything an earlier run did not write."""
    foreign = _foreign_rows()
    if foreign:
        held = ", ".join(f"{rows:,} {name}" for name, rows in foreign.items())
        raise BenchmarkError(
            "the rollup benchmark empties the account, contact, segment and activity "
            f"tables, and this database holds other data ({held}). Point DATABASE_URL "
            "at a database of its own (createdb, migrate) and run it again."
        )
    tables = [
        Activity._meta.db_table, ActivityPending._meta.db_table,
        ActivityMessage._meta.db_table, Contact._meta.db_table,
        Account._meta.db_table, ICPSegment._meta.db_table,
    ]  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    Source.objects.filter(name=SOURCE_NAME).delete()


@contextmanager
def _history_copied() -> Iterator[None]:
    """One transaction with engagement's pending trigger off: what it copies is
    history the scores already hold, with no ActivityPending row (and no pending
    rows written and deleted for millions of rows). ALTER TABLE is transactional:
    if the COPY fails, the trigger is on again."""
    table = Activity._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {PENDING_TRIGGER}")
        yield
        # The COPY's deferred foreign-key checks are pending trigger events, which
        # ALTER TABLE refuses to run beside: run them now, as the commit would.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {PENDING_TRIGGER}")


def _vacuum_analyze() -> None:
    """Fresh statistics and hint bits, so that no timed phase pays for the COPY."""
    with connection.cursor() as cursor:
        for model in (Account, Contact, Activity, ActivityPending, ICPSegment):
            cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")
        cursor.execute("VACUUM (ANALYZE) accounts_segmentmembership")


def dataset_seed(
    *,
    accounts: int,
    contacts: int,
    activities: int,
    seed: int,
    progress: bool = False,
    at: dt.datetime = AT,
) -> Seeded:
    """Empty the benchmark's tables and COPY a dataset that depends only on the
    sizes, the seed and `at`, the end of its history (the pages benchmark ends
    it at the time of the run, as the pages read "today")."""
    started = time.perf_counter()
    bench_data_delete()
    rng = random.Random(f"rollup:{seed}")
    source_id = source_create(name=SOURCE_NAME).source.pk
    segment = ICPSegment.objects.create(name=SEGMENT_NAME, description="rollup benchmark")
    ScoringModel.objects.create(segment=segment)  # the DESIGN 4 defaults
    bar_options: dict[str, Any] = {"unit_scale": True, "disable": not progress, "smoothing": 0.05}
    with tqdm(total=accounts, unit="account", desc="seeding accounts", **bar_options) as bar:
        copy_lines(Account._meta.db_table, ACCOUNT_COLUMNS, _accounts_lines(rng, accounts), bar)
    account_ids = _ids(
        f"SELECT id FROM {Account._meta.db_table} WHERE domain LIKE %s ORDER BY domain",  # noqa: S608  # nosec B608
        [f"%{DOMAIN_SUFFIX}"],
    )
    popularity = [min(rng.paretovariate(1.1), 500.0) for _ in account_ids]
    team_cumulative = list(itertools.accumulate(1.0 + math.sqrt(p) for p in popularity))
    junk_by_index: dict[int, str] = {}

    def contact_lines() -> Iterator[str]:
        for n in range(contacts):
            if rng.random() < SHARE_CONTACTS_WITHOUT_ACCOUNT:
                junk_by_index[n] = "free-mail domain without an account"
                yield _contact_line(n, rng, None, None, junk_by_index[n])
                continue
            index = bisect.bisect_left(team_cumulative, rng.random() * team_cumulative[-1])
            junk = "job-seeker title: student" if rng.random() < SHARE_JUNK_WITH_ACCOUNT else ""
            if junk:
                junk_by_index[n] = junk
            yield _contact_line(n, rng, index, account_ids[index], junk)

    with tqdm(total=contacts, unit="contact", desc="seeding contacts", **bar_options) as bar:
        copy_lines(Contact._meta.db_table, CONTACT_COLUMNS, contact_lines(), bar)
    contact_rows: list[tuple[int, int | None, str]] = []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, account_id, email FROM {Contact._meta.db_table} "  # noqa: S608  # nosec B608
            "WHERE email LIKE %s ORDER BY email",
            [f"%{DOMAIN_SUFFIX}"],
        )
        contact_rows = cursor.fetchall()
    contact_ids = [contact_id for contact_id, _, _ in contact_rows]
    contacts_by_account: dict[int, list[int]] = defaultdict(list)
    accountless: list[int] = []
    junk_reason_by_contact: dict[int, str] = {}
    for contact_id, account_id, email in contact_rows:
        index = int(email[1:8])
        if index in junk_by_index:
            junk_reason_by_contact[contact_id] = junk_by_index[index]
        if account_id is None:
            accountless.append(contact_id)
        else:
            contacts_by_account[account_id].append(contact_id)
    members = [account_id for account_id in account_ids if rng.random() < SHARE_MEMBERS]
    with tqdm(total=len(members), unit="account", desc="seeding segment", **bar_options) as bar:
        copy_lines(
            "accounts_segmentmembership",
            MEMBERSHIP_COLUMNS,
            (copy_line((segment.pk, a, 50, "C", CREATED_AT)) for a in members),
            bar,
        )
    plan = _Plan(
        account_ids=account_ids,
        account_cumulative=list(itertools.accumulate(popularity)),
        contacts_by_account=dict(contacts_by_account),
        accountless_contacts=accountless,
        junk_reason_by_contact=junk_reason_by_contact,
        contact_ids=contact_ids,
    )
    # On PostgreSQL, each month of the history in a partition of its own from
    # the start (not in the default one, to be moved out later).
    activity_partitions_ensure(since=month_of(at - dt.timedelta(days=HISTORY_DAYS)))
    with (
        tqdm(total=activities, unit="activity", desc="seeding activities", **bar_options) as bar,
        _history_copied(),
    ):
        copy_lines(
            Activity._meta.db_table,
            ACTIVITY_COLUMNS,
            _activity_lines(
                rng,
                plan,
                count=activities,
                source_id=source_id,
                message_prefix="h",
                within_days=HISTORY_DAYS,
                at=at,
            ),
            bar,
        )
    _vacuum_analyze()
    return Seeded(
        segment_id=segment.pk,
        source_id=source_id,
        plan=plan,
        members=len(members),
        seconds=time.perf_counter() - started,
        at=at,
    )


def activities_add(*, seeded: Seeded, count: int, seed: int, progress: bool = False) -> None:
    """COPY `count` late-arriving activities of the last days before `seeded.at`."""
    rng = random.Random(f"rollup-new:{seed}")
    with tqdm(
        total=count, unit="activity", desc="new activities", disable=not progress, unit_scale=True
    ) as bar:
        copy_lines(
            Activity._meta.db_table,
            ACTIVITY_COLUMNS,
            _activity_lines(
                rng,
                seeded.plan,
                count=count,
                source_id=seeded.source_id,
                message_prefix="n",
                within_days=NEW_ACTIVITY_DAYS,
                at=seeded.at,
            ),
            bar,
        )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Activity._meta.db_table}")
        cursor.execute(f"ANALYZE {ActivityPending._meta.db_table}")
