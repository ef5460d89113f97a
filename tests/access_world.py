"""The access matrix's world (tests/test_access_matrix.py): one user of each
role with a real hashed API token, a tracking source with a real write key, a
staff superuser for the admin, and a real object behind every id a route takes.

`World.fill(path)` puts ids into a row's path: `{campaign}` is the world's
campaign; `{fresh_campaign}` is a campaign made for that one request, for the
rows that delete or change what other rows read."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User

from accounts.api_tokens import api_token_create
from accounts.models import AccountFollow
from campaigns.models import CampaignTarget, PipelinePlan, RankingEntry, Spend
from core.models import Job
from engagement.models import Source
from engagement.services.sources import source_create
from imports.services import import_file_create
from tests.factories import (
    AccountEngagementFactory,
    AccountFactory,
    AlertFactory,
    CampaignFactory,
    ContactFactory,
    ICPSegmentFactory,
    OpportunityFactory,
    ProgramFactory,
    ScoringModelFactory,
    SegmentMembershipFactory,
    UserFactory,
)
from tests.web.ranking_portfolio import portfolio_of

PRINCIPALS = ("anon", "marketer", "sales", "exec", "norole", "key", "staff")
ROLES = {"marketer": "Marketer", "sales": "Sales", "exec": "Executive"}
PASSWORD = "correct horse battery staple"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Placeholders that stand for text, not an id.
TEXTS = {"period": "start=2026-01-01&end=2026-06-30"}


def _future_campaign(**fields: Any) -> Any:
    """A campaign that has not started (so its holdout may still be redrawn)."""
    today = dt.date.today()
    return CampaignFactory.create(
        starts_on=today + dt.timedelta(days=30), ends_on=today + dt.timedelta(days=120), **fields
    )


def _plan(name: str) -> PipelinePlan:
    return PipelinePlan.objects.create(
        name=name, period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 3, 31),
        revenue_target=Decimal("100000"), win_rate=Decimal("0.25"),
        average_deal_size=Decimal("20000"), cycle_time_days=60,
    )  # fmt: skip


@dataclass
class World:
    users: dict[str, User]
    tokens: dict[str, str]
    write_key: str
    ids: dict[str, int]
    fresh: dict[str, Callable[[World], int]] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def n(self) -> int:
        """A number new at each call, for names and values a write must change."""
        return next(self.counter)

    def fill(self, path: str) -> tuple[str, dict[str, int]]:
        """The path with its ids, and the ids by placeholder name."""
        used: dict[str, int] = {}

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in TEXTS:
                return TEXTS[name]
            if name not in used:
                used[name] = self.fresh[name](self) if name in self.fresh else self.ids[name]
            return str(used[name])

        return PLACEHOLDER.sub(one, path), used


def _fresh_source(world: World) -> int:
    return source_create(name=f"Fresh source {world.n()}").source.pk


def _fresh_spend(world: World) -> int:
    return Spend.objects.create(
        program_id=world.ids["program"], spent_on=dt.date(2026, 2, 1), amount=Decimal("10")
    ).pk


def _followed_account(world: World) -> int:
    """An account each role's user follows (so each may stop)."""
    account = AccountFactory.create()
    for name in (*ROLES, "norole"):
        AccountFollow.objects.create(user=world.users[name], account=account)
    return account.pk


def _targeted_campaign(world: World) -> int:
    campaign = _future_campaign()
    CampaignTarget.objects.create(campaign=campaign, account_id=world.ids["account"])
    return campaign.pk


FRESH: dict[str, Callable[[World], int]] = {
    "fresh_account": lambda w: AccountFactory.create().pk,
    "followed_account": _followed_account,
    "targeted_campaign": _targeted_campaign,
    "fresh_campaign": lambda w: _future_campaign().pk,
    "fresh_program": lambda w: ProgramFactory.create(campaign_id=w.ids["campaign"]).pk,
    "fresh_spend": _fresh_spend,
    "fresh_plan": lambda w: _plan(f"Fresh plan {w.n()}").pk,
    "fresh_source": _fresh_source,
}


def world_build() -> World:
    users: dict[str, User] = {
        name: UserFactory.create(username=f"matrix-{name}", groups=[role])
        for name, role in ROLES.items()
    }
    users["norole"] = UserFactory.create(username="matrix-norole")  # signed in, in no group
    users["staff"] = UserFactory.create(username="matrix-staff", is_staff=True, is_superuser=True)
    UserFactory.create(username="matrix-visitor")  # signs in on the login row
    tokens = {name: api_token_create(user_id=users[name].pk)[1] for name in (*ROLES, "norole")}

    issued = source_create(name="Website")
    Source.objects.filter(pk=issued.source.pk).update(rate_limit_per_second=1_000_000)

    segment = ICPSegmentFactory.create(name="Matrix segment")
    scoring_model = ScoringModelFactory.create(segment=segment)
    account = AccountFactory.create(name="Matrix account", domain="matrix.example")
    SegmentMembershipFactory.create(segment=segment, account=account)
    AccountEngagementFactory.create(account=account, segment=segment, scoring_model=scoring_model)
    contact = ContactFactory.create(account=account, email="junk@matrix.example")
    AlertFactory.create(account=account, segment=segment, recipient=users["marketer"])
    campaign = _future_campaign(name="Matrix campaign", segment=segment)
    program = ProgramFactory.create(campaign=campaign, name="Matrix program")
    spend = Spend.objects.create(
        program=program, spent_on=dt.date(2026, 2, 1), amount=Decimal("48213.57")
    )
    opportunity = OpportunityFactory.create(account=account)
    # A deal won in the year before the plans' period: what a plan is filled from.
    OpportunityFactory.create(
        account=account, status="won", opened_on=dt.date(2025, 3, 1), close_on=dt.date(2025, 6, 1)
    )
    # Accounts outside the tier the filters pick, to paste and upload as targets.
    for domain in ("paste.example", "upload.example"):
        AccountFactory.create(domain=domain, tier=1)
    plan = _plan("Matrix plan")
    run = portfolio_of(2)
    entry = RankingEntry.objects.filter(run=run, is_flagged=True).first()
    assert entry is not None, "the portfolio flags its bottom program"
    csv = b"name,domain\nImported,imported.example\n"
    imports = {
        kind: import_file_create(
            kind=kind, file_name=f"{kind}.csv", data=csv, created_by_id=users["marketer"].pk
        ).pk
        for kind in ("accounts", "contacts")
    }
    job = Job.objects.create(kind="matrix", label="Matrix job", created_by=users["marketer"])
    ids = {
        "account": account.pk, "contact": contact.pk, "segment": segment.pk,
        "scoring_model": scoring_model.pk, "campaign": campaign.pk, "program": program.pk,
        "spend": spend.pk, "opportunity": opportunity.pk, "plan": plan.pk, "run": run.pk,
        "entry": entry.pk, "import_accounts": imports["accounts"],
        "import_contacts": imports["contacts"], "job": job.pk, "source": issued.source.pk,
        "missing": 999_999,
    }  # fmt: skip
    return World(users=users, tokens=tokens, write_key=issued.write_key, ids=ids, fresh=FRESH)


def message_id() -> str:
    return f"matrix-{uuid.uuid4()}"
