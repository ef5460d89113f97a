"""Accounts, their buying teams, ICP segments and opportunities.

Natural keys are stored normalised (accounts.normalise) and the database
refuses anything else, so `Example.com` and `www.example.com` can never become
a second account beside `example.com`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Concat, Lower

from core.csvimport import dates_out_of_range


class Account(models.Model):
    name = models.CharField(max_length=255)
    # Primary web domain, normalised: lower case, no scheme, no `www.`.
    domain = models.CharField(max_length=253, null=True, blank=True, unique=True)
    external_id = models.CharField(
        max_length=100, null=True, blank=True, unique=True, help_text="Id in the CRM."
    )
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code.")
    tier = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 (top) to 3.")
    tags = models.JSONField(default=list, blank=True)
    is_target = models.BooleanField(default=False)
    is_customer = models.BooleanField(default=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(domain__isnull=True)
                | (Q(domain=Lower("domain")) & ~Q(domain="") & ~Q(domain__startswith="www.")),
                name="account_domain_normalised",
                violation_error_message="Domain must be lower case without a www. prefix.",
            ),
            models.CheckConstraint(
                condition=Q(tier__isnull=True) | Q(tier__gte=1, tier__lte=3),
                name="account_tier_1_to_3",
            ),
            models.CheckConstraint(
                condition=Q(annual_revenue__isnull=True) | Q(annual_revenue__gte=0),
                name="account_revenue_not_negative",
            ),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="account_not_own_parent"),
        ]
        indexes = [
            # The account list: "my accounts" for a sales rep, sorted by name.
            models.Index(fields=["owner", "name"], name="account_owner_name_idx"),
            # Target-account lists built by marketers filter on these.
            models.Index(fields=["is_target", "tier"], name="account_target_tier_idx"),
            # Accounts without a domain are matched on name by CRM imports.
            models.Index(Lower("name"), name="account_lower_name_idx"),
        ]
        # Target accounts are the marketers' choice; sales may change accounts
        # (owner, firmographics) but not the target list.
        permissions = [("mark_target_account", "Can mark accounts as targets or not")]

    def __str__(self) -> str:
        return self.name


class Seniority(models.TextChoices):
    C_LEVEL = "c_level", "C-level"
    VP = "vp", "VP"
    DIRECTOR = "director", "Director"
    MANAGER = "manager", "Manager"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class JobFunction(models.TextChoices):
    EXECUTIVE = "executive", "Executive"
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"
    IT = "it", "IT"
    ENGINEERING = "engineering", "Engineering"
    FINANCE = "finance", "Finance"
    OPERATIONS = "operations", "Operations"
    HR = "hr", "HR"
    PROCUREMENT = "procurement", "Procurement"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class BuyingRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", "Decision maker"
    ECONOMIC_BUYER = "economic_buyer", "Economic buyer"
    CHAMPION = "champion", "Champion"
    INFLUENCER = "influencer", "Influencer"
    TECHNICAL_EVALUATOR = "technical_evaluator", "Technical evaluator"
    USER = "user", "User"
    BLOCKER = "blocker", "Blocker"
    UNKNOWN = "unknown", "Unknown"


class Contact(models.Model):
    # Normalised to lower case; null for people known only by a tracking user id.
    email = models.CharField(max_length=254, null=True, blank=True, unique=True)
    # The part after @, kept so contacts can be linked to an account by domain.
    email_domain = models.CharField(max_length=253, blank=True, editable=False)
    external_id = models.CharField(
        max_length=100,
        null=True,
        blank=True,
        unique=True,
        help_text="User id from tracking or the CRM.",
    )
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=200, blank=True)
    seniority = models.CharField(
        max_length=16, choices=Seniority.choices, default=Seniority.UNKNOWN
    )
    job_function = models.CharField(
        max_length=16, choices=JobFunction.choices, default=JobFunction.UNKNOWN
    )
    buying_role = models.CharField(
        max_length=24, choices=BuyingRole.choices, default=BuyingRole.UNKNOWN
    )
    country = models.CharField(max_length=2, blank=True)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    # Junk contacts keep their activities, which then count zero (DESIGN 4).
    is_junk = models.BooleanField(default=False)
    junk_reason = models.CharField(max_length=200, blank=True)
    # Set when a person decided the flag by hand; the rules then leave it alone.
    junk_reviewed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(email__isnull=True)
                | (Q(email=Lower("email")) & Q(email__contains="@")),
                name="contact_email_normalised",
                violation_error_message="Email must be lower case and contain @.",
            ),
            models.CheckConstraint(
                condition=Q(is_junk=False) | ~Q(junk_reason=""),
                name="contact_junk_has_reason",
            ),
            models.CheckConstraint(
                condition=(Q(email__isnull=True) & Q(email_domain=""))
                | (
                    Q(email__isnull=False)
                    & Q(email__endswith=Concat(Value("@"), F("email_domain")))
                ),
                name="contact_email_domain_matches",
                violation_error_message="email_domain must be the domain of email.",
            ),
        ]
        indexes = [
            # The buying team of an account.
            models.Index(fields=["account", "buying_role"], name="contact_account_role_idx"),
            # Linking contacts to an account created after them, by email domain.
            models.Index(fields=["email_domain"], name="contact_email_domain_idx"),
            # The junk review page: contacts flagged or decided by a person, by
            # name (a few among many; accounts.junk_selectors.junk_contacts).
            models.Index(
                fields=["last_name", "first_name", "id"],
                condition=Q(is_junk=True) | Q(junk_reviewed=True),
                name="contact_junk_review_idx",
            ),
        ]

    def __str__(self) -> str:
        full_name = f"{self.first_name} {self.last_name}".strip()
        return full_name or self.email or self.external_id or f"contact {self.pk}"


class ICPSegment(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    # A rule tree over firmographics, for example
    # {"all": [{"field": "industry", "op": "in", "value": ["Software"]},
    #          {"field": "employees", "op": "between", "value": [200, 2000]}]}
    # where each criterion may carry a "weight" for fit (DESIGN 4).
    criteria = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    # Readiness alert (issue 19): an alert when an account's probability of
    # opening an opportunity within 90 days rises to this percent or above
    # from below it. Null: no readiness alerts in this segment.
    readiness_alert_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text="Alert when an account's readiness rises to this percent (1-99); "
        "empty: no readiness alerts.",
    )
    accounts = models.ManyToManyField(
        Account, through="SegmentMembership", related_name="segments", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "ICP segment"
        constraints = [
            models.CheckConstraint(
                condition=Q(readiness_alert_percent__isnull=True)
                | Q(readiness_alert_percent__gte=1, readiness_alert_percent__lte=99),
                name="segment_readiness_alert_percent_1_99",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class FitGrade(models.TextChoices):
    A = "A", "A (80-100)"
    B = "B", "B (60-79)"
    C = "C", "C (40-59)"
    D = "D", "D (0-39)"


class SegmentMembership(models.Model):
    """An account in a segment, with how well it fits the segment's ICP."""

    segment = models.ForeignKey(ICPSegment, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    fit_score = models.PositiveSmallIntegerField(default=0)
    fit_grade = models.CharField(max_length=1, choices=FitGrade.choices, default=FitGrade.D)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "account"], name="membership_unique"),
            models.CheckConstraint(condition=Q(fit_score__lte=100), name="membership_fit_0_100"),
        ]
        indexes = [
            # "Segments of this account" on the account page.
            models.Index(fields=["account", "segment"], name="membership_account_idx"),
            # "Best-fitting accounts of a segment".
            models.Index(fields=["segment", "fit_grade"], name="membership_segment_grade_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.account} in {self.segment}"


class OpportunityStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class OpportunitySource(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"
    PARTNER = "partner", "Partner"
    OTHER = "other", "Other"


class Opportunity(models.Model):
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    # Null while the CRM has not assigned the deal to an account yet: such a
    # deal counts in the period's pipeline and deal metrics, is influenced by
    # no program and moves no account's stage.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="opportunities", null=True, blank=True
    )
    name = models.CharField(max_length=255)
    # Null when the CRM has no amount yet; never negative.
    amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    crm_stage = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=8, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN
    )
    opened_on = models.DateField()
    # Expected close date while open; actual close date once won or lost.
    close_on = models.DateField(null=True, blank=True)
    source = models.CharField(
        max_length=16, choices=OpportunitySource.choices, default=OpportunitySource.OTHER
    )
    product_line = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_on", "id"]
        verbose_name_plural = "opportunities"
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0),
                name="opportunity_amount_not_negative",
                violation_error_message="Amount must not be negative.",
            ),
            models.CheckConstraint(
                condition=Q(close_on__isnull=True) | Q(close_on__gte=F("opened_on")),
                name="opportunity_closes_after_opening",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(close_on__isnull=False),
                name="opportunity_closed_has_close_date",
            ),
        ]
        indexes = [
            # Pipeline reports: opportunities opened in a period.
            models.Index(fields=["opened_on", "status"], name="opportunity_opened_idx"),
            # Stage refresh and "deals of this account".
            models.Index(fields=["account", "status"], name="opportunity_account_idx"),
            # Deal metrics: deals won or lost in a period (by close date).
            models.Index(fields=["close_on", "status"], name="opportunity_closed_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        refused = dates_out_of_range(opened_on=self.opened_on, close_on=self.close_on)
        if refused:
            raise ValidationError(refused)


class JunkRuleKind(models.TextChoices):
    FREE_MAIL_DOMAIN = "free_mail_domain", "Free-mail domain (junk without an account)"
    DISPOSABLE_DOMAIN = "disposable_domain", "Disposable email domain"
    COMPETITOR_DOMAIN = "competitor_domain", "Competitor domain"
    UNSUPPORTED_COUNTRY = "unsupported_country", "Unsupported country (ISO code)"
    TITLE_KEYWORD = "title_keyword", "Job-seeker or student title keyword"
    INVALID_EMAIL_DOMAIN = "invalid_email_domain", "Placeholder email domain"


class JunkRule(models.Model):
    """One entry of a junk list, added to the built-in defaults in accounts/junk.py."""

    kind = models.CharField(max_length=24, choices=JunkRuleKind.choices)
    # Lower-case domain or keyword, or an upper-case country code.
    value = models.CharField(max_length=253)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "value"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="junk_rule_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class AccountFollow(models.Model):
    """A user who wants the account's alerts without owning it (a rep, an SDR)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followed_accounts"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="account_follow_unique"),
        ]
        indexes = [
            # Who to alert about an account.
            models.Index(fields=["account"], name="account_follow_account_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.account_id}"


class LoginFailure(models.Model):
    """A failed sign-in: who was tried, from where, when. The record of failures
    issue 18 asks for, and what the login throttle counts
    (accounts/login_throttle.py)."""

    username = models.CharField(max_length=150)
    address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            # Failures for one account in the last window: the throttle's first count.
            models.Index(fields=["username", "at"], name="login_failure_user_idx"),
            # Failures from one address in the last window: its second count.
            models.Index(fields=["address", "at"], name="login_failure_address_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.username} from {self.address} at {self.at:%Y-%m-%d %H:%M:%S}"


class ApiToken(models.Model):
    """An API token, stored hashed (issue 18: tokens were kept in plain text).
    The key is shown once, when it is made (`manage.py api_token_create`);
    only its SHA-256 and its first characters (to tell tokens apart) are kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    # Looked up on every API request with a token: unique, so indexed.
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'no name'})"
