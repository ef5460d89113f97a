"""The rollup benchmark: the product's score recompute against one hand-written SQL
statement, a naive ORM loop and the incremental rollup (docs/benchmarks.md).

1. Empty the account, contact, segment and activity tables (after checking that
   they hold nothing but an earlier run's data) and seed a deterministic dataset
   with COPY: accounts, contacts (seniority, junk), one scored segment with the
   default scoring model, and activities over 18 months (a realistic type mix,
   anonymous visits resolved to an account, junk and otherwise excluded rows).
2. Time `scores_recompute`, then `REFERENCE_SQL` (one statement that computes
   every member account's raw and normalised score from the activity table),
   in rounds after a checkpoint, comparing the medians, and check that they
   agree on every account after each round.
3. Time the obvious per-account, per-contact ORM loop, saving its sums and
   scores as the recompute does (rolled back), on a sample of accounts and
   scale it to the whole segment.
4. COPY new activities, time `scores_rollup`, and check every account again.

The data is left in place (the next run empties it first), so the product's
statements can be examined with EXPLAIN ANALYZE afterwards.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import os
import platform
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import DatabaseError, connection, transaction
from tqdm import tqdm

from accounts.models import Account, Contact, ICPSegment
from bench import BenchmarkError
from engagement.models import AccountEngagement, Activity, ContactEngagement, ScoringModel, Source
from engagement.rollup import claims
from engagement.rollup.incremental import scores_rollup
from engagement.rollup.recompute import scores_recompute
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

# Targets of issue 5, item 9.
TARGET_RECOMPUTE_TO_REFERENCE = 1.5  # the product at most 1.5 times the reference
TARGET_NAIVE_TO_RECOMPUTE = 100.0  # the naive loop at least 100 times slower

# Agreement: raw scores within this relative difference, integer scores equal.
RAW_RELATIVE_TOLERANCE = 1e-9
# Raw scores below this are zero for the relative comparison (a contact whose
# positive and negative terms cancel leaves float dust of either sign).
RAW_ZERO = 1e-9

# --- The dataset ---------------------------------------------------------------

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
# What the ingest path writes for a stored activity (see engagement/services.py);
# columns added later take their defaults, so the rows look like ingested ones.
ACTIVITY_COLUMNS = (
    "source_id", "message_id", "type", "occurred_at", "received_at", "account_id",
    "contact_id", "anonymous_id", "tracking_key", "event_name", "properties",
    "excluded_reason", "rollup_batch",
)  # fmt: skip
# History is stored as claimed long ago (batch 0, as migration 0009 marks what
# was there); the new activities arrive pending, as ingested rows do.
HISTORY_BATCH = "0"
NULL = "\\N"
CREATED_AT = (AT - dt.timedelta(days=HISTORY_DAYS + 30)).isoformat()


class _LineStream:
    """A file-like view of an iterator of COPY text lines, for `copy_expert`: rows
    are generated as PostgreSQL reads them, never held all at once."""

    def __init__(self, lines: Iterator[str], on_line: Callable[[], object] | None = None) -> None:
        self._lines = lines
        self._on_line = on_line
        self._pending = b""

    def read(self, size: int = -1) -> bytes:
        parts = [self._pending]
        length = len(self._pending)
        for line in self._lines:
            encoded = line.encode()
            parts.append(encoded)
            length += len(encoded)
            if self._on_line is not None:
                self._on_line()
            if 0 <= size <= length:
                break
        data = b"".join(parts)
        if size < 0:
            self._pending = b""
            return data
        self._pending = data[size:]
        return data[:size]

    def readline(self, size: int = -1) -> bytes:  # psycopg2 only calls read(); for completeness
        return self.read(size)


def _copy(table: str, columns: Sequence[str], lines: Iterable[str], bar: tqdm[Any]) -> None:
    """COPY text lines into a table in one statement."""
    stream = _LineStream(iter(lines), on_line=lambda: bar.update(1))
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(sql, stream, size=1 << 20)


def _line(values: Iterable[object]) -> str:
    """One COPY text line; the generated values never hold tabs, newlines or backslashes."""
    return "\t".join(NULL if value is None else str(value) for value in values) + "\n"


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
        yield _line(
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
    return _line(
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
    rollup_batch: str,
) -> Iterator[str]:
    """`count` activities of the last `within_days` days before AT."""
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
        occurred = (AT - age).isoformat()
        junk = plan.junk_reason_by_contact.get(contact_id) if contact_id else None
        if junk:
            excluded = f"junk contact: {junk}"
        elif rng.random() < SHARE_OTHERWISE_EXCLUDED:
            excluded = "unsupported country: KP"
        else:
            excluded = ""
        yield _line(
            (
                source_id, f"{message_prefix}{n:08d}", kind, occurred, occurred,
                NULL if account_id is None else account_id,
                NULL if contact_id is None else contact_id,
                anonymous_id, "", "", "{}", excluded, rollup_batch,
            )
        )  # fmt: skip


@dataclass(frozen=True)
class Seeded:
    segment_id: int
    source_id: int
    plan: _Plan
    members: int
    seconds: float


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
        Activity._meta.db_table, Contact._meta.db_table, Account._meta.db_table,
        ICPSegment._meta.db_table,
    ]  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    Source.objects.filter(name=SOURCE_NAME).delete()


def _vacuum_analyze() -> None:
    """Fresh statistics and hint bits, so that no timed phase pays for the COPY."""
    with connection.cursor() as cursor:
        for model in (Account, Contact, Activity, ICPSegment):
            cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")
        cursor.execute("VACUUM (ANALYZE) accounts_segmentmembership")


def dataset_seed(
    *, accounts: int, contacts: int, activities: int, seed: int, progress: bool = False
) -> Seeded:
    """Empty the benchmark's tables and COPY a dataset that depends only on the
    sizes and the seed."""
    started = time.perf_counter()
    bench_data_delete()
    rng = random.Random(f"rollup:{seed}")
    source_id = source_create(name=SOURCE_NAME).source.pk
    segment = ICPSegment.objects.create(name=SEGMENT_NAME, description="rollup benchmark")
    ScoringModel.objects.create(segment=segment)  # the DESIGN 4 defaults
    bar_options: dict[str, Any] = {"unit_scale": True, "disable": not progress, "smoothing": 0.05}
    with tqdm(total=accounts, unit="account", desc="seeding accounts", **bar_options) as bar:
        _copy(Account._meta.db_table, ACCOUNT_COLUMNS, _accounts_lines(rng, accounts), bar)
    account_ids = _ids(
        f"SELECT id FROM {Account._meta.db_table} WHERE domain LIKE %s ORDER BY domain",  # noqa: S608
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
        _copy(Contact._meta.db_table, CONTACT_COLUMNS, contact_lines(), bar)
    contact_rows: list[tuple[int, int | None, str]] = []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, account_id, email FROM {Contact._meta.db_table} "  # noqa: S608
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
        _copy(
            "accounts_segmentmembership",
            MEMBERSHIP_COLUMNS,
            (_line((segment.pk, a, 50, "C", CREATED_AT)) for a in members),
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
    with tqdm(total=activities, unit="activity", desc="seeding activities", **bar_options) as bar:
        _copy(
            Activity._meta.db_table,
            ACTIVITY_COLUMNS,
            _activity_lines(
                rng,
                plan,
                count=activities,
                source_id=source_id,
                message_prefix="h",
                within_days=HISTORY_DAYS,
                rollup_batch=HISTORY_BATCH,
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
    )


def activities_add(*, seeded: Seeded, count: int, seed: int, progress: bool = False) -> None:
    """COPY `count` late-arriving activities of the last days before AT."""
    rng = random.Random(f"rollup-new:{seed}")
    with tqdm(
        total=count, unit="activity", desc="new activities", disable=not progress, unit_scale=True
    ) as bar:
        _copy(
            Activity._meta.db_table,
            ACTIVITY_COLUMNS,
            _activity_lines(
                rng,
                seeded.plan,
                count=count,
                source_id=seeded.source_id,
                message_prefix="n",
                within_days=NEW_ACTIVITY_DAYS,
                rollup_batch=NULL,
            ),
            bar,
        )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Activity._meta.db_table}")


# --- The hand-written reference ------------------------------------------------

# Every member account's raw and normalised score at %(at)s, in one statement,
# straight from the activity table, in double precision. The rules of DESIGN 4
# as the product applies them (engagement/rollup/, engagement/scoring.py):
# - an activity counts if it is not excluded (junk contact, unsupported country
#   ...) and its account is a member of the segment; all stored activity counts,
#   the lookback only decides the stage;
# - term = weight(type) (0 for types without one, negative ones included)
#   * seniority multiplier (1.0 for a seniority without one, and for anonymous
#   activity) * exp(-lambda * days from the activity to %(at)s);
# - a contact's points are summed per (contact, account of the activity), and
#   capped: min(cap, max(0, points));
# - anonymous activity (no contact, account resolved) counts factor * max(0, sum);
# - score = round(100 * (1 - exp(-raw / scale))), half to even as Python's round
#   (round() of a double in PostgreSQL rounds half to even too).
REFERENCE_SQL = """
WITH weights (type, weight) AS (SELECT * FROM unnest(%(types)s::text[], %(weights)s::float8[])),
multipliers (seniority, multiplier) AS (
    SELECT * FROM unnest(%(seniorities)s::text[], %(multipliers)s::float8[])
),
members AS (
    SELECT account_id FROM accounts_segmentmembership WHERE segment_id = %(segment_id)s
),
per_person AS (
    SELECT a.account_id, a.contact_id,
           sum(coalesce(w.weight, 0)
               * CASE WHEN a.contact_id IS NULL THEN 1.0 ELSE coalesce(m.multiplier, 1.0) END
               * exp(%(minus_rate)s::float8
                     * (%(at_epoch)s::float8 - date_part('epoch', a.occurred_at)) / 86400.0)
           ) AS points
    FROM engagement_activity a
    JOIN members USING (account_id)
    LEFT JOIN weights w ON w.type = a.type
    LEFT JOIN accounts_contact c ON c.id = a.contact_id
    LEFT JOIN multipliers m ON m.seniority = c.seniority
    WHERE a.excluded_reason = ''
    GROUP BY a.account_id, a.contact_id
),
raw AS (
    SELECT account_id,
           coalesce(sum(least(%(cap)s::float8, greatest(0.0, points)))
                    FILTER (WHERE contact_id IS NOT NULL), 0.0)
           + %(anonymous_factor)s::float8
             * greatest(0.0, coalesce(sum(points) FILTER (WHERE contact_id IS NULL), 0.0))
             AS raw_score
    FROM per_person
    GROUP BY account_id
)
SELECT members.account_id, coalesce(raw.raw_score, 0.0) AS raw_score,
       round(100.0 * (1.0 - exp(-coalesce(raw.raw_score, 0.0) / %(scale)s::float8)))::int
