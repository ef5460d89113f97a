"""Demo data drawn from a stated generating process (docs/demo-data.md).

Pure: plain dataclasses from `random.Random`, no queries and no writes, so the
same (accounts, seed, today) always yields the same data and the process can
be tested without a database. demo.services.demo_seed writes it.

The modules: `dataset` (the parameters and the dataclasses), `catalogue`
(the fixed users, segments, campaigns and programs), `draws` (small random
draws and formatting), this one (the dataset: accounts, contacts, campaigns,
targets, spend) and `histories` (activity and opportunities day by day, the
true effects, the junk activity).

The process, in order:

1. Accounts get firmographics, a tier, an owner and a latent *intent*
   (lognormal, scaled by tier); some get a buying cycle (an "in-market"
   window, `DemoAccount.surge`).
2. Fit against each ICP segment comes from accounts.fit; an account joins a
   segment by the product's rule (its required criteria, which say what the
   segment's name says, and the minimum fit); an account outside every ICP
   is in none.
3. Three campaigns target the A/B-fit accounts of their segments; a seeded
   10% holdout per campaign gets no program touches at all.
4. Each program reaches a share of the treated targets; from an account's
   first touch its organic activity rate is multiplied by (1 + effect) for
   EFFECT_DAYS days. Programs differ in effect, reach and cost.
5. Day by day, an account's activity count is Poisson(base * intent *
   weekday * surge * program effects). In a buying cycle the mix leans to
   pricing, demos and meetings and the committee (deciders, payers) joins
   in. The daily hazard of opening an opportunity is H_BASE + H_MAX *
   min(1, E / ENGAGEMENT_SATURATION) ** 2, with E the running decayed
   engagement (DESIGN 4 weights, 30-day half-life), plus H_IN_MARKET ramped
   over IN_MARKET_RAMP_DAYS in a buying cycle, times 1 + each touching
   program's planted deal lift (catalogue.DEAL_LIFTS) for EFFECT_DAYS.
6. Deal size depends on tier and segment, win rate on fit grade and tier,
   cycle length on tier.

Each account and day draws from its own random stream, with Poisson counts by
inversion, so `campaign_true_effects` can generate a treated account's history
again without a campaign and get the same history minus what the campaign
caused: the true effect that the lift report estimates.

Large volumes stream: `demo_histories` yields one account's activities and
opportunities at a time from that account's own random stream, so memory
stays flat however many accounts are asked for.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

from accounts.fit import segment_member
from accounts.models import BuyingRole, JobFunction, Seniority
from campaigns.holdout import HOLDOUT_FRACTION_DEFAULT, holdout_draw
from campaigns.models import ProgramStatus
from demo.catalogue import (
    C_LEVEL_TITLES,
    CAMPAIGNS,
    COUNTRIES,
    DEMO_USERS,
    FIRST_NAMES,
    FREE_MAIL_DOMAINS,
    FUNCTION_WEIGHTS,
    INDUSTRIES,
    LAST_NAMES,
    NAME_PREFIXES,
    OWNER_WEIGHTS,
    ROLE_PROPENSITY,
    ROLE_WEIGHTS_BY_SENIORITY,
    SEGMENTS,
    SENIORITY_WEIGHTS,
    SUFFIXES,
)
from demo.dataset import (
    CUSTOMER_SHARE,
    INTENT_SIGMA,
    JUNK_REASON,
    SOURCE_NAME,
    SURGE_DAYS,
    SURGE_PROBABILITY,
    TIER_INTENT,
    WINDOW_DAYS,
    WINDOW_DAYS_MAX,
    DemoAccount,
    DemoCampaign,
    DemoContact,
    DemoDataset,
    DemoMembership,
    DemoProgram,
    DemoSpend,
    DemoTarget,
    DemoTouchPlan,
)
from demo.draws import (
    contact_title,
    demo_holdout_seed,
    email_local,
    ip_address,
    money,
    poisson,
    slug,
    weighted,
)

# --- The dataset ----------------------------------------------------------------


def _accounts_generate(
    rng: random.Random, *, count: int, seed: int, days: int
) -> tuple[list[DemoAccount], list[DemoMembership]]:
    industry_weights = {name: spec[0] for name, spec in INDUSTRIES.items()}
    names: set[str] = set()
    accounts: list[DemoAccount] = []
    memberships: list[DemoMembership] = []
    for index in range(count):
        industry = weighted(rng, industry_weights)
        _, revenue_per_head, words = INDUSTRIES[industry]
        name = f"{rng.choice(NAME_PREFIXES)} {rng.choice(words)}"
        suffixes = iter(SUFFIXES)
        while name in names:
            suffix = next(suffixes, None)
            name = f"{name} {suffix}" if suffix else f"{name} {index}"
        names.add(name)
        employees = int(min(120_000, max(15, rng.lognormvariate(math.log(600), 1.2))))
        revenue = money(employees * revenue_per_head * rng.lognormvariate(0, 0.3), step=1000)
        country = weighted(rng, COUNTRIES)
        tier = 1 if employees >= 2000 else 2 if employees >= 250 else 3
        shift = rng.random()
        # Tiers are a sales judgement, not just headcount: some move a step.
        if shift < 0.08:
            tier = max(1, tier - 1)
        elif shift > 0.92:
            tier = min(3, tier + 1)
        is_customer = rng.random() < CUSTOMER_SHARE
        owner = weighted(rng, OWNER_WEIGHTS)
        intent = rng.lognormvariate(0, INTENT_SIGMA) * TIER_INTENT[tier]
        surge: tuple[int, int] | None = None
        # One buying cycle at most; its chance grows with the history's length.
        if rng.random() < min(0.95, SURGE_PROBABILITY * days / WINDOW_DAYS):
            start = rng.randrange(0, days - 30)
            surge = (start, start + rng.randint(*SURGE_DAYS))
        firmographics = {
            "industry": industry,
            "employees": employees,
            "annual_revenue": float(revenue),
            "country": country,
            "is_customer": is_customer,
        }
        domain = f"{slug(name)}.example"
        # Members by the product's own rule (accounts.fit.segment_member): every
        # required criterion met and the segment's minimum fit, so a segment
        # holds what its name says; an account outside every ICP is in none.
        joined = [
            (segment, fit)
            for segment in SEGMENTS
            if (fit := segment_member(criteria=segment.criteria, firmographics=firmographics))
        ]
        primary = max(joined, key=lambda item: item[1].score, default=None)
        for segment, fit in joined:
            memberships.append(DemoMembership(segment.name, domain, fit.score, fit.grade))
        anonymous_count = rng.randint(2, 5)
        accounts.append(
            DemoAccount(
                index=index,
                name=name,
                domain=domain,
                industry=industry,
                employees=employees,
                annual_revenue=revenue,
                country=country,
                tier=tier,
                is_customer=is_customer,
                is_target=False,
                owner_username=owner,
                intent=intent,
                surge=surge,
                primary_segment=primary[0].name if primary else None,
                primary_grade=primary[1].grade if primary else "D",
                anonymous_ids=tuple(
                    f"anon-{seed}-{index}-{slot}" for slot in range(anonymous_count)
                ),
                ips=tuple(ip_address(index, slot) for slot in range(anonymous_count)),
            )
        )
    return accounts, memberships


def _contacts_generate(rng: random.Random, *, accounts: Sequence[DemoAccount]) -> list[DemoContact]:
    contacts: list[DemoContact] = []
    for account in accounts:
        used: set[str] = set()
        for position in range(rng.randint(6, 10)):
            # Every buying team has someone senior enough to sign.
            if position == 0:
                seniority = rng.choice((Seniority.C_LEVEL, Seniority.VP))
            else:
                seniority = weighted(rng, SENIORITY_WEIGHTS)
            if seniority == Seniority.C_LEVEL:
                job_function = rng.choice(list(C_LEVEL_TITLES))
            else:
                job_function = weighted(rng, FUNCTION_WEIGHTS)
            role = weighted(rng, ROLE_WEIGHTS_BY_SENIORITY[seniority])
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            local = f"{email_local(first)}.{email_local(last)}"
            candidate, number = local, 1
            while candidate in used:
                number += 1
                candidate = f"{local}{number}"
            used.add(candidate)
            contacts.append(
                DemoContact(
                    email=f"{candidate}@{account.domain}",
                    first_name=first,
                    last_name=last,
                    title=contact_title(
                        seniority=seniority, job_function=job_function, variant=rng.randrange(12)
                    ),
                    seniority=str(seniority),
                    job_function=str(job_function),
                    buying_role=str(role),
                    country=account.country,
                    account_index=account.index,
                    propensity=ROLE_PROPENSITY[role] * rng.lognormvariate(0, 0.5),
                )
            )
    return contacts


def _junk_contacts_generate(rng: random.Random, *, count: int) -> list[DemoContact]:
    junk = []
    for number in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        domain = FREE_MAIL_DOMAINS[number % len(FREE_MAIL_DOMAINS)]
        junk.append(
            DemoContact(
                email=f"{email_local(first)}.{email_local(last)}{number + 1}@{domain}",
                first_name=first,
                last_name=last,
                title="",
                seniority=str(Seniority.UNKNOWN),
                job_function=str(JobFunction.UNKNOWN),
                buying_role=str(BuyingRole.UNKNOWN),
                country="",
                # DESIGN 4: free-mail without an account is junk.
                account_index=None,
                is_junk=True,
                junk_reason=JUNK_REASON,
            )
        )
    return junk


def _program_status(starts_on: date, ends_on: date, today: date) -> str:
    if ends_on < today:
        return ProgramStatus.COMPLETED
    if starts_on <= today:
        return ProgramStatus.ACTIVE
    return ProgramStatus.PLANNED


def _spend_lines(rng: random.Random, *, program: DemoProgram, today: date) -> list[DemoSpend]:
    """Monthly cost lines pro rata over the program's days up to yesterday."""
    total_days = (program.ends_on - program.starts_on).days + 1
    last = min(program.ends_on, today - timedelta(days=1))
    lines: list[DemoSpend] = []
    start = program.starts_on
    number = 0
    while start <= last:
        next_month = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
        end = min(last, next_month - timedelta(days=1))
        days = (end - start).days + 1
        amount = float(program.cost) * days / total_days * rng.uniform(0.9, 1.1)
        lines.append(
            DemoSpend(
                external_id=f"demo-spend-{program.tracking_key}-{number}",
                program_tracking_key=program.tracking_key,
                spent_on=end,
                amount=money(amount),
                description=f"{program.name}, {start:%B %Y}",
            )
        )
        number += 1
        start = next_month
    return lines


