"""Campaigns, their programs and spend, and the measurement runs over them."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower, Trim

from accounts.models import Account, ICPSegment
from campaigns import metrics
from campaigns.holdout import HOLDOUT_FRACTION_DEFAULT
from core.csvimport import dates_out_of_range
from engagement.tracking import MAX_TRACKING_KEY, tracking_key_normal


class CampaignObjective(models.TextChoices):
    AWARENESS = "awareness", "Awareness"
    ENGAGEMENT = "engagement", "Engagement"
    PIPELINE = "pipeline", "Pipeline"
    EXPANSION = "expansion", "Expansion"
    RETENTION = "retention", "Retention"


class Campaign(models.Model):
    name = models.CharField(max_length=200, unique=True)
    objective = models.CharField(
        max_length=16, choices=CampaignObjective.choices, default=CampaignObjective.PIPELINE
    )
    description = models.TextField(blank=True)
    starts_on = models.DateField()
    ends_on = models.DateField()
    budget = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    # Share of the target list kept out of every audience, drawn with holdout_seed
    # (campaigns/holdout.py). A Decimal default: the float 0.1 fails validation.
    holdout_fraction = models.DecimalField(
        max_digits=4, decimal_places=3, default=HOLDOUT_FRACTION_DEFAULT
    )
    holdout_seed = models.BigIntegerField(default=0)
    # The segment whose engagement scores measure the campaign's lift; blank:
    # each account's highest score over its segments.
    segment = models.ForeignKey(
        ICPSegment, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="campaign_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget__gte=0),
                name="campaign_budget_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(holdout_fraction__gte=0) & Q(holdout_fraction__lt=1),
                name="campaign_holdout_fraction_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        refused = dates_out_of_range(starts_on=self.starts_on, ends_on=self.ends_on)
        if refused:
            raise ValidationError(refused)


class CampaignTarget(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="targets")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="campaign_targets")
    in_holdout = models.BooleanField(default=False)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "account"], name="campaign_target_unique"),
        ]
        indexes = [
            # Treated and holdout lists of a campaign for lift and exports.
            models.Index(fields=["campaign", "in_holdout"], name="campaign_target_holdout_idx"),
            # "Campaigns targeting this account" on the account page.
            models.Index(fields=["account"], name="campaign_target_account_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} in campaign {self.campaign_id}"


class Channel(models.TextChoices):
    PAID_SOCIAL = "paid_social", "Paid social"
    DISPLAY = "display", "Display"
    SEARCH = "search", "Search"
    WEBINAR = "webinar", "Webinar"
    EVENT = "event", "Event"
    EMAIL = "email", "Email"
    DIRECT_MAIL = "direct_mail", "Direct mail"
    CONTENT_SYNDICATION = "content_syndication", "Content syndication"
    OUTBOUND = "outbound", "Outbound"
    OTHER = "other", "Other"


class ProgramStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    CUT = "cut", "Cut"


class Program(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="programs")
    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=24, choices=Channel.choices)
    starts_on = models.DateField()
    ends_on = models.DateField()
    # Matched against Activity.tracking_key (utm_campaign or a program key),
    # which the tracker stores trimmed and lower-cased: a key is stored in that
    # form too (`clean`, and the check below), or no activity would ever match it.
    tracking_key = models.CharField(max_length=MAX_TRACKING_KEY, unique=True)
    status = models.CharField(
        max_length=12, choices=ProgramStatus.choices, default=ProgramStatus.PLANNED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["campaign", "starts_on", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="program_ends_after_start"
            ),
            models.CheckConstraint(condition=~Q(tracking_key=""), name="program_tracking_key_set"),
            # SQL's lower() and trim() are narrower than Python's (ASCII
            # letters, spaces): this catches the keys typed with capitals or
            # spaces, the Python rule (tracking_key_normal) all of them.
            models.CheckConstraint(
                condition=Q(tracking_key=Lower(Trim("tracking_key"))),
                name="program_tracking_key_normal",
                violation_error_message="A program's tracking key is stored trimmed and "
                "lower-case, as the tracker stores the keys it receives.",
            ),
            models.UniqueConstraint(fields=["campaign", "name"], name="program_name_in_campaign"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        # Before the unique check (full_clean runs clean first): "Q1" is "q1".
        self.tracking_key = tracking_key_normal(self.tracking_key or "")
        if len(self.tracking_key) > MAX_TRACKING_KEY:  # lower() can lengthen ("İ")
            raise ValidationError(
                {"tracking_key": f"At most {MAX_TRACKING_KEY} characters once lower-cased."}
            )
        refused = dates_out_of_range(starts_on=self.starts_on, ends_on=self.ends_on)
        if refused:
            raise ValidationError(refused)


class Spend(models.Model):
    """One dated cost line of a program."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="spend")
    spent_on = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    description = models.CharField(max_length=200, blank=True)
    # Id of the line in the source it came from; makes re-imports idempotent.
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-spent_on", "id"]
        verbose_name_plural = "spend"
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="spend_amount_not_negative",
                violation_error_message="Spend must not be negative.",
            ),
        ]
        indexes = [
            # Spend of a program in a period.
            models.Index(fields=["program", "spent_on"], name="spend_program_day_idx"),
            # Programs with spend in a ranking period.
            models.Index(fields=["spent_on"], name="spend_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} on {self.spent_on}"

    def clean(self) -> None:
        super().clean()
        refused = dates_out_of_range(spent_on=self.spent_on)
        if refused:
            raise ValidationError(refused)


class RankingMetric(models.TextChoices):
    PIPELINE_PER_SPEND = "pipeline_per_spend", "Pipeline per unit of spend"
    WON_PER_SPEND = "won_per_spend", "Won revenue per unit of spend"
    LIFT_PER_SPEND = "lift_per_spend", "Lift per unit of spend"
    OPPORTUNITIES_PER_SPEND = "opportunities_per_spend", "Opportunities per unit of spend"


class RankingTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "On demand"


class RankingRun(models.Model):
    period_start = models.DateField()
    period_end = models.DateField()
    metric = models.CharField(
        max_length=32, choices=RankingMetric.choices, default=RankingMetric.PIPELINE_PER_SPEND
    )
    flag_fraction = models.DecimalField(max_digits=4, decimal_places=3, default=0.1)
    trigger = models.CharField(
        max_length=12, choices=RankingTrigger.choices, default=RankingTrigger.MANUAL
    )
    # The influence window the run used: it decides which programs were too
    # early to judge (their window had not closed by the period's end).
    window_days = models.PositiveIntegerField(default=metrics.INFLUENCE_WINDOW_DAYS)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="ranking_period_ordered"
            ),
            models.CheckConstraint(
                condition=Q(flag_fraction__gt=0) & Q(flag_fraction__lte=1),
                name="ranking_flag_fraction_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Ranking {self.period_start} to {self.period_end}"


class RankingDecision(models.TextChoices):
    PENDING = "pending", "Pending"
    CUT = "cut", "Cut"
    KEPT = "kept", "Kept"


class RankingEntry(models.Model):
    run = models.ForeignKey(RankingRun, on_delete=models.CASCADE, related_name="entries")
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="ranking_entries")
    # Null for programs without spend in the period and for programs too early
    # to judge, which are listed apart.
    rank = models.PositiveIntegerField(null=True, blank=True)
    # The program's influence window had not closed by the period's end (it
    # ended less than `window_days` before it): never ranked, never flagged.
    too_early = models.BooleanField(default=False)
    spend = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    metric_value = models.FloatField(null=True, blank=True)
    pipeline = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    # The program's engagement lift as the programs report computed it for the
    # period (`campaigns.metrics.Lift` as a dict: estimate, low, high, treated,
    # holdout, kind, reason, ...), kept so the review shows it beside the
    # metric; null in runs stored before it was kept and for programs without spend.
    lift = models.JSONField(null=True, blank=True)
    is_flagged = models.BooleanField(default=False)
    decision = models.CharField(
        max_length=8, choices=RankingDecision.choices, default=RankingDecision.PENDING
    )
    decision_note = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "rank"]
        verbose_name_plural = "ranking entries"
        constraints = [
            models.UniqueConstraint(fields=["run", "program"], name="ranking_entry_unique"),
            models.UniqueConstraint(fields=["run", "rank"], name="ranking_rank_unique"),
            models.CheckConstraint(
                condition=Q(is_flagged=False) | Q(rank__isnull=False),
                name="ranking_flagged_are_ranked",
            ),
            models.CheckConstraint(
                condition=Q(too_early=False) | Q(rank__isnull=True),
                name="ranking_too_early_unranked",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} program {self.program_id}"


class PipelinePlan(models.Model):
    """A revenue target turned into the pipeline it needs (DESIGN 5)."""

    name = models.CharField(max_length=200)
    period_start = models.DateField()
    period_end = models.DateField()
    revenue_target = models.DecimalField(max_digits=16, decimal_places=2)
    win_rate = models.DecimalField(max_digits=5, decimal_places=4)
    average_deal_size = models.DecimalField(max_digits=14, decimal_places=2)
    cycle_time_days = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="USD")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_start", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="plan_period_ordered"
            ),
            models.CheckConstraint(
                condition=Q(revenue_target__gte=0), name="plan_target_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(win_rate__gt=0) & Q(win_rate__lte=1), name="plan_win_rate_range"
            ),
            models.CheckConstraint(
                condition=Q(average_deal_size__gt=0), name="plan_deal_size_positive"
            ),
        ]

    # Ten years: a longer sales cycle is a typo, and the dates to open
    # opportunities by (the period less the cycle) must stay in the calendar.
    CYCLE_TIME_DAYS_MAX = 3650

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """A plan's period lies in the product's calendar and its cycle is
        bounded: a plan for year 1 or 9999, or with a cycle of millions of days,
        was stored and then its detail answered 500 (issue 18)."""
        super().clean()
        refused = dates_out_of_range(period_start=self.period_start, period_end=self.period_end)
        if self.cycle_time_days is not None and self.cycle_time_days > self.CYCLE_TIME_DAYS_MAX:
            refused["cycle_time_days"] = f"Must be at most {self.CYCLE_TIME_DAYS_MAX} days."
        if refused:
            raise ValidationError(refused)


