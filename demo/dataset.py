"""What the demo data is: the parameters of its generating process
(docs/demo-data.md explains each) and the plain dataclasses it yields. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from engagement import scoring

# --- Parameters of the process (docs/demo-data.md explains each) -------------

# Days of history by default (seed_demo --days); the campaigns run in the last
# 365 of them, whatever the length.
WINDOW_DAYS = 365
WINDOW_DAYS_MAX = 1095
# Organic activities per weekday of an account with intent 1 and no surge.
BASE_DAILY_RATE = 0.40
WEEKEND_FACTOR = 0.25
INTENT_SIGMA = 0.8
TIER_INTENT = {1: 1.3, 2: 1.0, 3: 0.75}
SURGE_PROBABILITY = 0.35
SURGE_MULTIPLIER = 2.5
SURGE_DAYS = (60, 150)
ANONYMOUS_SHARE = 0.25
# The lift a program's first touch gives lasts as long as DESIGN 5's influence window.
EFFECT_DAYS = 90
# Engagement as the scorer sees it: the default model's (engagement.scoring owns them).
HALF_LIFE_DAYS = scoring.HALF_LIFE_DAYS_DEFAULT
SCORE_SCALE = scoring.SCALE_DEFAULT
ANONYMOUS_FACTOR = scoring.ANONYMOUS_FACTOR_DEFAULT
# Daily probability of opening an opportunity: a floor (outbound, partners),
# a part that grows with engagement, and a part for an account in a buying
# cycle (its in-market window), which reaches H_IN_MARKET after
# IN_MARKET_RAMP_DAYS of it: deals come from accounts that are buying, and
# engagement volume alone also rises with steady intent that never buys.
H_BASE = 0.0002
H_MAX = 0.006
H_IN_MARKET = 0.015
IN_MARKET_RAMP_DAYS = 45
# Decayed points at which the hazard reaches H_BASE + H_MAX and stops rising.
ENGAGEMENT_SATURATION = 220.0
# Days after a deal closes before the account can open the next one.
REOPEN_COOLDOWN_DAYS = 30
DEAL_MEDIAN_BY_TIER = {1: 90_000, 2: 40_000, 3: 15_000}
DEAL_SIGMA = 0.5
EXPANSION_DEAL_FACTOR = 0.5
WIN_RATE_BY_GRADE = {"A": 0.36, "B": 0.28, "C": 0.20, "D": 0.12}
WIN_RATE_TIER_FACTOR = {1: 0.85, 2: 1.0, 3: 1.15}
CYCLE_MEDIAN_DAYS_BY_TIER = {1: 110, 2: 70, 3: 40}
CYCLE_SIGMA = 0.35
CUSTOMER_SHARE = 0.12
# Fewest accounts in each arm of a demo campaign (Welch's interval needs two).
DEMO_HOLDOUT_MIN = 2
JUNK_REASON = "free-mail domain"

SOURCE_NAME = "Demo data"
ACCOUNT_TAG = "demo"

# --- Dataclasses --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoUser:
    username: str
    group: str | None
    first_name: str
    last_name: str
    is_superuser: bool = False

    @property
    def password(self) -> str:
        return f"demo-{self.username}"

    @property
    def email(self) -> str:
        return f"{self.username}@demo.example"

    @property
    def role(self) -> str:
        return self.group or ("Superuser" if self.is_superuser else "")


@dataclass(frozen=True, slots=True)
class DemoSegment:
    key: str
    name: str
    description: str
    criteria: dict[str, Any]
    deal_factor: float


@dataclass(frozen=True, slots=True)
class DemoAccount:
    index: int
    name: str
    domain: str
    industry: str
    employees: int
    annual_revenue: Decimal
    country: str
    tier: int
    is_customer: bool
    is_target: bool
    owner_username: str
    # Latent drivers: stated here so tests and docs can check what they cause.
    intent: float
    surge: tuple[int, int] | None
    primary_segment: str | None
    primary_grade: str
    anonymous_ids: tuple[str, ...]
    ips: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DemoMembership:
    segment_name: str
    account_domain: str
    fit_score: int
    fit_grade: str


@dataclass(frozen=True, slots=True)
class DemoContact:
    email: str
    first_name: str
    last_name: str
    title: str
    seniority: str
    job_function: str
    buying_role: str
    country: str
    account_index: int | None
    is_junk: bool = False
    junk_reason: str = ""
    # Relative share of the account's known-contact activity.
    propensity: float = 1.0


@dataclass(frozen=True, slots=True)
class DemoCampaign:
    name: str
    objective: str
    description: str
    starts_on: date
    ends_on: date
    budget: Decimal
    holdout_fraction: Decimal
    holdout_seed: int
    owner_username: str
    segment_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DemoProgram:
    index: int
    campaign_name: str
    name: str
    channel: str
    starts_on: date
    ends_on: date
    tracking_key: str
    status: str
    # Multiplier - 1 on a touched account's organic activity rate for EFFECT_DAYS.
    effect: float
    # Share of the campaign's treated targets the program touches.
    reach: float
    # Planned cost: cost per account * reach * treated targets, so spend
    # scales with the demo's size and pipeline per spend does not.
    cost: Decimal
    cost_per_account: Decimal


@dataclass(frozen=True, slots=True)
class DemoTarget:
    campaign_name: str
    account_domain: str
    in_holdout: bool


@dataclass(frozen=True, slots=True)
class DemoSpend:
    external_id: str
    program_tracking_key: str
    spent_on: date
    amount: Decimal
    description: str


@dataclass(frozen=True, slots=True)
class DemoTouchPlan:
    program_index: int
    # Days (offsets from the window start) with a touch; the first is the first touch.
    days: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class DemoActivity:
    message_id: str
    type: str
    occurred_at: datetime
    account_domain: str | None
    contact_email: str | None
    anonymous_id: str = ""
    ip: str | None = None
    tracking_key: str = ""
    event_name: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    excluded_reason: str = ""


@dataclass(frozen=True, slots=True)
class DemoOpportunity:
    external_id: str
    account_domain: str
    name: str
    amount: Decimal
    status: str
    opened_on: date
    close_on: date
    source: str
    crm_stage: str
    product_line: str


@dataclass(frozen=True, slots=True)
class DemoAccountHistory:
    account_index: int
    activities: list[DemoActivity]
    opportunities: list[DemoOpportunity]


@dataclass(frozen=True, slots=True)
class DemoDataset:
    seed: int
    today: date
    window_start: date
    window_days: int
    source_name: str
    source_write_key: str
    users: tuple[DemoUser, ...]
    segments: tuple[DemoSegment, ...]
    accounts: tuple[DemoAccount, ...]
    memberships: tuple[DemoMembership, ...]
    contacts: tuple[DemoContact, ...]
    campaigns: tuple[DemoCampaign, ...]
    programs: tuple[DemoProgram, ...]
    targets: tuple[DemoTarget, ...]
    spend: tuple[DemoSpend, ...]
    touch_plans: dict[int, tuple[DemoTouchPlan, ...]]

    def day(self, offset: int) -> date:
        return self.window_start + timedelta(days=offset)