def demo_dataset_generate(
    *, accounts: int, seed: int, today: date, days: int = WINDOW_DAYS
) -> DemoDataset:
    """Everything but the activity histories, which `demo_histories` streams.
    `days` of history end at `today`; the campaigns run in the last 365."""
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    if not WINDOW_DAYS <= days <= WINDOW_DAYS_MAX:
        raise ValueError(f"days must be {WINDOW_DAYS} to {WINDOW_DAYS_MAX}, not {days}")
    rng = random.Random(seed)
    window_start = today - timedelta(days=days)
    last_day = days - 1
    # Program days in the catalogue count from the start of the last 365.
    shift = days - WINDOW_DAYS

    account_list, memberships = _accounts_generate(rng, count=accounts, seed=seed, days=days)
    contacts = _contacts_generate(rng, accounts=account_list)
    contacts += _junk_contacts_generate(rng, count=max(2, accounts // 25))

    grades = {(m.segment_name, m.account_domain): m.fit_grade for m in memberships}
    segment_names = {segment.key: segment.name for segment in SEGMENTS}
    campaigns: list[DemoCampaign] = []
    programs: list[DemoProgram] = []
    targets: list[DemoTarget] = []
    spend: list[DemoSpend] = []
    target_indexes: set[int] = set()
    plans: dict[int, list[DemoTouchPlan]] = {}
    for spec in CAMPAIGNS:
        names = tuple(segment_names[key] for key in spec.segment_keys)
        targeted = [
            account
            for account in account_list
            if any(grades.get((name, account.domain)) in ("A", "B") for name in names)
        ]
        domains = [account.domain for account in targeted]
        holdout_seed = demo_holdout_seed(keys=domains, first_seed=rng.getrandbits(31))
        holdout = holdout_draw(domains, fraction=HOLDOUT_FRACTION_DEFAULT, seed=holdout_seed)
        treated = [account for account in targeted if account.domain not in holdout]
        for account in targeted:
            targets.append(DemoTarget(spec.name, account.domain, account.domain in holdout))
            target_indexes.add(account.index)
        campaign_programs = []
        for program_spec in spec.programs:
            first_day, end_day = program_spec.start + shift, program_spec.end + shift
            starts_on = window_start + timedelta(days=first_day)
            ends_on = window_start + timedelta(days=end_day)
            program = DemoProgram(
                index=len(programs),
                campaign_name=spec.name,
                name=program_spec.name,
                channel=str(program_spec.channel),
                starts_on=starts_on,
                ends_on=ends_on,
                tracking_key=program_spec.key,
                status=_program_status(starts_on, ends_on, today),
                effect=program_spec.effect,
                reach=program_spec.reach,
                cost=money(
                    max(1.0, program_spec.reach * len(treated)) * program_spec.cost_per_account,
                    step=100,
                ),
                cost_per_account=money(program_spec.cost_per_account),
            )
            programs.append(program)
            campaign_programs.append(program)
            spend += _spend_lines(rng, program=program, today=today)
            touch_end = min(end_day, last_day)
            if first_day > touch_end:
                continue
            # A running program has reached only the share of its accounts
            # that its elapsed days allow.
            elapsed = (touch_end - first_day + 1) / (end_day - first_day + 1)
            # Holdout accounts are never in `treated`: they get no touch at all.
            for account in treated:
                if rng.random() >= program_spec.reach * elapsed:
                    continue
                first = rng.randint(first_day, touch_end)
                extra = poisson(rng, program_spec.touches - 1)
                later = sorted(rng.randint(first, min(first + 60, touch_end)) for _ in range(extra))
                plans.setdefault(account.index, []).append(
                    DemoTouchPlan(program.index, (first, *later))
                )
        campaigns.append(
            DemoCampaign(
                name=spec.name,
                objective=str(spec.objective),
                description=spec.description,
                starts_on=min(p.starts_on for p in campaign_programs),
                ends_on=max(p.ends_on for p in campaign_programs),
                budget=money(float(sum(p.cost for p in campaign_programs)) * 1.1, step=1000),
                holdout_fraction=HOLDOUT_FRACTION_DEFAULT,
                holdout_seed=holdout_seed,
                owner_username="marketer",
                segment_names=names,
            )
        )

    account_list = [
        replace(account, is_target=account.index in target_indexes) for account in account_list
    ]
    key_rng = random.Random(f"demo:{seed}:source")
    return DemoDataset(
        seed=seed,
        today=today,
        window_start=window_start,
        window_days=days,
        source_name=SOURCE_NAME,
        source_write_key=f"demo_{key_rng.getrandbits(128):032x}",
        users=DEMO_USERS,
        segments=SEGMENTS,
        accounts=tuple(account_list),
        memberships=tuple(memberships),
        contacts=tuple(contacts),
        campaigns=tuple(campaigns),
        programs=tuple(programs),
        targets=tuple(targets),
        spend=tuple(spend),
        touch_plans={index: tuple(plan) for index, plan in plans.items()},
    )
