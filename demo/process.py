"""Demo data drawn from a stated generating process (docs/demo-data.md).

Pure: plain dataclasses from `random.Random`, no queries and no writes, so the
same (accounts, seed, today) always yields the same data and the process can
be tested without a database. demo.services.demo_seed writes it.

The process, in order:

1. Accounts get firmographics, a tier, an owner and a latent *intent*
   (lognormal, scaled by tier); some get an "in-market" surge window.
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
   weekday * surge * program effects). A running decayed engagement E
   (DESIGN 4 weights, 30-day half-life) sets the daily hazard of opening an
   opportunity: H_BASE + H_MAX * min(1, E / ENGAGEMENT_SATURATION) ** 2.
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
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from statistics import NormalDist
from typing import Any

from accounts.fit import segment_member
from accounts.models import BuyingRole, JobFunction, OpportunitySource, OpportunityStatus, Seniority
from accounts.roles import EXECUTIVE, MARKETER, SALES
from campaigns.holdout import HOLDOUT_FRACTION_DEFAULT, holdout_draw
from campaigns.models import CampaignObjective, Channel, ProgramStatus
from engagement.models import ActivityType, default_activity_weights, default_seniority_multipliers
from engagement.scoring import ScoringParameters, forward_term, normalised_score, raw_score

# --- Parameters of the process (docs/demo-data.md explains each) -------------

WINDOW_DAYS = 365
# Organic activities per weekday of an account with intent 1 and no surge.
BASE_DAILY_RATE = 0.40
WEEKEND_FACTOR = 0.25
INTENT_SIGMA = 0.8
TIER_INTENT = {1: 1.3, 2: 1.0, 3: 0.75}
SURGE_PROBABILITY = 0.35
SURGE_MULTIPLIER = 2.5
SURGE_DAYS = (45, 120)
ANONYMOUS_SHARE = 0.25
# The lift a program's first touch gives lasts as long as DESIGN 5's influence window.
EFFECT_DAYS = 90
# Engagement as the scorer sees it (DESIGN 4 defaults).
HALF_LIFE_DAYS = 30.0
SCORE_SCALE = 50.0
ANONYMOUS_FACTOR = 0.5
# Daily probability of opening an opportunity: a floor (outbound, partners)
# plus a part that grows with the engagement score.
H_BASE = 0.0002
H_MAX = 0.02
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


# --- Fixed catalogue ------------------------------------------------------------

DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("marketer", MARKETER, "Maya", "Marsh"),
    DemoUser("sales", SALES, "Sam", "Sato"),
    DemoUser("executive", EXECUTIVE, "Eve", "Eriksen"),
    DemoUser("rep.ana", SALES, "Ana", "Alvarez"),
    DemoUser("rep.ben", SALES, "Ben", "Brooks"),
    DemoUser("rep.cho", SALES, "Cho", "Chen"),
    DemoUser("admin", None, "Ada", "Admin", is_superuser=True),
)
# The `sales` persona owns the largest book so its "my accounts" page is full.
OWNER_WEIGHTS = {"sales": 0.4, "rep.ana": 0.2, "rep.ben": 0.2, "rep.cho": 0.2}

SEGMENTS: tuple[DemoSegment, ...] = (
    DemoSegment(
        key="saas",
        name="Mid-market SaaS",
        description="Software and telecom firms of 200-2,000 people in English-speaking markets.",
        criteria={
            "all": [
                {
                    "field": "industry",
                    "op": "in",
                    "value": ["Software", "Telecommunications"],
                    "weight": 2,
                    "required": True,
                },
                # "Mid-market" is part of the name: a hard limit, not a preference.
                {
                    "field": "employees",
                    "op": "between",
                    "value": [200, 2000],
                    "weight": 1,
                    "required": True,
                },
                {"field": "country", "op": "in", "value": ["US", "CA", "GB", "IE"], "weight": 1},
            ]
        },
        deal_factor=1.0,
    ),
    DemoSegment(
        key="fs",
        name="Enterprise financial services",
        description="Banks and insurers with 1,000+ people or $250M+ revenue.",
        criteria={
            "all": [
                {
                    "field": "industry",
                    "op": "in",
                    "value": ["Financial Services", "Insurance"],
                    "weight": 2,
                    "required": True,
                },
                {"field": "employees", "op": "gte", "value": 1000, "weight": 1},
                {"field": "annual_revenue", "op": "gte", "value": 250_000_000, "weight": 1},
            ],
            # "Enterprise": the industry and at least one of the two size criteria.
            "min_fit": 75,
        },
        deal_factor=1.4,
    ),
    DemoSegment(
        key="hls",
        name="Healthcare & life sciences",
        description="Providers and pharma of 500-20,000 people in the US, UK and Germany.",
        criteria={
            "all": [
                {
                    "field": "industry",
                    "op": "in",
                    "value": ["Healthcare", "Pharmaceuticals"],
                    "weight": 2,
                    "required": True,
                },
                {"field": "employees", "op": "between", "value": [500, 20000], "weight": 1},
                {"field": "country", "op": "in", "value": ["US", "GB", "DE"], "weight": 1},
            ]
        },
        deal_factor=1.2,
    ),
    DemoSegment(
        key="industrial",
        name="Industrial & logistics",
        description="European manufacturers and logistics firms of 1,000+ people.",
        criteria={
            "all": [
                {
                    "field": "industry",
                    "op": "in",
                    "value": ["Manufacturing", "Logistics"],
                    "weight": 2,
                    "required": True,
                },
                {"field": "employees", "op": "gte", "value": 1000, "weight": 1},
                {"field": "country", "op": "in", "value": ["DE", "NL", "FR"], "weight": 1},
            ]
        },
        deal_factor=0.9,
    ),
)
NO_SEGMENT_DEAL_FACTOR = 0.8

# industry -> (share of accounts, revenue per employee in USD, words for names)
INDUSTRIES: dict[str, tuple[float, int, tuple[str, ...]]] = {
    "Software": (0.20, 300_000, ("Software", "Analytics", "Cloud", "Systems", "Labs")),
    "Telecommunications": (0.06, 400_000, ("Telecom", "Networks", "Communications")),
    "Financial Services": (0.14, 600_000, ("Capital", "Bank", "Financial", "Partners")),
    "Insurance": (0.06, 500_000, ("Insurance", "Mutual", "Assurance")),
    "Healthcare": (0.14, 150_000, ("Health", "Medical", "Care")),
    "Pharmaceuticals": (0.06, 450_000, ("Pharma", "Therapeutics", "Biosciences")),
    "Manufacturing": (0.12, 250_000, ("Industries", "Manufacturing", "Components")),
    "Logistics": (0.07, 200_000, ("Logistics", "Freight", "Shipping")),
    "Retail": (0.08, 180_000, ("Retail", "Stores", "Brands")),
    "Education": (0.07, 120_000, ("Learning", "Academy", "Education")),
}
COUNTRIES = {
    "US": 0.45,
    "GB": 0.12,
    "DE": 0.10,
    "CA": 0.07,
    "FR": 0.07,
    "NL": 0.06,
    "IE": 0.03,
    "AU": 0.05,
    "JP": 0.03,
    "SG": 0.02,
}
NAME_PREFIXES = (
    "Northwind", "Bluepeak", "Ironclad", "Brightwater", "Cedar", "Summit", "Harbor", "Granite",
    "Silverline", "Redwood", "Lakeshore", "Evergreen", "Falcon", "Meridian", "Orion", "Pinnacle",
    "Quartz", "Riverstone", "Sterling", "Tidewater", "Unity", "Vantage", "Westbrook", "Zenith",
    "Aurora", "Beacon", "Cobalt", "Driftwood", "Ember", "Fjord", "Glacier", "Highland", "Indigo",
    "Juniper", "Keystone", "Lumen", "Maple", "Nimbus", "Oakridge", "Polar", "Crescent", "Ridge",
    "Sable", "Trident", "Upland", "Vertex", "Willow", "Yarrow", "Atlas", "Birch", "Canyon",
    "Delta", "Echo", "Frontier", "Galaxy", "Horizon", "Isle", "Jade", "Kestrel", "Lighthouse",
)  # fmt: skip
SUFFIXES = ("Group", "International", "Holdings", "Global")
FIRST_NAMES = (
    "Alex", "Priya", "Jordan", "Mei", "Carlos", "Fatima", "Liam", "Sofia", "Noah", "Aisha",
    "Lucas", "Yuki", "Ethan", "Amara", "Mateo", "Chloe", "Omar", "Hannah", "Ravi", "Elena",
    "Kwame", "Ingrid", "Diego", "Leila", "Samuel", "Zara", "Tomas", "Nadia", "Felix", "Grace",
    "Hiro", "Isabel", "Jonas", "Keiko", "Marcus", "Nora", "Pablo", "Rosa", "Stefan", "Tara",
    "Victor", "Wen", "Xavier", "Yara", "Anders", "Bianca", "Chen", "Dana", "Emil", "Freya",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Patel", "Garcia", "Nguyen", "Müller", "Okafor", "Rossi", "Tanaka", "Johnson",
    "Kim", "Silva", "Cohen", "Andersen", "Dubois", "Kowalski", "Haddad", "Murphy", "Singh",
    "Larsen", "Fischer", "Moreau", "Novak", "Ibrahim", "Costa", "Berg", "Yamamoto", "Walsh",
    "Schmidt", "Lopez", "Chowdhury", "Jensen", "Romero", "Schneider", "Osei", "Bianchi", "Park",
    "Ahmed", "Hughes", "Lindqvist", "Mendes", "Fernandez", "Wright", "Kovacs", "Sato", "Adeyemi",
)  # fmt: skip
FREE_MAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com")

SENIORITY_WEIGHTS = {
    Seniority.C_LEVEL: 0.08,
    Seniority.VP: 0.15,
    Seniority.DIRECTOR: 0.25,
    Seniority.MANAGER: 0.27,
    Seniority.OTHER: 0.20,
    Seniority.UNKNOWN: 0.05,
}
FUNCTION_WEIGHTS = {
    JobFunction.IT: 0.20,
    JobFunction.ENGINEERING: 0.15,
    JobFunction.MARKETING: 0.15,
    JobFunction.SALES: 0.10,
    JobFunction.FINANCE: 0.10,
    JobFunction.OPERATIONS: 0.12,
    JobFunction.PROCUREMENT: 0.06,
    JobFunction.HR: 0.04,
    JobFunction.OTHER: 0.05,
    JobFunction.UNKNOWN: 0.03,
}
ROLE_WEIGHTS_BY_SENIORITY: dict[str, dict[str, float]] = {
    Seniority.C_LEVEL: {
        BuyingRole.DECISION_MAKER: 0.5,
        BuyingRole.ECONOMIC_BUYER: 0.4,
        BuyingRole.INFLUENCER: 0.1,
    },
    Seniority.VP: {
        BuyingRole.DECISION_MAKER: 0.3,
        BuyingRole.ECONOMIC_BUYER: 0.25,
        BuyingRole.CHAMPION: 0.25,
        BuyingRole.INFLUENCER: 0.2,
    },
    Seniority.DIRECTOR: {
        BuyingRole.CHAMPION: 0.35,
        BuyingRole.INFLUENCER: 0.3,
        BuyingRole.TECHNICAL_EVALUATOR: 0.2,
        BuyingRole.BLOCKER: 0.08,
        BuyingRole.DECISION_MAKER: 0.07,
    },
    Seniority.MANAGER: {
        BuyingRole.CHAMPION: 0.25,
        BuyingRole.TECHNICAL_EVALUATOR: 0.3,
        BuyingRole.INFLUENCER: 0.25,
        BuyingRole.USER: 0.15,
        BuyingRole.BLOCKER: 0.05,
    },
    Seniority.OTHER: {
        BuyingRole.USER: 0.55,
        BuyingRole.TECHNICAL_EVALUATOR: 0.2,
        BuyingRole.INFLUENCER: 0.15,
        BuyingRole.UNKNOWN: 0.1,
    },
    Seniority.UNKNOWN: {
        BuyingRole.UNKNOWN: 0.7,
        BuyingRole.USER: 0.2,
        BuyingRole.INFLUENCER: 0.1,
    },
}
# Champions and hands-on evaluators read and click most; buyers sign, rarely browse.
ROLE_PROPENSITY = {
    BuyingRole.CHAMPION: 3.0,
    BuyingRole.USER: 2.0,
    BuyingRole.TECHNICAL_EVALUATOR: 2.0,
    BuyingRole.INFLUENCER: 1.5,
    BuyingRole.UNKNOWN: 1.0,
    BuyingRole.DECISION_MAKER: 0.8,
    BuyingRole.ECONOMIC_BUYER: 0.6,
    BuyingRole.BLOCKER: 0.5,
}
C_LEVEL_TITLES: dict[str, tuple[str, ...]] = {
    JobFunction.EXECUTIVE: ("Chief Executive Officer", "President"),
    JobFunction.MARKETING: ("Chief Marketing Officer",),
    JobFunction.SALES: ("Chief Revenue Officer",),
    JobFunction.IT: ("Chief Information Officer",),
    JobFunction.ENGINEERING: ("Chief Technology Officer",),
    JobFunction.FINANCE: ("Chief Financial Officer",),
    JobFunction.OPERATIONS: ("Chief Operating Officer",),
    JobFunction.HR: ("Chief People Officer",),
    JobFunction.PROCUREMENT: ("Chief Procurement Officer",),
}
FUNCTION_TITLE_WORD: dict[str, str] = {
    JobFunction.MARKETING: "Marketing",
    JobFunction.SALES: "Sales",
    JobFunction.IT: "IT",
    JobFunction.ENGINEERING: "Engineering",
    JobFunction.FINANCE: "Finance",
    JobFunction.OPERATIONS: "Operations",
    JobFunction.HR: "People",
    JobFunction.PROCUREMENT: "Procurement",
    JobFunction.OTHER: "Business",
}
INDIVIDUAL_TITLES: dict[str, tuple[str, ...]] = {
    JobFunction.MARKETING: ("Marketing Specialist", "Marketing Operations Analyst"),
    JobFunction.SALES: ("Account Executive", "Sales Operations Analyst"),
    JobFunction.IT: ("Systems Administrator", "IT Analyst"),
    JobFunction.ENGINEERING: ("Software Engineer", "Data Engineer"),
    JobFunction.FINANCE: ("Financial Analyst", "Accountant"),
    JobFunction.OPERATIONS: ("Operations Analyst", "Business Analyst"),
    JobFunction.HR: ("HR Generalist", "Recruiter"),
    JobFunction.PROCUREMENT: ("Buyer", "Procurement Specialist"),
    JobFunction.OTHER: ("Consultant", "Coordinator"),
    JobFunction.UNKNOWN: ("Consultant", "Associate"),
}
UNKNOWN_SENIORITY_TITLES = ("", "Consultant", "Team Member", "Associate")

# Organic activity mixes (relative weights).
KNOWN_MIX: dict[str, float] = {
    ActivityType.PAGE_VIEW: 30,
    ActivityType.PRICING_PAGE_VIEW: 5,
    ActivityType.CONTENT_DOWNLOAD: 5,
    ActivityType.WEBINAR_REGISTERED: 2,
    ActivityType.WEBINAR_ATTENDED: 1,
    ActivityType.AD_IMPRESSION: 16,
    ActivityType.AD_CLICK: 2,
    ActivityType.EMAIL_OPEN: 34,
    ActivityType.EMAIL_CLICK: 8,
    ActivityType.FORM_FILL: 2,
    ActivityType.DEMO_REQUEST: 0.5,
    ActivityType.EVENT_ATTENDED: 0.5,
    ActivityType.MEETING_HELD: 1.5,
    ActivityType.SOCIAL_ENGAGEMENT: 5,
    ActivityType.UNSUBSCRIBE: 0.4,
    ActivityType.HARD_BOUNCE: 0.2,
    ActivityType.OTHER: 0.4,
}
ANONYMOUS_MIX: dict[str, float] = {
    ActivityType.PAGE_VIEW: 60,
    ActivityType.PRICING_PAGE_VIEW: 8,
    ActivityType.AD_IMPRESSION: 26,
    ActivityType.AD_CLICK: 4,
    ActivityType.OTHER: 2,
}
JUNK_MIX: dict[str, float] = {
    ActivityType.PAGE_VIEW: 60,
    ActivityType.CONTENT_DOWNLOAD: 25,
    ActivityType.FORM_FILL: 10,
    ActivityType.WEBINAR_REGISTERED: 5,
}
PAGE_PATHS = ("/", "/product", "/solutions", "/customers", "/blog", "/integrations", "/security")
CONTENT_ASSETS = ("state-of-abm-report", "buyers-guide", "roi-calculator", "case-study-pack")
PRODUCT_LINES = ("Platform", "Analytics", "Integrations")
OPEN_STAGES = ((0.25, "Discovery"), (0.5, "Evaluation"), (0.75, "Proposal"), (1.01, "Negotiation"))
# Working hours weigh most; a little activity at night (other time zones, bots).
HOUR_WEIGHTS = tuple(
    1.0 if hour < 7 or hour > 20 else 4.0 if 9 <= hour <= 17 else 2.0 for hour in range(24)
)


@dataclass(frozen=True, slots=True)
class _ProgramSpec:
    name: str
    channel: str
    key: str
    start: int  # day offset from the window start
    end: int
    effect: float
    reach: float
    # Expected touches per touched account, first touch included.
    touches: float
    # What reaching one account costs (seats, media, kits, SDR time).
    cost_per_account: int
    anonymous_share: float
    mix: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class _CampaignSpec:
    name: str
    objective: str
    description: str
    segment_keys: tuple[str, ...]
    programs: tuple[_ProgramSpec, ...]


# Day offsets count from the window start (today - 365); the last campaign
# runs past today so the demo has active programs.
CAMPAIGNS: tuple[_CampaignSpec, ...] = (
    _CampaignSpec(
        name="Mid-market SaaS pipeline push",
        objective=CampaignObjective.PIPELINE,
        description="Pipeline from A/B-fit mid-market software accounts.",
        segment_keys=("saas",),
        programs=(
            _ProgramSpec(
                "Executive roundtable dinners",
                Channel.EVENT,
                "demo-saas-exec-dinners",
                start=110,
                end=200,
                effect=1.5,
                reach=0.25,
                touches=1.5,
                cost_per_account=2_000,
                anonymous_share=0.0,
                mix=((ActivityType.EVENT_ATTENDED, 7), (ActivityType.MEETING_HELD, 3)),
            ),
            _ProgramSpec(
                "LinkedIn sponsored content",
                Channel.PAID_SOCIAL,
                "demo-saas-linkedin",
                start=95,
                end=215,
                effect=0.35,
                reach=0.65,
                touches=4.0,
                cost_per_account=600,
                anonymous_share=0.5,
                mix=(
                    (ActivityType.AD_IMPRESSION, 5),
                    (ActivityType.AD_CLICK, 3),
                    (ActivityType.SOCIAL_ENGAGEMENT, 2),
                ),
            ),
            _ProgramSpec(
                "Display retargeting",
                Channel.DISPLAY,
                "demo-saas-display",
                start=95,
                end=215,
                effect=0.03,
                reach=0.75,
                touches=5.0,
                cost_per_account=1_800,
                anonymous_share=0.7,
                mix=((ActivityType.AD_IMPRESSION, 8), (ActivityType.AD_CLICK, 2)),
            ),
            _ProgramSpec(
                "Buyer's guide syndication",
                Channel.CONTENT_SYNDICATION,
                "demo-saas-buyers-guide",
                start=120,
                end=180,
                effect=0.25,
                reach=0.35,
                touches=1.3,
                cost_per_account=350,
                anonymous_share=0.0,
                mix=((ActivityType.CONTENT_DOWNLOAD, 1),),
            ),
        ),
    ),
    _CampaignSpec(
        name="Financial services webinar series",
        objective=CampaignObjective.ENGAGEMENT,
        description="Engage enterprise banks and insurers on risk and compliance.",
        segment_keys=("fs",),
        programs=(
            _ProgramSpec(
                "Risk & compliance webinar",
                Channel.WEBINAR,
                "demo-fs-risk-webinar",
                start=160,
                end=260,
                effect=0.9,
                reach=0.35,
                touches=2.0,
                cost_per_account=500,
                anonymous_share=0.0,
                mix=((ActivityType.WEBINAR_REGISTERED, 6), (ActivityType.WEBINAR_ATTENDED, 4)),
            ),
            _ProgramSpec(
                "Nurture email track",
                Channel.EMAIL,
                "demo-fs-nurture",
                start=160,
                end=300,
                effect=0.15,
                reach=0.85,
                touches=4.0,
                cost_per_account=40,
                anonymous_share=0.0,
                mix=((ActivityType.EMAIL_OPEN, 6), (ActivityType.EMAIL_CLICK, 4)),
            ),
            _ProgramSpec(
                "CFO direct-mail kit",
                Channel.DIRECT_MAIL,
                "demo-fs-cfo-kit",
                start=180,
                end=240,
                effect=0.6,
                reach=0.30,
                touches=1.5,
                cost_per_account=900,
                anonymous_share=0.2,
                mix=((ActivityType.PAGE_VIEW, 7), (ActivityType.FORM_FILL, 3)),
            ),
        ),
    ),
    _CampaignSpec(
        name="Healthcare & industrial expansion",
        objective=CampaignObjective.PIPELINE,
        description="Open healthcare, pharma, manufacturing and logistics accounts.",
        segment_keys=("hls", "industrial"),
        programs=(
            _ProgramSpec(
                "SDR outbound sequence",
                Channel.OUTBOUND,
                "demo-hi-outbound",
                start=250,
                end=395,
                effect=0.7,
                reach=0.50,
                touches=3.0,
                cost_per_account=450,
                anonymous_share=0.0,
                mix=(
                    (ActivityType.EMAIL_OPEN, 4),
                    (ActivityType.EMAIL_CLICK, 3),
                    (ActivityType.MEETING_HELD, 2),
                    (ActivityType.UNSUBSCRIBE, 0.3),
                    (ActivityType.HARD_BOUNCE, 0.3),
                ),
            ),
            _ProgramSpec(
                "Paid search: compliance keywords",
                Channel.SEARCH,
                "demo-hi-search",
                start=250,
                end=395,
                effect=0.2,
                reach=0.40,
                touches=2.5,
                cost_per_account=300,
                anonymous_share=0.6,
                mix=((ActivityType.AD_CLICK, 6), (ActivityType.PAGE_VIEW, 4)),
            ),
            _ProgramSpec(
                "Industry summit booth",
                Channel.EVENT,
                "demo-hi-summit",
                start=270,
                end=290,
                effect=1.0,
                reach=0.20,
                touches=1.2,
                cost_per_account=2_000,
                anonymous_share=0.0,
                mix=((ActivityType.EVENT_ATTENDED, 8), (ActivityType.MEETING_HELD, 2)),
            ),
        ),
    ),
)

# Program index -> its spec, in the order demo_dataset_generate numbers programs.
PROGRAM_SPECS: tuple[_ProgramSpec, ...] = tuple(
    program for campaign in CAMPAIGNS for program in campaign.programs
)
ACTIVITY_WEIGHTS: dict[str, float] = {
    str(k): float(v) for k, v in default_activity_weights().items()
}
SENIORITY_MULTIPLIERS: dict[str, float] = default_seniority_multipliers()
EVENT_NAMES: dict[str, str] = {str(value): str(label) for value, label in ActivityType.choices}


# --- Small pure helpers ---------------------------------------------------------


def demo_holdout_size(targets: int) -> int:
    """The holdout size the demo aims at: 10% of the list, at least DEMO_HOLDOUT_MIN."""
    return max(DEMO_HOLDOUT_MIN, round(float(HOLDOUT_FRACTION_DEFAULT) * targets))


def demo_holdout_seed(*, keys: Sequence[str], first_seed: int) -> int:
    """The campaign's holdout seed. The product's rule (campaigns.holdout) holds
    out a binomial number of accounts; the demo wants its campaigns to show
    lift with an interval on small lists, so it keeps `first_seed` only if the
    holdout it draws is `demo_holdout_size` accounts (within 1% of the list on
    lists of 100 or more), else takes the first seed of a sequence drawn from
    `first_seed` that does (the closest of 1,000 if none). Which accounts are
    held out stays the product's draw for the stored seed."""
    unique = sorted(set(keys))
    if len(unique) < 2 * DEMO_HOLDOUT_MIN:
        return first_seed
    wanted, tolerance = demo_holdout_size(len(unique)), len(unique) // 100
    candidates = random.Random(first_seed)
    seed, best, best_gap = first_seed, first_seed, len(unique)
    for _ in range(1000):
        gap = abs(len(holdout_draw(unique, fraction=HOLDOUT_FRACTION_DEFAULT, seed=seed)) - wanted)
        if gap <= tolerance:
            return seed
        if gap < best_gap:
            best, best_gap = seed, gap
        seed = candidates.getrandbits(31)
    return best


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw; `random` has none. Knuth below 30, normal approximation above."""
    if lam <= 0:
        return 0
    if lam >= 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit = math.exp(-lam)
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def poisson_quantile(u: float, lam: float) -> int:
    """The Poisson(lam) draw of the uniform `u`: the smallest k with P(X <= k) >= u
    (the normal approximation from 30). One uniform per draw, and a higher rate
    never gives fewer events for the same `u`, so an account's history with and
    without a campaign share their draws (`campaign_true_effects`)."""
    if lam <= 0:
        return 0
    if lam >= 30:
        clipped = min(max(u, 1e-12), 1 - 1e-12)
        return max(0, round(lam + math.sqrt(lam) * NormalDist().inv_cdf(clipped)))
    k, term = 0, math.exp(-lam)
    total = term
    while total < u and k < 1000:
        k += 1
        term *= lam / k
        total += term
    return k


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _email_local(text: str) -> str:
    # Contact emails are ASCII: "Müller" -> "muller".
    ascii_text = text.translate(str.maketrans("äöüåéøß", "aouaeos"))
    return re.sub(r"[^a-z0-9]+", "", ascii_text.lower())


def _weighted(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _money(value: float, step: int = 1) -> Decimal:
    return Decimal(int(round(value / step) * step)).quantize(Decimal("0.01"))


def contact_title(*, seniority: str, job_function: str, variant: int) -> str:
    """A job title consistent with seniority and function (variant picks among synonyms)."""
    if seniority == Seniority.C_LEVEL:
        titles = C_LEVEL_TITLES.get(job_function, C_LEVEL_TITLES[JobFunction.EXECUTIVE])
        return titles[variant % len(titles)]
    if seniority == Seniority.UNKNOWN:
        return UNKNOWN_SENIORITY_TITLES[variant % len(UNKNOWN_SENIORITY_TITLES)]
    word = FUNCTION_TITLE_WORD.get(job_function, "Business")
    if seniority == Seniority.VP:
        return (f"VP of {word}", f"Vice President, {word}")[variant % 2]
    if seniority == Seniority.DIRECTOR:
        return (f"Director of {word}", f"Senior Director, {word}")[variant % 2]
    if seniority == Seniority.MANAGER:
        return (f"{word} Manager", f"Senior {word} Manager")[variant % 2]
    titles = INDIVIDUAL_TITLES.get(job_function, INDIVIDUAL_TITLES[JobFunction.OTHER])
    return titles[variant % len(titles)]


def _ip(index: int, slot: int) -> str:
    # 198.18.0.0/15 is reserved for benchmarks, so demo IPs never point at a real network.
    offset = (index * 4 + slot) % (2**17)
    return f"198.{18 + offset // 65536}.{(offset // 256) % 256}.{offset % 256}"


# --- The dataset ----------------------------------------------------------------


def _accounts_generate(
    rng: random.Random, *, count: int, seed: int
) -> tuple[list[DemoAccount], list[DemoMembership]]:
    industry_weights = {name: spec[0] for name, spec in INDUSTRIES.items()}
    names: set[str] = set()
    accounts: list[DemoAccount] = []
    memberships: list[DemoMembership] = []
    for index in range(count):
        industry = _weighted(rng, industry_weights)
        _, revenue_per_head, words = INDUSTRIES[industry]
        name = f"{rng.choice(NAME_PREFIXES)} {rng.choice(words)}"
        suffixes = iter(SUFFIXES)
        while name in names:
            suffix = next(suffixes, None)
            name = f"{name} {suffix}" if suffix else f"{name} {index}"
        names.add(name)
        employees = int(min(120_000, max(15, rng.lognormvariate(math.log(600), 1.2))))
        revenue = _money(employees * revenue_per_head * rng.lognormvariate(0, 0.3), step=1000)
        country = _weighted(rng, COUNTRIES)
        tier = 1 if employees >= 2000 else 2 if employees >= 250 else 3
        shift = rng.random()
        # Tiers are a sales judgement, not just headcount: some move a step.
        if shift < 0.08:
            tier = max(1, tier - 1)
        elif shift > 0.92:
            tier = min(3, tier + 1)
        is_customer = rng.random() < CUSTOMER_SHARE
        owner = _weighted(rng, OWNER_WEIGHTS)
        intent = rng.lognormvariate(0, INTENT_SIGMA) * TIER_INTENT[tier]
        surge: tuple[int, int] | None = None
        if rng.random() < SURGE_PROBABILITY:
            start = rng.randrange(0, WINDOW_DAYS - 30)
            surge = (start, start + rng.randint(*SURGE_DAYS))
        firmographics = {
            "industry": industry,
            "employees": employees,
            "annual_revenue": float(revenue),
            "country": country,
            "is_customer": is_customer,
        }
        domain = f"{_slug(name)}.example"
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
                ips=tuple(_ip(index, slot) for slot in range(anonymous_count)),
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
                seniority = _weighted(rng, SENIORITY_WEIGHTS)
            if seniority == Seniority.C_LEVEL:
                job_function = rng.choice(list(C_LEVEL_TITLES))
            else:
                job_function = _weighted(rng, FUNCTION_WEIGHTS)
            role = _weighted(rng, ROLE_WEIGHTS_BY_SENIORITY[seniority])
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            local = f"{_email_local(first)}.{_email_local(last)}"
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
                email=f"{_email_local(first)}.{_email_local(last)}{number + 1}@{domain}",
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
                amount=_money(amount),
                description=f"{program.name}, {start:%B %Y}",
            )
        )
        number += 1
        start = next_month
    return lines


def demo_dataset_generate(*, accounts: int, seed: int, today: date) -> DemoDataset:
    """Everything but the activity histories, which `demo_histories` streams."""
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    rng = random.Random(seed)
    window_start = today - timedelta(days=WINDOW_DAYS)
    last_day = WINDOW_DAYS - 1

    account_list, memberships = _accounts_generate(rng, count=accounts, seed=seed)
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
            starts_on = window_start + timedelta(days=program_spec.start)
            ends_on = window_start + timedelta(days=program_spec.end)
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
                cost=_money(
                    max(1.0, program_spec.reach * len(treated)) * program_spec.cost_per_account,
                    step=100,
                ),
                cost_per_account=_money(program_spec.cost_per_account),
            )
            programs.append(program)
            campaign_programs.append(program)
            spend += _spend_lines(rng, program=program, today=today)
            touch_end = min(program_spec.end, last_day)
            if program_spec.start > touch_end:
                continue
            # A running program has reached only the share of its accounts
            # that its elapsed days allow.
            elapsed = (touch_end - program_spec.start + 1) / (
                program_spec.end - program_spec.start + 1
            )
            # Holdout accounts are never in `treated`: they get no touch at all.
            for account in treated:
                if rng.random() >= program_spec.reach * elapsed:
                    continue
                first = rng.randint(program_spec.start, touch_end)
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
                budget=_money(float(sum(p.cost for p in campaign_programs)) * 1.1, step=1000),
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


def opportunity_hazard(engagement: float) -> float:
    """Daily probability of opening an opportunity at `engagement` decayed points.

    Quadratic, not linear: deals come from accounts that are clearly in
    market, so doubling engagement roughly quadruples the engaged part.
    """
    share = min(1.0, max(0.0, engagement) / ENGAGEMENT_SATURATION)
    return H_BASE + H_MAX * share**2


def _daily_rates(dataset: DemoDataset, account: DemoAccount) -> list[float]:
    programs = dataset.programs
    weekday_of_start = dataset.window_start.weekday()
    rates = []
    boosts: list[tuple[int, float]] = [
        (plan.days[0], programs[plan.program_index].effect)
        for plan in dataset.touch_plans.get(account.index, ())
    ]
    for day in range(WINDOW_DAYS):
        rate = BASE_DAILY_RATE * account.intent
        if (weekday_of_start + day) % 7 >= 5:
            rate *= WEEKEND_FACTOR
        if account.surge and account.surge[0] <= day < account.surge[1]:
            rate *= SURGE_MULTIPLIER
        for first, effect in boosts:
            if first <= day < first + EFFECT_DAYS:
                rate *= 1 + effect
        rates.append(rate)
    return rates


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
    known_types, known_weights = list(KNOWN_MIX), list(KNOWN_MIX.values())
    anon_types, anon_weights = list(ANONYMOUS_MIX), list(ANONYMOUS_MIX.values())
    contact_weights = [contact.propensity for contact in contacts]
    touches_by_day: dict[int, list[int]] = {}
    for plan in dataset.touch_plans.get(account.index, ()):
        for day in plan.days:
            touches_by_day.setdefault(day, []).append(plan.program_index)
    decay = math.exp(-math.log(2) / HALF_LIFE_DAYS)
    primary = next((s for s in dataset.segments if s.name == account.primary_segment), None)
    deal_factor = primary.deal_factor if primary else NO_SEGMENT_DEAL_FACTOR
    last_day = WINDOW_DAYS - 1

    activities: list[DemoActivity] = []
    opportunities: list[DemoOpportunity] = []
    engagement = 0.0
    blocked_until = -1
    number = 0
    for day in range(WINDOW_DAYS):
        rng.seed(stream + day)
        on = dataset.day(day)
        # (moment, type, contact or None, anonymous slot, program index or None)
        events: list[tuple[datetime, str, DemoContact | None, int, int | None]] = []
        for _ in range(poisson_quantile(rng.random(), rates[day])):
            if rng.random() < ANONYMOUS_SHARE:
                kind = rng.choices(anon_types, weights=anon_weights)[0]
                slot = rng.randrange(len(account.anonymous_ids))
                events.append((_moment(rng, on), kind, None, slot, None))
            else:
                kind = rng.choices(known_types, weights=known_weights)[0]
                contact = rng.choices(contacts, weights=contact_weights)[0]
                events.append((_moment(rng, on), kind, contact, 0, None))
        for program_index in touches_by_day.get(day, ()):
            spec = PROGRAM_SPECS[program_index]
            kinds, weights = zip(*spec.mix, strict=True)
            kind = rng.choices(kinds, weights=weights)[0]
            if rng.random() < spec.anonymous_share:
                slot = rng.randrange(len(account.anonymous_ids))
                events.append((_moment(rng, on), kind, None, slot, program_index))
            else:
                contact = rng.choices(contacts, weights=contact_weights)[0]
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
        hazard = opportunity_hazard(engagement)
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
            blocked_until = decided + REOPEN_COOLDOWN_DAYS if decided <= last_day else WINDOW_DAYS
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
        source = _weighted(
            rng,
            {
                OpportunitySource.MARKETING: 0.75,
                OpportunitySource.SALES: 0.2,
                OpportunitySource.OTHER: 0.05,
            },
        )
    else:
        source = _weighted(
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
    if decided <= WINDOW_DAYS - 1:
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
            amount=_money(amount, step=500),
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
                    occurred_at=_moment(rng, dataset.day(rng.randrange(WINDOW_DAYS))),
                    account_domain=None,
                    contact_email=contact.email,
                    event_name=EVENT_NAMES[kind],
                    properties=_properties(rng, kind),
                    excluded_reason=f"junk contact: {contact.junk_reason}",
                )
            )
    return activities
