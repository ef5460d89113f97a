"""The fault check's data, on its private database: the seed (a source with a
write key, accounts with contacts in one scored segment) and the checks made
after the faults (every message stored once, nothing unscored, every score
equal to a full recompute).

These run in the check's own process against the private cluster through
`private_database`, which stands a connection to it in for the default one
while the block runs, with Celery tasks run in-process: nothing here reaches
the database or broker the process was configured with.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from celery import current_app
from django.db import connections
from django.db.utils import load_backend
from django.utils import timezone

from accounts.models import Account, Contact, Seniority
from accounts.services import segment_memberships_refresh
from bench.server import HOST
from engagement.models import (
    AccountEngagement,
    Activity,
    ActivityPending,
    ContactEngagement,
    IPRange,
)
from engagement.networks import network_bounds
from engagement.rollup.recompute import scores_recompute, scores_refresh
from engagement.services.segments import segment_create
from engagement.services.sources import source_create

SEGMENT_NAME = "Fault check"
USER_PREFIX = "fault-user-"
SENIORITIES = (Seniority.C_LEVEL, Seniority.VP, Seniority.DIRECTOR, Seniority.MANAGER,
               Seniority.OTHER)  # fmt: skip
# Sums the rollup added term by term and the recompute summed at once differ
# by summation order only: within this relative difference they are the same
# (the bound of the rollup's own property test, tests/engagement/test_rollup_property.py).
RELATIVE_TOLERANCE = 1e-9


@contextmanager
def private_database(port: int) -> Iterator[None]:
    """The default connection goes to the private cluster's database, and Celery
    tasks run eagerly (in this process, on it), until the block ends."""
    working = connections["default"]
    configured = connections.configure_settings(
        {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "engage_faults",
                "USER": "postgres",
                "HOST": HOST,
                "PORT": str(port),
                "OPTIONS": {"connect_timeout": 5},
            }
        }
    )["default"]
    private = load_backend(configured["ENGINE"]).DatabaseWrapper(configured, alias="default")
    conf = current_app.conf
    eager = conf.task_always_eager
    connections["default"] = private
    conf.task_always_eager = True
    try:
        yield
    finally:
        conf.task_always_eager = eager
        private.close()
        connections["default"] = working


def account_network(number: int) -> str:
    """The first three octets of account `number`'s /24 (public-looking space)."""
    return f"{20 + number // 200}.{number % 200}.7"


@dataclass(frozen=True)
class Seeded:
    write_key: str
    source_id: int
    segment_id: int
    users: list[str]
    # An address in each account's network (an IPRange): anonymous visits from
    # it are the account's.
    addresses: list[str]


def seed(*, accounts: int, contacts_per_account: int) -> Seeded:
    """A source, `accounts` accounts of `contacts_per_account` contacts each (known
    to tracking by user id) and a network each (anonymous visits from it are the
    account's), all members of one scored segment, scored once so the rollups
    after it are incremental."""
    issued = source_create(name="Fault check")
    segment = segment_create(
        values={
            "name": SEGMENT_NAME,
            "criteria": {"all": [{"field": "industry", "op": "in", "value": ["Software"]}]},
        },
        refresh_members=False,
    )
    created = Account.objects.bulk_create(
        Account(name=f"Fault account {n}", domain=f"fault-{n}.example", industry="Software",
                employees=500)
        for n in range(accounts)
    )  # fmt: skip
    users: list[str] = []
    people = []
    for account in created:
        for _ in range(contacts_per_account):
            user = f"{USER_PREFIX}{len(users)}"
            users.append(user)
            people.append(
                Contact(account=account, external_id=user, email=f"{user}@{account.domain}",
                        email_domain=str(account.domain),
                        seniority=SENIORITIES[len(users) % len(SENIORITIES)])
            )  # fmt: skip
    Contact.objects.bulk_create(people)
    ranges = [network_bounds(f"{account_network(n)}.0/24") for n in range(accounts)]
    IPRange.objects.bulk_create(
        IPRange(network=bounds.network, first_address=bounds.first_address,
                last_address=bounds.last_address, domain=str(account.domain))
        for bounds, account in zip(ranges, created, strict=True)
    )  # fmt: skip
    segment_memberships_refresh(segment_id=segment.pk)
    scores_recompute(segment_id=segment.pk, alerts=False)
    return Seeded(
        write_key=issued.write_key, source_id=issued.source.pk, segment_id=segment.pk, users=users,
        addresses=[f"{account_network(n)}.7" for n in range(accounts)],
    )  # fmt: skip