class Touch(models.Model):
    """A program's touches on one account: activities carrying the program's
    tracking key (DESIGN 5). Derived from activity by campaigns.touches, which
    can always rebuild it."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="touches")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="program_touches")
    first_touch_at = models.DateTimeField()
    last_touch_at = models.DateTimeField()
    touch_count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "account"], name="touch_unique"),
            models.CheckConstraint(
                condition=Q(last_touch_at__gte=F("first_touch_at")), name="touch_times_ordered"
            ),
        ]
        indexes = [
            # Influence: the programs that touched an account, by first touch.
            models.Index(fields=["account", "first_touch_at"], name="touch_account_first_idx"),
        ]

    def __str__(self) -> str:
        return f"program {self.program_id} touched account {self.account_id}"


class TouchSweep(models.Model):
    """One run of the touch sweep: the highest activity id it saw. A later sweep
    re-scans from the high-water mark of a sweep at least the overlap old, so an
    activity whose transaction committed late (after a higher id) is still read."""

    swept_at = models.DateTimeField()
    scanned_from_id = models.BigIntegerField()
    high_water_id = models.BigIntegerField()

    class Meta:
        indexes = [
            # The newest sweep older than the overlap.
            models.Index(fields=["swept_at"], name="touch_sweep_time_idx"),
        ]

    def __str__(self) -> str:
        return f"sweep at {self.swept_at:%Y-%m-%d %H:%M} up to {self.high_water_id}"
