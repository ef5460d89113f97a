"""The demo seed: writes the dataset of `demo.process` through the accounts,
engagement and campaigns services, then scores it and backfills its history.

The demo app sits above those three; none of them imports it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model
from django.db import transaction
from tqdm import tqdm

from accounts import services as account_services
from accounts.models import Account, Contact, ICPSegment, Opportunity, SegmentMembership
from accounts.services import (
    AccountRow,
    ContactRow,
    MembershipRow,
    OpportunityRow,
    SegmentRow,
    accounts_bulk_upsert,
    contacts_bulk_upsert,
    opportunities_bulk_upsert,
    role_user_ensure,
    segment_memberships_bulk_upsert,
    segments_bulk_upsert,
)
from campaigns.models import Campaign, CampaignTarget, Program, Spend
from campaigns.services import (
    BATCH_SIZE,
    CampaignRow,
    ProgramRow,
    SpendRow,
    TargetRow,
    campaign_targets_bulk_upsert,
    campaigns_bulk_upsert,
    programs_bulk_upsert,
    spend_bulk_upsert,
)
from campaigns.touches import touches_recompute
from core.statement_timeout import statement_timeout_lifted
from demo.catalogue import DEMO_USERS
from demo.dataset import ACCOUNT_TAG, WINDOW_DAYS, DemoActivity, DemoOpportunity
from demo.histories import demo_histories, demo_junk_activities
from demo.process import demo_dataset_generate
from engagement.models import Activity, ScoringModel, Source
from engagement.rollup import baselines, recompute, scoring_models, snapshots
from engagement.services.activities import ActivityRow, activities_bulk_insert
from engagement.services.partitions import (
    activity_partitions_ensure,
    activity_statistics_refresh,
)
from engagement.services.segments import scoring_models_default_ensure
from engagement.services.sources import source_ensure
from readiness.services import readiness_models_train


@dataclass(frozen=True, slots=True)
class DemoLogin:
    username: str
    password: str
    role: str
    # False when the user already existed: its password was left as it was.
    created: bool


@dataclass(frozen=True, slots=True)
class DemoSeedResult:
    # Rows in each table after the seed (whole tables, not just demo rows).
    counts: dict[str, int]
    logins: tuple[DemoLogin, ...]
    activities_generated: int
    opportunities_generated: int
    seconds: float


def demo_logins() -> tuple[DemoLogin, ...]:
    """The demo users and their passwords, for printing when nothing is seeded."""
    return tuple(
        DemoLogin(user.username, user.password, user.role, created=False) for user in DEMO_USERS
    )


def table_counts() -> dict[str, int]:
    """Rows per table the demo seed writes, in the order the command prints them."""
    return {
        "users": get_user_model()._default_manager.count(),
        "accounts": Account.objects.count(),
        "contacts": Contact.objects.count(),
        "ICP segments": ICPSegment.objects.count(),
        "segment memberships": SegmentMembership.objects.count(),
        "scoring models": ScoringModel.objects.count(),
        "sources": Source.objects.count(),
        "activities": Activity.objects.count(),
        "campaigns": Campaign.objects.count(),
        "programs": Program.objects.count(),
        "campaign targets": CampaignTarget.objects.count(),
        "spend lines": Spend.objects.count(),
        "opportunities": Opportunity.objects.count(),
    }


def _activity_row(
    activity: DemoActivity, *, account_ids: dict[str, int], contact_ids: dict[str, int]
) -> ActivityRow:
    return ActivityRow(
        message_id=activity.message_id,
        type=activity.type,
        occurred_at=activity.occurred_at,
        account_id=account_ids[activity.account_domain] if activity.account_domain else None,
        contact_id=contact_ids[activity.contact_email] if activity.contact_email else None,
        anonymous_id=activity.anonymous_id,
        ip=activity.ip,
        tracking_key=activity.tracking_key,
        event_name=activity.event_name,
        properties=activity.properties,
        excluded_reason=activity.excluded_reason,
    )


@transaction.atomic
@statement_timeout_lifted()
def demo_seed(
    *, accounts: int, seed: int, today: date, progress: bool, days: int = WINDOW_DAYS
) -> DemoSeedResult:
    """Write the demo dataset of (accounts, seed, today, days of history);
    re-running adds nothing.

    Every row is keyed on its natural key (domain, email, names, tracking
    keys, external ids, message ids), so a second run with the same
    arguments updates rows in place and skips activities already stored.
    """
    started = time.monotonic()
    dataset = demo_dataset_generate(accounts=accounts, seed=seed, today=today, days=days)

    logins: list[DemoLogin] = []
    user_ids: dict[str, int] = {}
    for user in dataset.users:
        ensured = role_user_ensure(
            username=user.username,
            password=user.password,
            group_name=user.group,
            is_superuser=user.is_superuser,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
        )
        user_ids[user.username] = ensured.user_id
        logins.append(DemoLogin(user.username, user.password, user.role, ensured.created))

    segment_ids = segments_bulk_upsert(
        rows=[
            SegmentRow(
                name=segment.name, description=segment.description, criteria=segment.criteria
            )
            for segment in dataset.segments
        ]
    )
    scoring_models_default_ensure(segment_ids=segment_ids.values())

    account_ids = accounts_bulk_upsert(
        rows=[
            AccountRow(
                name=account.name,
                domain=account.domain,
                industry=account.industry,
                employees=account.employees,
                annual_revenue=account.annual_revenue,
                country=account.country,
                tier=account.tier,
                is_target=account.is_target,
                is_customer=account.is_customer,
                owner_id=user_ids[account.owner_username],
                tags=[ACCOUNT_TAG],
            )
            for account in dataset.accounts
        ]
    )
    segment_memberships_bulk_upsert(
        rows=[
            MembershipRow(
                segment_id=segment_ids[membership.segment_name],
                account_id=account_ids[membership.account_domain],
                fit_score=membership.fit_score,
            )
            for membership in dataset.memberships
        ]
    )
    domains = {account.index: account.domain for account in dataset.accounts}
    contact_ids = contacts_bulk_upsert(
        rows=[
            ContactRow(
                email=contact.email,
                first_name=contact.first_name,
                last_name=contact.last_name,
                title=contact.title,
                seniority=contact.seniority,
                job_function=contact.job_function,
                buying_role=contact.buying_role,
                country=contact.country,
                account_id=(
                    account_ids[domains[contact.account_index]]
                    if contact.account_index is not None
                    else None
                ),
                is_junk=contact.is_junk,
                junk_reason=contact.junk_reason,
            )
            for contact in dataset.contacts
        ]
    )

    campaign_ids = campaigns_bulk_upsert(
        rows=[
            CampaignRow(
                name=campaign.name,
                objective=campaign.objective,
                description=campaign.description,
                starts_on=campaign.starts_on,
                ends_on=campaign.ends_on,
                budget=campaign.budget,
                holdout_fraction=campaign.holdout_fraction,
                holdout_seed=campaign.holdout_seed,
                owner_id=user_ids[campaign.owner_username],
                # A campaign over several segments measures each target in its own
                # segment (the highest of its scores), not all in the first one.
                segment_id=segment_ids[campaign.segment_names[0]]
                if len(campaign.segment_names) == 1
                else None,
            )
            for campaign in dataset.campaigns
        ]
    )
    program_ids = programs_bulk_upsert(
        rows=[
            ProgramRow(
                campaign_id=campaign_ids[program.campaign_name],
                name=program.name,
                channel=program.channel,
                starts_on=program.starts_on,
                ends_on=program.ends_on,
                tracking_key=program.tracking_key,
                status=program.status,
            )
            for program in dataset.programs
        ]
    )
    campaign_targets_bulk_upsert(
        rows=[
            TargetRow(
                campaign_id=campaign_ids[target.campaign_name],
                account_id=account_ids[target.account_domain],
                in_holdout=target.in_holdout,
            )
            for target in dataset.targets
        ]
    )
    spend_bulk_upsert(
        rows=[
            SpendRow(
                external_id=line.external_id,
                program_id=program_ids[line.program_tracking_key],
                spent_on=line.spent_on,
                amount=line.amount,
                description=line.description,
            )
            for line in dataset.spend
        ]
    )

    source_id = source_ensure(name=dataset.source_name, write_key=dataset.source_write_key)
    # Histories stream account by account; activities are written whenever a
    # batch fills, so memory stays flat for large --accounts.
    buffer: list[ActivityRow] = []
    opportunities: list[DemoOpportunity] = []
    generated = 0
    with tqdm(
        total=len(dataset.accounts),
        desc="demo activity",
        unit="account",
        # None hides the bar when stderr is not a terminal (CI, tests, logs).
        disable=None if progress else True,
    ) as bar:
        for history in demo_histories(dataset):
            buffer.extend(
                _activity_row(activity, account_ids=account_ids, contact_ids=contact_ids)
                for activity in history.activities
            )
            opportunities.extend(history.opportunities)
            if len(buffer) >= BATCH_SIZE:
                activities_bulk_insert(source_id=source_id, rows=buffer, batch_size=BATCH_SIZE)
                generated += len(buffer)
                buffer = []
            bar.update(1)
    buffer.extend(
        _activity_row(activity, account_ids=account_ids, contact_ids=contact_ids)
        for activity in demo_junk_activities(dataset)
    )
    activities_bulk_insert(source_id=source_id, rows=buffer, batch_size=BATCH_SIZE)
    generated += len(buffer)
    # PostgreSQL: the history's months out of the default partition into their
    # own, and statistics that know the rows are there before the scoring reads them.
    activity_partitions_ensure()
    activity_statistics_refresh()

    opportunities_bulk_upsert(
        rows=[
            OpportunityRow(
                external_id=opportunity.external_id,
                account_id=account_ids[opportunity.account_domain],
                name=opportunity.name,
                amount=opportunity.amount,
                status=opportunity.status,
                opened_on=opportunity.opened_on,
                close_on=opportunity.close_on,
                source=opportunity.source,
                crm_stage=opportunity.crm_stage,
                product_line=opportunity.product_line,
            )
            for opportunity in opportunities
        ]
    )
    _demo_scores(today=today, first_day=dataset.window_start, progress=progress)
    # Touches are kept up by tasks as activity arrives; the demo's arrive at once.
    touches_recompute()
    _demo_readiness(today=today)
    return DemoSeedResult(
        counts=table_counts(),
        logins=tuple(logins),
        activities_generated=generated,
        opportunities_generated=len(opportunities),
        seconds=time.monotonic() - started,
    )


def _demo_readiness(*, today: date) -> None:
    """A readiness model (or an honest fallback, where the demo's history is
    too small) for each active segment that has none yet, so the account
    pages show readiness; then every member is scored (readiness_models_train
    does both). A re-run adds no version: a new one comes from the monthly
    schedule or the readiness page."""
    untrained = list(
        ICPSegment.objects.filter(is_active=True, readiness_models__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if untrained:
        readiness_models_train(segment_ids=untrained, today=today)


def _demo_scores(*, today: date, first_day: date, progress: bool) -> None:
    """Refresh segment membership, score the demo and backfill daily snapshots over
    its whole history (the window's first day to `today`), so trends and every
    campaign's lift read a snapshot on any day. History raises no alerts."""
    days = (today - first_day).days + 1
    # Scores are valid at the end of `today`, or now if today is not over: never later.
    at = snapshots.score_valid_at(today)
    segment_ids = scoring_models.segments_scored()
    for segment_id in segment_ids:
        # The product's membership rule, not the generator's guess, decides who is in.
        account_services.segment_memberships_refresh(segment_id=segment_id)
    with tqdm(total=len(segment_ids) * days, desc="demo scores", unit="day",
              disable=None if progress else True) as bar:  # fmt: skip
        for segment_id in segment_ids:
            recompute.scores_recompute(segment_id=segment_id, at=at, alerts=False)
            snapshots.snapshots_backfill(
                segment_id=segment_id, since=first_day, until=today, on_day=bar.update
            )
            # As the nightly run leaves them: the list by score change reads them.
            baselines.change_baselines_set(segment_id=segment_id, today=today)