def stored_message_ids(*, source_id: int) -> Counter[str]:
    """How many activities of the source carry each message id."""
    return Counter(
        Activity.objects.filter(source_id=source_id).values_list("message_id", flat=True)
    )


def stored_mix(*, source_id: int) -> dict[str, int]:
    """The source's activities by who they are of: a contact, an anonymous
    visitor resolved to an account (by its network), neither."""
    rows = Activity.objects.filter(source_id=source_id)
    return {
        "contact": rows.filter(contact__isnull=False).count(),
        "anonymous_account": rows.filter(contact__isnull=True, account__isnull=False).count(),
        "unresolved": rows.filter(account__isnull=True).count(),
    }


def unscored() -> int:
    """Activity no rollup has claimed yet (the incremental rollup's pending rows)."""
    return ActivityPending.objects.filter(batch__isnull=True).count()


@dataclass
class ScoreComparison:
    accounts: int = 0
    contacts: int = 0
    exact: int = 0
    within_tolerance: int = 0
    mismatches: int = 0
    max_relative_difference: float = 0.0
    examples: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "contact_sums": self.contacts,
            "values_exact": self.exact,
            "values_within_tolerance": self.within_tolerance,
            "mismatches": self.mismatches,
            "max_relative_difference": self.max_relative_difference,
            "examples": self.examples or [],
        }


ACCOUNT_FIELDS = ("scoring_model_id", "landmark", "anonymous_decay_sum", "raw_score", "score",
                  "stage", "engaged_contacts", "roles_covered", "last_activity_at")  # fmt: skip
CONTACT_FIELDS = ("landmark", "decay_sum", "last_activity_at")


def _scores(segment_id: int) -> tuple[dict[Any, tuple[Any, ...]], dict[Any, tuple[Any, ...]]]:
    accounts = {
        row[0]: row[1:]
        for row in AccountEngagement.objects.filter(segment_id=segment_id).values_list(
            "account_id", *ACCOUNT_FIELDS
        )
    }
    contacts = {
        row[:2]: row[2:]
        for row in ContactEngagement.objects.filter(segment_id=segment_id).values_list(
            "account_id", "contact_id", *CONTACT_FIELDS
        )
    }
    return accounts, contacts


def _compare(
    kind: str, names: tuple[str, ...], kept: dict[Any, tuple[Any, ...]],
    full: dict[Any, tuple[Any, ...]], result: ScoreComparison,
) -> None:  # fmt: skip
    examples = result.examples if result.examples is not None else []
    result.examples = examples
    for key in kept.keys() | full.keys():
        if key not in kept or key not in full:
            result.mismatches += 1
            examples.append(
                f"{kind} {key}: only in {'the recompute' if key in full else 'the rollup'}"
            )
            continue
        for name, mine, theirs in zip(names, kept[key], full[key], strict=True):
            if mine == theirs:
                result.exact += 1
            elif isinstance(mine, float) and isinstance(theirs, float):
                difference = abs(mine - theirs) / max(1.0, abs(theirs))
                result.max_relative_difference = max(result.max_relative_difference, difference)
                if difference <= RELATIVE_TOLERANCE and math.isfinite(difference):
                    result.within_tolerance += 1
                else:
                    result.mismatches += 1
                    examples.append(f"{kind} {key} {name}: rollup {mine!r}, recompute {theirs!r}")
            else:
                result.mismatches += 1
                examples.append(f"{kind} {key} {name}: rollup {mine!r}, recompute {theirs!r}")
    del examples[10:]


def scores_against_recompute(*, segment_id: int, at: dt.datetime | None = None) -> ScoreComparison:
    """Every score the rollups left, re-scored at `at` from the sums they kept
    (as the daily refresh does), against a full recompute at the same `at`:
    every account's score, stage, breadth and sums, every contact's sum."""
    at = at or timezone.now()
    scores_refresh(segment_id=segment_id, at=at)
    kept_accounts, kept_contacts = _scores(segment_id)
    scores_recompute(segment_id=segment_id, at=at, alerts=False)
    full_accounts, full_contacts = _scores(segment_id)
    result = ScoreComparison(accounts=len(full_accounts), contacts=len(full_contacts))
    _compare("account", ACCOUNT_FIELDS, kept_accounts, full_accounts, result)
    _compare("contact", CONTACT_FIELDS, kept_contacts, full_contacts, result)
    return result
