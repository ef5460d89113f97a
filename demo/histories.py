"""Day-by-day histories of the demo accounts (activities and opportunities),
streamed one account at a time; each campaign's true effect; the junk
activity. Pure, like the rest of the process (demo.process)."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from accounts.junk import junk_exclusion_reason
from accounts.models import OpportunitySource, OpportunityStatus
from demo.catalogue import (
    ACTIVITY_WEIGHTS,
    ANONYMOUS_MIX,
    CONTENT_ASSETS,
    DEAL_LIFTS,
    EVENT_NAMES,
    HOUR_WEIGHTS,
    IN_MARKET_MIX_FACTORS,
    IN_MARKET_ROLE_FACTORS,
    JUNK_MIX,
    KNOWN_MIX,
    NO_SEGMENT_DEAL_FACTOR,
    OPEN_STAGES,
    PAGE_PATHS,
    PRODUCT_LINES,
    PROGRAM_SPECS,
    SENIORITY_MULTIPLIERS,
)
from demo.dataset import (
    ANONYMOUS_FACTOR,
    ANONYMOUS_SHARE,
    BASE_DAILY_RATE,
    CYCLE_MEDIAN_DAYS_BY_TIER,
    CYCLE_SIGMA,
    DEAL_MEDIAN_BY_TIER,
    DEAL_SIGMA,
    EFFECT_DAYS,
    ENGAGEMENT_SATURATION,
    EXPANSION_DEAL_FACTOR,
    H_BASE,
    H_IN_MARKET,
    H_MAX,
    HALF_LIFE_DAYS,
    IN_MARKET_RAMP_DAYS,
    REOPEN_COOLDOWN_DAYS,
    SURGE_MULTIPLIER,
    WEEKEND_FACTOR,
    WIN_RATE_BY_GRADE,
    WIN_RATE_TIER_FACTOR,
    DemoAccount,
    DemoAccountHistory,
    DemoActivity,
    DemoContact,
    DemoDataset,
    DemoOpportunity,
)
from demo.draws import money, poisson_quantile, weighted
from engagement.models import ActivityType
from engagement.scoring import ScoringParameters, forward_term, normalised_score, raw_score

# --- Histories ------------------------------------------------------------------


def _moment(rng: random.Random, day: date) -> datetime:
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    return datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=UTC)


def _properties(rng: random.Random, activity_type: str) -> dict[str, Any]:
    if activity_type == ActivityType.PAGE_VIEW:
        return {"path": rng.choice(PAGE_PATHS)}
    if activity_type == ActivityType.PRICING_PAGE_VIEW:
        return {"path": "/pricing"}
    if activity_type == ActivityType.CONTENT_DOWNLOAD:
        return {"asset": rng.choice(CONTENT_ASSETS)}
    return {}


def engagement_points(*, activity_type: str, seniority: str | None) -> float:
    """An activity's points as DESIGN 4 counts them; `seniority` None means anonymous."""
    weight = ACTIVITY_WEIGHTS.get(activity_type, 0.0)
    if seniority is None:
        return weight * ANONYMOUS_FACTOR
    return weight * SENIORITY_MULTIPLIERS.get(seniority, 1.0)


def opportunity_hazard(engagement: float, *, days_in_market: int | None = None) -> float:
    """Daily probability of opening an opportunity at `engagement` decayed points,
    `days_in_market` days into the account's buying cycle (None: not in one).

    The engaged part is quadratic, not linear: doubling engagement roughly
    quadruples it. The buying cycle's part climbs over IN_MARKET_RAMP_DAYS
    (a committee forms before it asks for a proposal), then holds.
    """
    share = min(1.0, max(0.0, engagement) / ENGAGEMENT_SATURATION)
    hazard = H_BASE + H_MAX * share**2
    if days_in_market is not None:
        hazard += H_IN_MARKET * min(1.0, (days_in_market + 1) / IN_MARKET_RAMP_DAYS)
    return hazard


def _days_in_market(account: DemoAccount, day: int) -> int | None:
    """Days since the account's in-market window began, or None outside it."""
    if account.surge and account.surge[0] <= day < account.surge[1]:
        return day - account.surge[0]
    return None


def _in_market_weights(mix: dict[str, float]) -> list[float]:
    return [weight * IN_MARKET_MIX_FACTORS.get(kind, 1.0) for kind, weight in mix.items()]


def _daily_rates(dataset: DemoDataset, account: DemoAccount) -> list[float]:
    programs = dataset.programs
    weekday_of_start = dataset.window_start.weekday()
    rates = []
    boosts: list[tuple[int, float]] = [
        (plan.days[0], programs[plan.program_index].effect)
        for plan in dataset.touch_plans.get(account.index, ())
    ]
    for day in range(dataset.window_days):
        rate = BASE_DAILY_RATE * account.intent
        if (weekday_of_start + day) % 7 >= 5:
            rate *= WEEKEND_FACTOR
        if _days_in_market(account, day) is not None:
            rate *= SURGE_MULTIPLIER
        for first, effect in boosts:
            if first <= day < first + EFFECT_DAYS:
                rate *= 1 + effect
        rates.append(rate)
    return rates