FROM members LEFT JOIN raw USING (account_id)
"""

Scores = dict[int, tuple[float, int]]


def reference_parameters(*, segment_id: int, at: dt.datetime) -> dict[str, Any]:
    model = ScoringModel.objects.get(segment_id=segment_id, is_current=True)
    weights = {str(k): float(v) for k, v in model.activity_weights.items()}
    multipliers = {str(k): float(v) for k, v in model.seniority_multipliers.items()}
    return {
        "segment_id": segment_id,
        "types": list(weights),
        "weights": list(weights.values()),
        "seniorities": list(multipliers),
        "multipliers": list(multipliers.values()),
        "minus_rate": -math.log(2) / model.half_life_days,
        "at_epoch": at.timestamp(),
        "cap": float(model.contact_cap),
        "anonymous_factor": float(model.anonymous_factor),
        "scale": float(model.scale),
    }


def reference_scores(*, segment_id: int, at: dt.datetime) -> Scores:
    """account id -> (raw score, score) of every member account, by REFERENCE_SQL."""
    with connection.cursor() as cursor:
        cursor.execute(REFERENCE_SQL, reference_parameters(segment_id=segment_id, at=at))
        return {account_id: (raw, score) for account_id, raw, score in cursor.fetchall()}


def product_scores(*, segment_id: int) -> Scores:
    """account id -> (raw score, score) as the product stored them."""
    return {
        account_id: (raw, score)
        for account_id, raw, score in AccountEngagement.objects.filter(
            segment_id=segment_id
        ).values_list("account_id", "raw_score", "score")
    }


@dataclass(frozen=True)
class Mismatch:
    account_id: int
    reference: tuple[float, int] | None
    product: tuple[float, int] | None

    def __str__(self) -> str:
        def shown(value: tuple[float, int] | None) -> str:
            return "missing" if value is None else f"raw {value[0]!r} score {value[1]}"

        return (
            f"account {self.account_id}: reference {shown(self.reference)}, "
            f"product {shown(self.product)}"
        )


def raw_scores_agree(first: float, second: float) -> bool:
    larger = max(abs(first), abs(second))
    return larger < RAW_ZERO or abs(first - second) <= RAW_RELATIVE_TOLERANCE * larger


def scores_compare(reference: Scores, product_side: Scores) -> list[Mismatch]:
    """Every account of either side whose raw or integer score differs, or that
    only one side has."""
    mismatches = []
    for account_id in sorted(reference.keys() | product_side.keys()):
        expected, got = reference.get(account_id), product_side.get(account_id)
        if (
            expected is None
            or got is None
            or expected[1] != got[1]
            or not raw_scores_agree(expected[0], got[0])
        ):
            mismatches.append(Mismatch(account_id, expected, got))
    return mismatches


def agreement_check(*, reference: Scores, product_side: Scores, when: str) -> int:
    """The number of accounts checked; BenchmarkError listing a few on any mismatch."""
    mismatches = scores_compare(reference, product_side)
    if mismatches:
        listed = "\n  ".join(str(m) for m in mismatches[:5])
        raise BenchmarkError(
            f"{when}: the product and the hand-written reference disagree on "
            f"{len(mismatches):,} of {len(reference | product_side):,} accounts, e.g.\n  {listed}"
        )
    return len(reference)


# --- The naive ORM loop ----------------------------------------------------------


def naive_scores(*, segment_id: int, at: dt.datetime, account_ids: Sequence[int]) -> Scores:
    """What one would write first: per account, per contact, a query and a Python
    sum, each result saved with update_or_create, as the recompute saves its
    contact sums and account scores. The writes are rolled back afterwards, so
    the product's rows stay as its recompute left them."""
    model = ScoringModel.objects.get(segment_id=segment_id, is_current=True)
    rate = math.log(2) / model.half_life_days
    scores: Scores = {}
    try:
        with transaction.atomic():
            for account in Account.objects.filter(pk__in=account_ids):
                raw, latest = 0.0, None
                people = Contact.objects.filter(
                    activities__account=account, activities__excluded_reason=""
                ).distinct()
                for contact in people:
                    multiplier = float(model.seniority_multipliers.get(contact.seniority, 1.0))
                    points, contact_latest = 0.0, None
                    for activity in Activity.objects.filter(
                        account=account, contact=contact, excluded_reason=""
                    ):
                        days = (at - activity.occurred_at).total_seconds() / 86_400
                        weight = float(model.activity_weights.get(activity.type, 0.0))
                        points += weight * multiplier * math.exp(-rate * days)
                        contact_latest = max(contact_latest or activity.occurred_at,
                                             activity.occurred_at)  # fmt: skip
                    ContactEngagement.objects.update_or_create(
                        segment_id=segment_id, account=account, contact=contact,
                        defaults={"landmark": at, "decay_sum": points,
                                  "last_activity_at": contact_latest},
                    )  # fmt: skip
                    raw += min(model.contact_cap, max(0.0, points))
                    if latest is None or (contact_latest and contact_latest > latest):
                        latest = contact_latest
                anonymous = 0.0
                for activity in Activity.objects.filter(
                    account=account, contact__isnull=True, excluded_reason=""
                ):
                    days = (at - activity.occurred_at).total_seconds() / 86_400
                    anonymous += float(model.activity_weights.get(activity.type, 0.0)) * math.exp(
                        -rate * days
                    )
                raw += model.anonymous_factor * max(0.0, anonymous)
                score = round(100 * (1 - math.exp(-raw / model.scale)))
                AccountEngagement.objects.update_or_create(
                    segment_id=segment_id, account=account,
                    defaults={"scoring_model": model, "landmark": at, "raw_score": raw,
                              "score": score, "last_activity_at": latest, "computed_at": at},
                )  # fmt: skip
                scores[account.pk] = (raw, score)
            raise _RolledBack
    except _RolledBack:
        pass
    return scores


