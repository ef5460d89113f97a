"""The demo's fixed catalogue: users, segments, firmographic pools, titles,
campaigns and their programs (effect, reach, cost). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import BuyingRole, JobFunction, Seniority
from accounts.roles import EXECUTIVE, MARKETER, SALES
from campaigns.models import CampaignObjective, Channel
from demo.dataset import DemoSegment, DemoUser
from engagement.models import ActivityType, default_activity_weights, default_seniority_multipliers

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
# An account in a buying cycle (its in-market window) looks at what buying
# needs: these types' weights in both mixes above are multiplied by the
# factor for its days in market. Form fills are not among them, so the old
# MQL rule does not see the cycle any better than before.
IN_MARKET_MIX_FACTORS: dict[str, float] = {
    ActivityType.PRICING_PAGE_VIEW: 3.0,
    ActivityType.DEMO_REQUEST: 4.0,
    ActivityType.MEETING_HELD: 2.0,
}
# ... and its buying committee forms: the people who sign and pay, and those
# who can stop it, join the research (a contact's propensity is multiplied by
# its role's factor for the account's days in market).
IN_MARKET_ROLE_FACTORS: dict[str, float] = {
    BuyingRole.DECISION_MAKER: 4.0,
    BuyingRole.ECONOMIC_BUYER: 4.0,
    BuyingRole.BLOCKER: 2.0,
    BuyingRole.TECHNICAL_EVALUATOR: 1.5,
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

# What each program plants in pipeline, by tracking key: for EFFECT_DAYS from
# an account's first touch by the program, its daily hazard of opening an
# opportunity is multiplied by 1 + this (issue 19, part 5: "what converts" must
# find this order). The order follows the programs' effect on activity, so
# the demo tells one story: dinners, the summit and the webinar convert;
# display retargeting does nothing.
DEAL_LIFTS: dict[str, float] = {
    "demo-saas-exec-dinners": 3.0,
    "demo-hi-summit": 2.5,
    "demo-fs-risk-webinar": 2.0,
    "demo-hi-outbound": 1.5,
    "demo-fs-cfo-kit": 1.0,
    "demo-saas-linkedin": 0.5,
    "demo-saas-buyers-guide": 0.4,
    "demo-hi-search": 0.3,
    "demo-fs-nurture": 0.2,
    "demo-saas-display": 0.0,
}

# Program index -> its spec, in the order demo_dataset_generate numbers programs.
PROGRAM_SPECS: tuple[_ProgramSpec, ...] = tuple(
    program for campaign in CAMPAIGNS for program in campaign.programs
)
ACTIVITY_WEIGHTS: dict[str, float] = {
    str(k): float(v) for k, v in default_activity_weights().items()
}
SENIORITY_MULTIPLIERS: dict[str, float] = default_seniority_multipliers()
EVENT_NAMES: dict[str, str] = {str(value): str(label) for value, label in ActivityType.choices}