def _deal_multipliers(dataset: DemoDataset, account: DemoAccount) -> list[float]:
    """Each day's multiplier on the account's opportunity hazard: 1 + the
    program's planted deal lift (catalogue.DEAL_LIFTS) for EFFECT_DAYS from its
    first touch, multiplied over the programs that touched the account."""
    multipliers = [1.0] * dataset.window_days
    for plan in dataset.touch_plans.get(account.index, ()):
        lift = DEAL_LIFTS.get(dataset.programs[plan.program_index].tracking_key, 0.0)
        for day in range(plan.days[0], min(dataset.window_days, plan.days[0] + EFFECT_DAYS)):
            multipliers[day] *= 1 + lift
    return multipliers


def _history_generate(
    dataset: DemoDataset, account: DemoAccount, contacts: Sequence[DemoContact]
) -> DemoAccountHistory:
    # Each account and day draws from its own stream, so histories can be
    # produced (and written) one at a time in any order with the same result,
    # and a change on one day (a campaign's touches) leaves the others' draws
    # alone: the history without a campaign is the same history minus its part.
    rng = random.Random()
    seed = dataset.seed
    stream = (seed * 1_000_003 + account.index) * 1024
    rates = _daily_rates(dataset, account)
    deal_multipliers = _deal_multipliers(dataset, account)
    known_types, known_weights = list(KNOWN_MIX), list(KNOWN_MIX.values())
    anon_types, anon_weights = list(ANONYMOUS_MIX), list(ANONYMOUS_MIX.values())
    contact_weights = [contact.propensity for contact in contacts]
    # In a buying cycle the mix leans to buying and the committee joins in.
    cycle_known = _in_market_weights(KNOWN_MIX)
    cycle_anon = _in_market_weights(ANONYMOUS_MIX)
    cycle_contacts = [
        contact.propensity * IN_MARKET_ROLE_FACTORS.get(contact.buying_role, 1.0)
        for contact in contacts
    ]
    touches_by_day: dict[int, list[int]] = {}
    for plan in dataset.touch_plans.get(account.index, ()):
        for day in plan.days:
            touches_by_day.setdefault(day, []).append(plan.program_index)
    decay = math.exp(-math.log(2) / HALF_LIFE_DAYS)
    primary = next((s for s in dataset.segments if s.name == account.primary_segment), None)
    deal_factor = primary.deal_factor if primary else NO_SEGMENT_DEAL_FACTOR
    last_day = dataset.window_days - 1

    activities: list[DemoActivity] = []
    opportunities: list[DemoOpportunity] = []
    engagement = 0.0
    blocked_until = -1
    number = 0
    for day in range(dataset.window_days):
        rng.seed(stream + day)
        on = dataset.day(day)
        in_market = _days_in_market(account, day)
        known_w, anon_w, contact_w = (
            (known_weights, anon_weights, contact_weights)
            if in_market is None
            else (cycle_known, cycle_anon, cycle_contacts)
        )
        # (moment, type, contact or None, anonymous slot, program index or None)
        events: list[tuple[datetime, str, DemoContact | None, int, int | None]] = []
        for _ in range(poisson_quantile(rng.random(), rates[day])):
            if rng.random() < ANONYMOUS_SHARE:
                kind = rng.choices(anon_types, weights=anon_w)[0]
                slot = rng.randrange(len(account.anonymous_ids))
                events.append((_moment(rng, on), kind, None, slot, None))
            else:
                kind = rng.choices(known_types, weights=known_w)[0]
                contact = rng.choices(contacts, weights=contact_w)[0]
                events.append((_moment(rng, on), kind, contact, 0, None))
        for program_index in touches_by_day.get(day, ()):
            spec = PROGRAM_SPECS[program_index]
            kinds, weights = zip(*spec.mix, strict=True)
            kind = rng.choices(kinds, weights=weights)[0]
            if rng.random() < spec.anonymous_share:
                slot = rng.randrange(len(account.anonymous_ids))
                events.append((_moment(rng, on), kind, None, slot, program_index))
            else:
                contact = rng.choices(contacts, weights=contact_w)[0]
                events.append((_moment(rng, on), kind, contact, 0, program_index))
        events.sort(key=lambda event: event[0])
        for moment, kind, actor, slot, touch_index in events:
            number += 1
            program = dataset.programs[touch_index] if touch_index is not None else None
            properties = _properties(rng, kind)
            if program is not None:
                properties = {
                    **properties,
                    "utm_campaign": program.tracking_key,
                    "utm_medium": program.channel,
                }
            activities.append(
                DemoActivity(
                    message_id=f"demo-{seed}-{account.index}-{number}",
                    type=kind,
                    occurred_at=moment,
                    account_domain=account.domain,
                    contact_email=actor.email if actor else None,
                    anonymous_id="" if actor else account.anonymous_ids[slot],
                    ip=None if actor else account.ips[slot],
                    tracking_key=program.tracking_key if program else "",
                    event_name=EVENT_NAMES[kind],
                    properties=properties,
                )
            )
            engagement += engagement_points(
                activity_type=kind, seniority=actor.seniority if actor else None
            )
        hazard = min(
            1.0,
            opportunity_hazard(engagement, days_in_market=in_market) * deal_multipliers[day],
        )
        # Draw every day, blocked or not, so one deal's timing does not
        # reshuffle every later random number of the account.
        draw = rng.random()
        if day >= blocked_until and draw < hazard:
            opportunity, decided = _opportunity_open(
                rng,
                dataset=dataset,
                account=account,
                day=day,
                number=len(opportunities) + 1,
                from_engagement=draw >= H_BASE,
                deal_factor=deal_factor,
            )
            opportunities.append(opportunity)
            blocked_until = (
                decided + REOPEN_COOLDOWN_DAYS if decided <= last_day else dataset.window_days
            )
        engagement *= decay
    return DemoAccountHistory(account.index, activities, opportunities)