# --- The run -------------------------------------------------------------------------


@dataclass(frozen=True)
class RollupOptions:
    accounts: int = 10_000
    contacts: int = 80_000
    activities: int = 1_000_000
    new_activities: int = 10_000
    naive_sample: int = 200
    rounds: int = 3
    seed: int = 42
    explain: bool = False
    progress: bool = False


@dataclass(frozen=True)
class Target:
    description: str
    value: float
    limit: float
    met: bool


@dataclass(frozen=True)
class RollupResult:
    accounts: int
    members: int
    contacts: int
    activities: int
    new_activities: int
    history_days: int
    at: str
    seed: int
    seed_seconds: float
    recompute_seconds: float  # the median of the rounds
    recompute_rounds: list[float]
    recompute_accounts: int
    reference_seconds: float  # the median of the rounds
    reference_rounds: list[float]
    recompute_to_reference: float
    naive_sample: int
    naive_sample_seconds: float
    naive_scaled_seconds: float
    naive_to_recompute: float
    rollup_seconds: float
    rollup_accounts: int
    recompute_breakdown: dict[str, Any]
    rollup_breakdown: dict[str, Any]
    recompute_slowest_plan: str
    checked_after_recompute: int
    checked_naive_sample: int
    checked_after_rollup: int
    targets: dict[str, Target]
    machine: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _checkpoint() -> None:
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def _timed(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def _database_facts() -> dict[str, str]:
    facts: dict[str, str] = {}
    with connection.cursor() as cursor:
        for name in ("server_version", "shared_buffers", "work_mem", "jit"):
            cursor.execute(f"SHOW {name}")
            row = cursor.fetchone()
            facts[name] = str(row[0]) if row else ""
    return facts


@dataclass
class Statement:
    seconds: float
    sql: str
    params: Any

    def summary(self) -> str:
        return " ".join(self.sql.split())[:100]


@dataclass
class StatementLog:
    """Every statement the product runs while timed, with its duration: where the
    time goes, whatever the product's internals are at the time."""

    statements: list[Statement] = field(default_factory=list)

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if not many:
                self.statements.append(Statement(time.perf_counter() - started, sql, params))

    def slowest(self, count: int = 3) -> list[Statement]:
        return sorted(self.statements, key=lambda s: s.seconds, reverse=True)[:count]


def _breakdown(log: StatementLog, total: float) -> dict[str, Any]:
    in_sql = sum(s.seconds for s in log.statements)
    return {
        "statements": len(log.statements),
        "sql_seconds": round(in_sql, 3),
        # Python work plus the commit (deferred foreign-key checks run there).
        "other_seconds": round(total - in_sql, 3),
        "slowest": [{"seconds": round(s.seconds, 3), "sql": s.summary()} for s in log.slowest()],
    }


def explain_slowest(log: StatementLog) -> tuple[Statement, str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest logged statement, run where it ran:
    the statements before it are replayed first (each in a savepoint, so one that
    cannot run twice is skipped) in the same transaction, which is then rolled
    back, so nothing changes."""
    slowest = log.slowest(1)[0]
    plan = ""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in log.statements:
                if statement is slowest:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement.sql, statement.params)
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                    break
                if statement.sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                    continue
                try:
                    # A statement that made a row once (get_or_create) fails on a
                    # second run; the state it would have made is already there.
                    with transaction.atomic():
                        cursor.execute(statement.sql, statement.params)
                except DatabaseError:
                    pass
            raise _RolledBack
    except _RolledBack:
        pass
    return slowest, plan


class _RolledBack(Exception):
    pass


def recompute(*, segment_id: int) -> claims.RollupResult:
    """The product's full recompute, as the benchmark calls it (a seam for the test
    that makes the product wrong on purpose)."""
    return scores_recompute(segment_id=segment_id, at=AT, alerts=False)


def run(options: RollupOptions) -> RollupResult:
    """Run the rollup benchmark on the default (PostgreSQL) database."""
    if connection.vendor != "postgresql":
        raise BenchmarkError(
            f"the rollup benchmark needs PostgreSQL; the database is {connection.vendor}"
        )
    load_at_start = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []
    with connection.cursor() as cursor:
        # Minutes of work at full size: the web's statement timeout is not for this.
        cursor.execute("SET statement_timeout = 0")
    try:
        return _run(options, load_at_start)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")


def _run(options: RollupOptions, load_at_start: list[float]) -> RollupResult:
    seeded = dataset_seed(
        accounts=options.accounts, contacts=options.contacts, activities=options.activities,
        seed=options.seed, progress=options.progress,
    )  # fmt: skip
    segment_id = seeded.segment_id
    # Warm the cache for both sides alike: one untimed read of the whole table.
    reference_scores(segment_id=segment_id, at=AT)

    # Rounds of recompute then reference; each side's median is compared. The
    # first recompute writes into empty score tables, the later ones replace
    # what the previous one wrote, as the nightly recompute does. A checkpoint
    # before each timed phase, so that none pays for another's dirty pages.
    recompute_rounds: list[float] = []
    reference_rounds: list[float] = []
    for round_number in range(1, options.rounds + 1):
        _checkpoint()
        recompute_log = StatementLog()
        with connection.execute_wrapper(recompute_log):
            recomputed, seconds = _timed(lambda: recompute(segment_id=segment_id))
        recompute_rounds.append(seconds)
        _checkpoint()
        reference, seconds = _timed(lambda: reference_scores(segment_id=segment_id, at=AT))
        reference_rounds.append(seconds)
        checked_after_recompute = agreement_check(
            reference=reference, product_side=product_scores(segment_id=segment_id),
            when=f"after the full recompute (round {round_number})",
        )  # fmt: skip
    recompute_seconds = statistics.median(recompute_rounds)
    reference_seconds = statistics.median(reference_rounds)

    members = sorted(reference)
    sample = sorted(random.Random(f"sample:{options.seed}").sample(
        members, min(options.naive_sample, len(members))
    ))  # fmt: skip
    naive, naive_seconds = _timed(
        lambda: naive_scores(segment_id=segment_id, at=AT, account_ids=sample)
    )
    checked_naive = agreement_check(
        reference={a: reference[a] for a in sample}, product_side=naive,
        when="the naive ORM loop",
    )  # fmt: skip
    naive_scaled = naive_seconds * len(members) / max(1, len(sample))

    activities_add(
        seeded=seeded, count=options.new_activities, seed=options.seed, progress=options.progress
    )
    rollup_log = StatementLog()
    with connection.execute_wrapper(rollup_log):
        rolled, rollup_seconds = _timed(
            lambda: scores_rollup(segment_id=segment_id, at=AT, alerts=False)
        )
    checked_after_rollup = agreement_check(
        reference=reference_scores(segment_id=segment_id, at=AT),
        product_side=product_scores(segment_id=segment_id),
        when=f"after the incremental rollup of {options.new_activities:,} activities",
    )

    to_reference = recompute_seconds / reference_seconds
    naive_ratio = naive_scaled / recompute_seconds
    explained = ""
    if options.explain:
        statement, plan = explain_slowest(recompute_log)
        explained = f"{statement.summary()} ...\n{plan}"
    targets = {
        "recompute_to_reference": Target(
            description="full recompute / hand-written SQL",
            value=round(to_reference, 3),
            limit=TARGET_RECOMPUTE_TO_REFERENCE,
            met=to_reference <= TARGET_RECOMPUTE_TO_REFERENCE,
        ),
        "naive_to_recompute": Target(
            description="naive ORM loop (scaled) / full recompute",
            value=round(naive_ratio, 1),
            limit=TARGET_NAIVE_TO_RECOMPUTE,
            met=naive_ratio >= TARGET_NAIVE_TO_RECOMPUTE,
        ),
    }
    return RollupResult(
        accounts=options.accounts,
        members=seeded.members,
        contacts=options.contacts,
        activities=options.activities,
        new_activities=options.new_activities,
        history_days=HISTORY_DAYS,
        at=AT.isoformat(),
        seed=options.seed,
        seed_seconds=round(seeded.seconds, 3),
        recompute_seconds=round(recompute_seconds, 3),
        recompute_rounds=[round(x, 3) for x in recompute_rounds],
        recompute_accounts=recomputed.accounts_refreshed,
        reference_seconds=round(reference_seconds, 3),
        reference_rounds=[round(x, 3) for x in reference_rounds],
        recompute_to_reference=round(to_reference, 3),
        naive_sample=len(sample),
        naive_sample_seconds=round(naive_seconds, 3),
        naive_scaled_seconds=round(naive_scaled, 3),
        naive_to_recompute=round(naive_ratio, 1),
        rollup_seconds=round(rollup_seconds, 3),
        rollup_accounts=rolled.accounts_refreshed,
        recompute_breakdown=_breakdown(recompute_log, recompute_seconds),
        rollup_breakdown=_breakdown(rollup_log, rollup_seconds),
        recompute_slowest_plan=explained,
        checked_after_recompute=checked_after_recompute,
        checked_naive_sample=checked_naive,
        checked_after_rollup=checked_after_rollup,
        targets=targets,
        machine={
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "postgresql": _database_facts(),
            "load_average_at_start": load_at_start,
        },
    )