def _opportunity_open(
    rng: random.Random,
    *,
    dataset: DemoDataset,
    account: DemoAccount,
    day: int,
    number: int,
    from_engagement: bool,
    deal_factor: float,
) -> tuple[DemoOpportunity, int]:
    if from_engagement:
        source = weighted(
            rng,
            {
                OpportunitySource.MARKETING: 0.75,
                OpportunitySource.SALES: 0.2,
                OpportunitySource.OTHER: 0.05,
            },
        )
    else:
        source = weighted(
            rng,
            {
                OpportunitySource.SALES: 0.65,
                OpportunitySource.PARTNER: 0.25,
                OpportunitySource.OTHER: 0.1,
            },
        )
    product_line = rng.choice(PRODUCT_LINES)
    amount = DEAL_MEDIAN_BY_TIER[account.tier] * deal_factor * rng.lognormvariate(0, DEAL_SIGMA)
    if account.is_customer:
        amount *= EXPANSION_DEAL_FACTOR
    cycle = max(
        14,
        round(rng.lognormvariate(math.log(CYCLE_MEDIAN_DAYS_BY_TIER[account.tier]), CYCLE_SIGMA)),
    )
    win_rate = WIN_RATE_BY_GRADE[account.primary_grade] * WIN_RATE_TIER_FACTOR[account.tier]
    won = rng.random() < win_rate
    # Lost deals die a little earlier than won ones close.
    decided = day + (cycle if won else max(7, round(cycle * rng.uniform(0.6, 1.0))))
    opened_on = dataset.day(day)
    if decided <= dataset.window_days - 1:
        status = OpportunityStatus.WON if won else OpportunityStatus.LOST
        crm_stage = "Closed Won" if won else "Closed Lost"
        close_on = dataset.day(decided)
    else:
        status = OpportunityStatus.OPEN
        elapsed = (dataset.today - opened_on).days / cycle
        crm_stage = next(stage for bound, stage in OPEN_STAGES if elapsed < bound)
        # Expected close date of an open deal.
        close_on = dataset.day(day + cycle)
    kind = "expansion" if account.is_customer else "new business"
    return (
        DemoOpportunity(
            external_id=f"demo-opp-{dataset.seed}-{account.index}-{number}",
            account_domain=account.domain,
            name=f"{account.name}: {product_line} ({kind})",
            amount=money(amount, step=500),
            status=str(status),
            opened_on=opened_on,
            close_on=close_on,
            source=str(source),
            crm_stage=crm_stage,
            product_line=product_line,
        ),
        decided,
    )


def _contacts_by_account(dataset: DemoDataset) -> dict[int, list[DemoContact]]:
    by_account: dict[int, list[DemoContact]] = {}
    for contact in dataset.contacts:
        if contact.account_index is not None:
            by_account.setdefault(contact.account_index, []).append(contact)
    return by_account


def demo_histories(dataset: DemoDataset) -> Iterator[DemoAccountHistory]:
    """Each account's twelve months of activity and its opportunities, one account at a time."""
    by_account = _contacts_by_account(dataset)
    for account in dataset.accounts:
        yield _history_generate(dataset, account, by_account[account.index])


# The scoring model every demo segment gets (DESIGN 4 defaults).
DEMO_SCORING = ScoringParameters(
    activity_weights=ACTIVITY_WEIGHTS, seniority_multipliers=SENIORITY_MULTIPLIERS
)


def history_score(
    activities: Sequence[DemoActivity], contacts: Sequence[DemoContact], at: datetime
) -> int:
    """An account's engagement score at `at` from its generated activity, by
    DESIGN 4's pure formulas (engagement.scoring) with the default model."""
    seniority = {contact.email: contact.seniority for contact in contacts}
    params = DEMO_SCORING
    by_contact: dict[str, float] = {}
    anonymous = 0.0
    for activity in activities:
        if activity.occurred_at >= at or activity.excluded_reason:
            continue
        email = activity.contact_email
        term = forward_term(
            weight=params.weight(activity.type),
            multiplier=params.multiplier(seniority[email]) if email else 1.0,
            occurred_at=activity.occurred_at, landmark=at, rate=params.decay_rate,
        )  # fmt: skip
        if email:
            by_contact[email] = by_contact.get(email, 0.0) + term
        else:
            anonymous += term
    raw = raw_score(contact_points=by_contact.values(), anonymous_points=anonymous,
                    cap=params.contact_cap, anonymous_factor=params.anonymous_factor)  # fmt: skip
    return normalised_score(raw, params.scale)


@dataclass(frozen=True, slots=True)
class DemoTrueEffect:
    """A campaign's true effect on engagement over its measured period."""

    campaign_name: str
    start: date  # the period lift measures: the campaign's first day
    end: date  # to its last day, or `--today` while it runs
    treated: int
    # Mean over the treated targets of (score change with the campaign's touches)
    # minus (score change of the same history without them).
    effect: float
    # Mean score change of the treated targets as generated (with the campaign).
    treated_change: float


def campaign_true_effects(dataset: DemoDataset) -> dict[str, DemoTrueEffect]:
    """Each campaign's true effect on its treated targets' engagement score change
    from the end of its first day to the end of its last (or of `--today`).

    The generator knows the counterfactual: every treated target's history is
    generated again without the campaign's touch plans (so without its touches
    and their boost of organic activity). Days draw from their own streams and
    a Poisson draw never falls as its rate rises, so the second history is the
    first minus what the campaign caused. The lift report estimates this
    effect by treated minus holdout, as the holdout stands for the same accounts
    untouched.
    """
    by_account = _contacts_by_account(dataset)
    accounts = {account.domain: account for account in dataset.accounts}
    effects = {}
    for campaign in dataset.campaigns:
        programs = {p.index for p in dataset.programs if p.campaign_name == campaign.name}
        end = min(campaign.ends_on, dataset.today)
        at_start, at_end = (
            datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
            for day in (campaign.starts_on, end)
        )
        differences, observed = [], []
        for target in dataset.targets:
            if target.campaign_name != campaign.name or target.in_holdout:
                continue
            account = accounts[target.account_domain]
            plans = dataset.touch_plans.get(account.index, ())
            kept = tuple(plan for plan in plans if plan.program_index not in programs)
            contacts = by_account[account.index]
            without = replace(dataset, touch_plans={**dataset.touch_plans, account.index: kept})
            # Never touched: the two histories are one.
            worlds = (dataset,) if len(kept) == len(plans) else (dataset, without)
            change = []
            for world in worlds:
                history = _history_generate(world, account, contacts).activities
                change.append(
                    history_score(history, contacts, at_end)
                    - history_score(history, contacts, at_start)
                )
            observed.append(float(change[0]))
            differences.append(float(change[0] - change[-1]))
        count = len(differences)
        effects[campaign.name] = DemoTrueEffect(
            campaign.name, campaign.starts_on, end, count,
            math.fsum(differences) / count if count else 0.0,
            math.fsum(observed) / count if count else 0.0,
        )  # fmt: skip
    return effects


def demo_junk_activities(dataset: DemoDataset) -> list[DemoActivity]:
    """Activity of the junk contacts: stored with the reason, counted zero (DESIGN 4)."""
    rng = random.Random(f"demo:{dataset.seed}:junk")
    types, weights = list(JUNK_MIX), list(JUNK_MIX.values())
    activities = []
    for number, contact in enumerate(c for c in dataset.contacts if c.is_junk):
        for position in range(rng.randint(5, 20)):
            kind = rng.choices(types, weights=weights)[0]
            activities.append(
                DemoActivity(
                    message_id=f"demo-{dataset.seed}-junk-{number}-{position + 1}",
                    type=kind,
                    occurred_at=_moment(rng, dataset.day(rng.randrange(dataset.window_days))),
                    account_domain=None,
                    contact_email=contact.email,
                    event_name=EVENT_NAMES[kind],
                    properties=_properties(rng, kind),
                    excluded_reason=junk_exclusion_reason(contact.junk_reason),
                )
            )
    return activities
