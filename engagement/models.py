"""Activity, the scoring models that weigh it, and the scores it rolls up into.

Scores are derived data: every table below Activity can be rebuilt from the
activities and the scoring model by a recompute (DESIGN 4).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from accounts.models import Account, Contact, ICPSegment
from engagement import scoring


class Source(models.Model):
    """A tracking source: a site, an app or an import, with its own write key."""

    name = models.CharField(max_length=100, unique=True)
    # SHA-256 of the write key; the key itself is shown once and never stored.
    write_key_hash = models.CharField(max_length=64, unique=True)
    # The key's first characters, to tell keys apart in the admin.
    write_key_prefix = models.CharField(max_length=12)
    is_active = models.BooleanField(default=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Requests per second; null means the TRACKING_RATE_LIMIT_PER_SECOND default.
    rate_limit_per_second = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ActivityType(models.TextChoices):
    PAGE_VIEW = "page_view", "Page view"
    PRICING_PAGE_VIEW = "pricing_page_view", "Pricing page view"
    CONTENT_DOWNLOAD = "content_download", "Content download"
    WEBINAR_REGISTERED = "webinar_registered", "Webinar registered"
    WEBINAR_ATTENDED = "webinar_attended", "Webinar attended"
    AD_IMPRESSION = "ad_impression", "Ad impression"
    AD_CLICK = "ad_click", "Ad click"
    EMAIL_OPEN = "email_open", "Email open"
    EMAIL_CLICK = "email_click", "Email click"
    FORM_FILL = "form_fill", "Form fill"
    DEMO_REQUEST = "demo_request", "Demo request"
    EVENT_ATTENDED = "event_attended", "Event attended"
    MEETING_HELD = "meeting_held", "Meeting held"
    SOCIAL_ENGAGEMENT = "social_engagement", "Social engagement"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribe"
    HARD_BOUNCE = "hard_bounce", "Hard bounce"
    OTHER = "other", "Other"


class Activity(models.Model):
    """One thing a contact, or an anonymous visitor, did at one time."""

    # No single-column index on the three foreign keys: the composite indexes
    # below start with them and serve the same lookups, and each index is paid
    # on every ingested row (docs/benchmarks.md).
    # The source reference is not checked by the database (db_constraint=False):
    # the check locked the same source row once per ingested row, from every
    # concurrent batch, for about 7% of the database's ingest time. Nothing is
    # lost: the id comes from the authenticated source, sources are revoked,
    # never deleted by the product, and PROTECT still refuses to delete one
    # with activity through Django.
    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        related_name="activities",
        db_index=False,
        db_constraint=False,
    )
    # Client-chosen id; (source, message_id) makes every ingest call idempotent,
    # kept unique by ActivityMessage (below), not by an index here. On
    # PostgreSQL this column, anonymous_id and tracking_key compare byte by
    # byte (COLLATE "C", migration 0016): their indexes take a random insert
    # per ingested row, and no one sorts them for reading.
    message_id = models.CharField(max_length=200)
    type = models.CharField(max_length=24, choices=ActivityType.choices)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    # Null while an anonymous visit is not resolved to a company.
    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
        db_index=False,
    )
    # Null for anonymous activity.
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
        db_index=False,
    )
    anonymous_id = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    # utm_campaign or an explicit program key; campaigns match it to programs.
    tracking_key = models.CharField(max_length=200, blank=True)
    event_name = models.CharField(max_length=200, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    # Non-blank: stored but counted zero (junk contact, unsupported country ...).
    excluded_reason = models.CharField(max_length=200, blank=True)
    # Whether the scores hold it yet is not a column here: ActivityPending holds
    # one narrow row per activity not yet rolled up (issue 20).

    class Meta:
        verbose_name_plural = "activities"
        # On PostgreSQL the table is partitioned by month of occurred_at
        # (migration 0030, engagement/partitions.py): its primary key there is
        # (id, occurred_at), as a partitioned table's unique keys must hold the
        # partition key; ids still come from one identity sequence. Each index
        # below is one per partition, made on the parent.
        indexes = [
            # Rollups and the account timeline: an account's activity by time.
            # Partial, like the next: every read names an account (or contact),
            # so rows without one need no entry, and ingest pays for fewer
            # (docs/benchmarks.md).
            models.Index(
                fields=["account", "occurred_at"],
                name="activity_account_time_idx",
                condition=Q(account__isnull=False),
            ),
            # Contact timeline and re-scoring a contact after a junk flag flips.
            models.Index(
                fields=["contact", "occurred_at"],
                name="activity_contact_time_idx",
                condition=Q(contact__isnull=False),
            ),
            # Program touches: activities carrying a program's tracking key.
            models.Index(
                fields=["tracking_key", "occurred_at"],
                name="activity_tracking_key_idx",
                condition=~Q(tracking_key=""),
            ),
            # A touch refresh's pairs (campaigns.touches): WHERE (tracking_key,
            # account_id) IN (the batch's pairs), and the stale delete's NOT
            # EXISTS per touch. The key index above read every activity of the
            # key for each pair (its history grows with time: 0.29 s of a
            # 10,000-activity rollup at 1M, 0.05 s with this one). Keyed rows
            # only, like it.
            models.Index(
                fields=["account", "tracking_key"],
                name="activity_account_key_idx",
                condition=Q(account__isnull=False) & ~Q(tracking_key=""),
            ),
            # The tracking sources page (engagement.source_selectors): per source,
            # COUNT(*) WHERE source_id = :s AND received_at >= :day_start (and
            # :week_start), and MAX(received_at) for the last event, each a range
            # of this index. Cheap on ingest: received_at only grows, so each
            # source's new entries land at the right edge of its range, not at a
            # random page like the message id's.
            models.Index(fields=["source", "received_at"], name="activity_source_received_idx"),
            # Attaching an anonymous visitor's history once identified.
            models.Index(
                fields=["anonymous_id"],
                name="activity_anonymous_idx",
                condition=Q(contact__isnull=True) & ~Q(anonymous_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} at {self.occurred_at:%Y-%m-%d %H:%M}"


class ActivityMessage(models.Model):
    """One (source, message id) stored as an activity: the ingest's idempotency
    key (issue 20), a narrow table of its own.

    It was a unique index on the activity table, which a table partitioned by
    month cannot have (a unique index there must hold occurred_at, and a retry
    whose time was set on receipt would be stored twice). A BEFORE INSERT row
    trigger on engagement_activity (migration 0030) inserts the key here first
    and skips the activity when it was stored already, as ON CONFLICT DO
    NOTHING did: every path that stores activity (the tracking statements, the
    ORM, COPY, imports, raw SQL) is deduplicated, and none can forget.
    `month` is the activity's month (UTC): retention deletes the keys of the
    months it drops with them (engagement/services/retention.py).
    """

    pk = models.CompositePrimaryKey("source_id", "message_id")
    source_id = models.BigIntegerField()
    # Byte order on PostgreSQL, like the activity's column (migration 0030).
    message_id = models.CharField(max_length=200)
    month = models.DateField()

    def __str__(self) -> str:
        return f"{self.source_id}:{self.message_id}"


class ActivityPending(models.Model):
    """One activity not rolled up into the scores yet (issue 20): inserted on
    ingest, deleted by the rollup that claims it.

    The claim used to be `UPDATE engagement_activity SET rollup_batch = :b`,
    which wrote a new version of every claimed row of the widest, largest
    table, with its index entries. This table holds two integers and a time per row and
    only the activity not yet rolled up (a batch's rows are deleted when its
    rollup commits), so a claim costs the same whatever the history's size.
    Activity without a row here is in the scores ("claimed").

    Rows are written by a database trigger on insert into engagement_activity
    (migration 0023), not by the ingest code: every path that stores activity
    (the tracking API's JSON and ORM inserts, CSV imports, demo seeding, the
    bench datasets' COPY, raw SQL) then makes it pending, and none can forget.
    On PostgreSQL it is one statement-level AFTER INSERT trigger with a
    transition table (one INSERT ... SELECT per statement, not per row); on
    SQLite a row trigger. A migration that makes SQLite rebuild
    engagement_activity (a new table, copy, rename) drops the trigger and must
    create it again; tests/engagement/test_activity_pending.py fails otherwise.
    """

    # The activity's id. Not checked by the database (db_constraint=False): the
    # trigger writes only the ids it just inserted, and the check would cost an
    # index probe into the activity table per ingested row. Deleting activity
    # through Django deletes its row here (CASCADE).
    activity = models.OneToOneField(
        Activity,
        primary_key=True,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
    )
    # Null while pending; the RollupBatch id while the rollup that claimed it
    # runs (its transaction deletes the row before it commits, so other
    # transactions see only pending rows).
    batch = models.BigIntegerField(null=True, blank=True)
    # The activity's own time, copied by the trigger (migration 0030): reads of
    # a claimed batch on PostgreSQL bound it by its rows' earliest and latest
    # times, so that only the monthly partitions of those months are probed
    # (rollup/sums.ActivityFilter.batch, which the batch's accounts in
    # rollup/refresh.AccountScope.of_batch read too).
    occurred_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "pending activities"
        indexes = [
            # The rollup reads back the batch it claimed: WHERE batch = :b (the
            # sums, the touched accounts, the batch's id range, the delete).
            # Partial, so that an ingested (pending) row costs no entry here.
            # The claim itself (WHERE batch IS NULL) reads the whole table,
            # which holds only pending rows: no index needed.
            models.Index(
                fields=["batch"],
                name="activity_pending_batch_idx",
                condition=Q(batch__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"activity {self.activity_id} pending"


def default_activity_weights() -> dict[str, float]:
    """DESIGN 4 defaults. Types not listed (such as `other`) weigh zero."""
    return {
        ActivityType.PAGE_VIEW: 1,
        ActivityType.PRICING_PAGE_VIEW: 5,
        ActivityType.CONTENT_DOWNLOAD: 10,
        ActivityType.WEBINAR_REGISTERED: 5,
        ActivityType.WEBINAR_ATTENDED: 15,
        ActivityType.AD_CLICK: 3,
        ActivityType.AD_IMPRESSION: 0,
        ActivityType.EMAIL_OPEN: 0,
        ActivityType.EMAIL_CLICK: 3,
        ActivityType.FORM_FILL: 10,
        ActivityType.DEMO_REQUEST: 30,
        ActivityType.EVENT_ATTENDED: 15,
        ActivityType.MEETING_HELD: 25,
        ActivityType.SOCIAL_ENGAGEMENT: 2,
        ActivityType.UNSUBSCRIBE: -10,
        ActivityType.HARD_BOUNCE: -5,
    }


def default_seniority_multipliers() -> dict[str, float]:
    return {
        "c_level": 2.0,
        "vp": 1.5,
        "director": 1.25,
        "manager": 1.0,
        "other": 0.5,
        "unknown": 1.0,
    }


class ScoringModel(models.Model):
    """The parameters of DESIGN 4 for one segment. Each change is a new version."""

    segment = models.ForeignKey(ICPSegment, on_delete=models.CASCADE, related_name="scoring_models")
    version = models.PositiveIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    activity_weights = models.JSONField(default=default_activity_weights)
    seniority_multipliers = models.JSONField(default=default_seniority_multipliers)
    half_life_days = models.FloatField(default=scoring.HALF_LIFE_DAYS_DEFAULT)
    contact_cap = models.FloatField(default=scoring.CONTACT_CAP_DEFAULT)
    scale = models.FloatField(default=scoring.SCALE_DEFAULT)
    # Scores up to engaged_min - 1 are "aware"; from qualified_min on, "qualified".
    engaged_min = models.PositiveSmallIntegerField(default=scoring.ENGAGED_MIN_DEFAULT)
    qualified_min = models.PositiveSmallIntegerField(default=scoring.QUALIFIED_MIN_DEFAULT)
    lookback_days = models.PositiveIntegerField(default=scoring.LOOKBACK_DAYS_DEFAULT)
    anonymous_factor = models.FloatField(default=scoring.ANONYMOUS_FACTOR_DEFAULT)
    required_roles = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["segment", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "version"], name="scoring_model_version"),
            models.UniqueConstraint(
                fields=["segment"], condition=Q(is_current=True), name="scoring_model_one_current"
            ),
            models.CheckConstraint(
                condition=Q(half_life_days__gt=0)
                & Q(contact_cap__gt=0)
                & Q(scale__gt=0)
                & Q(anonymous_factor__gte=0),
                name="scoring_model_positive_parameters",
            ),
            models.CheckConstraint(
                condition=Q(engaged_min__gte=1)
                & Q(engaged_min__lt=models.F("qualified_min"))
                & Q(qualified_min__lte=100),
                name="scoring_model_bands_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.segment} v{self.version}"


class Stage(models.TextChoices):
    """Account stages in ascending order (DESIGN 4)."""

    UNAWARE = "unaware", "Unaware"
    AWARE = "aware", "Aware"
    ENGAGED = "engaged", "Engaged"
    QUALIFIED = "qualified", "Qualified (MQA)"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"


class ContactEngagement(models.Model):
    """A contact's forward-decay sum S against landmark L, per segment model.

    c(t) = decay_sum * exp(-lambda * (t - landmark)); new activities add terms.
    """

    # Derived data, rebuilt by every recompute, so the database does not check
    # these references: three checks per written row were a fifth of a full
    # recompute's time (docs/benchmarks.md). Deletes still cascade (Django's
    # collector). Contact and account lookups use the unique constraint and
    # the index below (they start with them), not single-column indexes.
    contact = models.ForeignKey(
        Contact,
        on_delete=models.CASCADE,
        related_name="engagements",
        db_index=False,
        db_constraint=False,
    )
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    segment = models.ForeignKey(
        ICPSegment, on_delete=models.CASCADE, related_name="+", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    landmark = models.DateTimeField()
    decay_sum = models.FloatField(default=0.0)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Per account too: a contact who moved company keeps the points they
            # earned at each one where they earned them.
            # The only index besides the primary key, since every index costs
            # the recompute a write per row: it serves the rollup's conflict
            # check and every read, which is by segment and account (an
            # account's score sums its contacts' points). Deletes of a contact
            # or an account (rare) scan the table.
            models.UniqueConstraint(
                fields=["segment", "account", "contact"], name="contact_engagement_key"
            ),
        ]

    def __str__(self) -> str:
        return f"contact {self.contact_id} in segment {self.segment_id}"


class AccountEngagement(models.Model):
    """The current engagement score of an account in one segment."""

    # Every refresh rewrites the scores of whole segments, so the table keeps
    # only the indexes its reads need: the unique (account, segment) and the
    # four in Meta.indexes, each with the query it serves. Single-column
    # indexes on the references would repeat their first columns (a scoring
    # model is never deleted).
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="engagements", db_index=False
    )
    segment = models.ForeignKey(
        ICPSegment, on_delete=models.CASCADE, related_name="engagements", db_index=False
    )
    scoring_model = models.ForeignKey(
        ScoringModel, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    landmark = models.DateTimeField()
    # Forward-decay sum of anonymous activity resolved to the account.
    anonymous_decay_sum = models.FloatField(default=0.0)
    raw_score = models.FloatField(default=0.0)
    score = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.UNAWARE)
    engaged_contacts = models.PositiveIntegerField(default=0)
    roles_covered = models.JSONField(default=list, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # Alert hysteresis: re-armed once the score falls below the engaged band.
    alert_armed = models.BooleanField(default=True)
    computed_at = models.DateTimeField()
    # The change baselines (issue 20): the account's snapshot scores 7 and 30
    # days before `baselines_for`, so that the account list sorted by score
    # change reads its page from an index instead of sorting the segment.
    # Set for the whole segment each night (engagement.rollup.baselines) and
    # kept right since by database triggers (migration 0029): a new row takes
    # its segment's day and reads its snapshots; a snapshot written, changed
    # or deleted re-reads the baselines that use its day. A null baseline is
    # a day without snapshot: the change is unknown, never a change from 0.
    # The list uses them only while every row of the segment holds today's
    # (engagement.list_selectors.change_baselines_current).
    baselines_for = models.DateField(null=True, blank=True)
    baseline_score_7d = models.PositiveSmallIntegerField(null=True, blank=True)
    baseline_score_30d = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "segment"], name="account_engagement_unique"
            ),
            models.CheckConstraint(condition=Q(score__lte=100), name="account_engagement_0_100"),
        ]
        indexes = [
            # Account lists sorted by score within a segment.
            models.Index(fields=["segment", "-score"], name="account_engagement_rank_idx"),
            # The account list of every account by its best segment's score:
            # `ORDER BY score DESC, name, id` over each account's best row,
            # read in index order, ties sorted by name within a score
            # (list_selectors.account_list_pages).
            models.Index(fields=["-score"], name="account_engagement_best_idx"),
            # The account list of a segment sorted by 7- or 30-day change:
            # `WHERE segment_id = %s AND baselines_for = today ORDER BY score
            # - baseline_score_Nd DESC` (or ASC) LIMIT a page, read in index
            # order (list_selectors.account_list_pages), and the
            # baselines' currency check (min/max baselines_for of a segment).
            models.Index(
                *(F("segment"), F("baselines_for"), F("score") - F("baseline_score_7d")),
                name="engagement_change_7d_idx",
            ),
            models.Index(
                *(F("segment"), F("baselines_for"), F("score") - F("baseline_score_30d")),
                name="engagement_change_30d_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"account {self.account_id}: {self.score} in segment {self.segment_id}"


class AccountReadiness(models.Model):
    """What readiness serves for an account in one segment (issue 19): the
    calibrated probability of opening an opportunity within 90 days, its
    band and the features that pushed it up or down, or, while the segment
    has too little history, why it falls back to the engagement score.

    Written by readiness.services (the readiness app sits above this one and
    fits the model); kept here, beside the scores, so that the account list
    sorts and filters by it in its one query."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="readiness", db_index=False
    )
    segment = models.ForeignKey(
        ICPSegment, on_delete=models.CASCADE, related_name="readiness", db_index=False
    )
    # readiness.models.ReadinessModel.version of the segment that served it.
    model_version = models.PositiveIntegerField()
    # Null while the segment falls back (fallback_reason says why).
    probability = models.FloatField(null=True, blank=True)
    # The backtest's 95% interval of the observed rate among predictions like
    # this one (the reliability decile it falls in) and that decile's count.
    band_low = models.FloatField(null=True, blank=True)
    band_high = models.FloatField(null=True, blank=True)
    band_count = models.PositiveIntegerField(null=True, blank=True)
    # The largest contributions to the log-odds, up and down:
    # [{"feature", "label", "value", "contribution"}, ...], largest first.
    reasons_up = models.JSONField(default=list, blank=True)
    reasons_down = models.JSONField(default=list, blank=True)
    fallback_reason = models.TextField(blank=True)
    # The day whose features it read (yesterday when scored: its snapshot is in).
    features_as_of = models.DateField()
    scored_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "account readiness"
        constraints = [
            models.UniqueConstraint(fields=["account", "segment"], name="account_readiness_unique"),
            models.CheckConstraint(
                condition=Q(probability__isnull=True)
                | Q(probability__gte=0.0, probability__lte=1.0),
                name="account_readiness_probability_0_1",
            ),
        ]
        indexes = [
            # The account list of a segment sorted or filtered by readiness.
            models.Index(fields=["segment", "-probability"], name="account_readiness_rank_idx"),
        ]

    def __str__(self) -> str:
        return f"account {self.account_id}: readiness {self.probability} in {self.segment_id}"


class EngagementSnapshot(models.Model):
    """The score of an (account, segment) at the end of one day."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="snapshots")
    segment = models.ForeignKey(ICPSegment, on_delete=models.CASCADE, related_name="snapshots")
    day = models.DateField()
    model_version = models.PositiveIntegerField()
    score = models.PositiveSmallIntegerField()
    raw_score = models.FloatField()
    stage = models.CharField(max_length=16, choices=Stage.choices)
    engaged_contacts = models.PositiveIntegerField(default=0)
    roles_covered = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "segment", "day"], name="snapshot_unique"),
        ]
        indexes = [
            # Day first: lift reads every target account's score on two days,
            # of one segment (readiness training too) or of all
            # (campaigns.reports.measurement.target_scores: `day IN (start,
            # end)`, which (segment, day) could not serve: a scan of every
            # snapshot, 0.18 s at 1M activities in the pages benchmark).
            models.Index(fields=["day", "segment"], name="snapshot_day_segment_idx"),
        ]

    def __str__(self) -> str:
        return f"account {self.account_id}: {self.score} on {self.day}"


class EngagementMonthPeak(models.Model):
    """The highest daily snapshot score of an (account, segment, model version)
    in one calendar month (issue 20): what the campaign reports and the
    overview read to say which accounts reached the engaged and qualified
    bands in a period (`engagement.peak_selectors.accounts_reaching_bands`),
    a row per account and month instead of one per account and day for the
    months the period covers whole, and for a month it covers in part when
    that month has no snapshot outside the period.

    Written by database triggers on engagement_engagementsnapshot (migration
    0025), not by the code that takes snapshots, so that no path that stores
    snapshots (the nightly snapshot, the backfill, demo and bench seeding, raw
    SQL) can leave it behind. An insert raises the month's peak to the new
    score when higher; an update or delete recomputes the months it touched
    from the daily rows, so a snapshot taken again lower lowers the peak too.
    PostgreSQL: statement-level triggers over transition tables; SQLite: row
    triggers. tests/engagement/test_month_peaks.py checks the table against a
    GROUP BY over the daily rows after each kind of write.
    """

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    segment = models.ForeignKey(
        ICPSegment, on_delete=models.CASCADE, related_name="+", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    month = models.DateField(help_text="The month's first day.")
    model_version = models.PositiveIntegerField()
    top = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            # The triggers' ON CONFLICT target.
            models.UniqueConstraint(
                fields=["account", "segment", "month", "model_version"],
                name="month_peak_unique",
            ),
        ]
        indexes = [
            # accounts_reaching_bands: every peak of the months a period covers
            # whole, and of a month it covers in part with no snapshot outside it.
            models.Index(fields=["month"], name="month_peak_month_idx"),
        ]

    def __str__(self) -> str:
        return f"account {self.account_id}: peak {self.top} in {self.month:%Y-%m}"


class AlertKind(models.TextChoices):
    QUALIFIED = "qualified", "Became qualified"
    # Its readiness rose to the segment's readiness_alert_percent (issue 19).
    READINESS = "readiness", "Readiness crossed the threshold"


class Alert(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="alerts")
    segment = models.ForeignKey(ICPSegment, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=16, choices=AlertKind.choices, default=AlertKind.QUALIFIED)
    # The engagement score that qualified; on a readiness alert, the score of
    # the day its features read, null when that day has no snapshot.
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    webhook_delivered_at = models.DateTimeField(null=True, blank=True)
    webhook_attempts = models.PositiveSmallIntegerField(default=0)
    # The model version whose score crossed into the qualified band; for a
    # readiness alert, the readiness model's version.
    model_version = models.PositiveIntegerField(default=1)
    # A readiness alert's probability (0-1) and the threshold it crossed
    # (percent); null for a qualified alert.
    probability = models.FloatField(null=True, blank=True)
    threshold_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    # Delivery bookkeeping (engagement/alerts.py): runs of delivery that failed or
    # succeeded, the last failure, and when the sweep tries again. Null once
    # delivered or given up; meanwhile a delivery under way holds it a few minutes
    # ahead (a lease), so two workers never deliver one alert at once.
    delivery_attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # A user's alert inbox, newest first.
            models.Index(fields=["recipient", "-created_at"], name="alert_recipient_idx"),
            models.Index(fields=["account", "-created_at"], name="alert_account_idx"),
            # The delivery sweep: alerts due for a try (delivered ones have no entry).
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(next_attempt_at__isnull=False),
                name="alert_delivery_due_idx",
            ),
        ]
        permissions = [("view_all_alert", "Can list every user's alerts")]

    def __str__(self) -> str:
        return f"{self.account} {self.get_kind_display()} ({self.score})"


class AlertInboxVisit(models.Model):
    """When the user last looked at their alerts (opened My accounts): alerts
    created after it are new to them, and the shell counts those."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_inbox_visit"
    )
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user_id} saw their alerts at {self.seen_at:%Y-%m-%d %H:%M}"


class RejectedCall(models.Model):
    """A refused tracking call, kept whole so nothing sent is silently dropped.

    Marketers see these in the admin, fix the sender, and can replay them.
    Identical calls that one request repeats (same body, so same message id,
    refused for the same reason) are one row with their number in `repeats`:
    kept whole all the same, without a row per copy.
    """

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="rejected_calls")
    message_id = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=500)
    payload = models.JSONField()
    repeats = models.PositiveIntegerField(
        default=1, help_text="How many identical calls of one request this row stands for."
    )
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            # The dead-letter list of a source, newest first.
            models.Index(fields=["source", "-received_at"], name="rejected_call_source_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id or 'call'}: {self.reason}"


class AnonymousIdentity(models.Model):
    """An anonymousId that an identify call tied to a contact.

    Activity arriving later with only that anonymousId is attributed to the
    contact, and activity stored before the identify is attached when it comes.
    """

    anonymous_id = models.CharField(max_length=200, unique=True)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="anonymous_ids")
    identified_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "anonymous identities"

    def __str__(self) -> str:
        return f"{self.anonymous_id} -> contact {self.contact_id}"


class EventTypeMapping(models.Model):
    """A track event name mapped to an activity type, over the built-in defaults."""

    event_name = models.CharField(max_length=200, unique=True)
    activity_type = models.CharField(max_length=24, choices=ActivityType.choices)

    class Meta:
        ordering = ["event_name"]

    def __str__(self) -> str:
        return f"{self.event_name} -> {self.activity_type}"


class IdentityCall(models.Model):
    """identify, group and alias calls already applied.

    Activities are deduplicated by their own (source, message_id); these calls
    write to contacts and accounts instead, so this log makes their replays
    change nothing.
    """

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=8)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "message_id"], name="identity_call_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.message_id}"


class IPRange(models.Model):
    """A company's network: anonymous visits from it are resolved to its account.

    Bounds are stored as 32-digit hex strings (IPv4 mapped into IPv6 space), so
    "which range holds this address" is an indexed string comparison on SQLite
    and PostgreSQL alike.
    """

    network = models.CharField(max_length=49, unique=True, help_text="CIDR, e.g. 203.0.113.0/24")
    first_address = models.CharField(max_length=32, editable=False)
    last_address = models.CharField(max_length=32, editable=False)
    # Resolved to the account with this domain when a visit arrives, so the
    # range may be loaded before the account exists.
    domain = models.CharField(max_length=253)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["first_address"]
        verbose_name = "IP range"
        constraints = [
            models.CheckConstraint(
                condition=Q(first_address__lte=models.F("last_address")),
                name="ip_range_ordered",
            ),
        ]
        indexes = [
            # Lookup of the ranges holding an address: first <= address <= last.
            models.Index(fields=["first_address", "last_address"], name="ip_range_bounds_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.network} -> {self.domain}"


class RollupCursor(models.Model):
    """A segment's scoring state: the landmark L its forward-decay sums are kept
    against, and the row whose lock orders rollups against recomputes.

    Rollups hold it FOR SHARE (several may add disjoint batches at once; the
    touched accounts' rows are locked for the per-account work); a recompute
    chunk, a refresh or a rebase hold it FOR UPDATE, so none of them sees a
    half-added batch or a landmark that moves under it.
    """

    segment = models.OneToOneField(ICPSegment, on_delete=models.CASCADE, related_name="+")
    # The landmark L every forward-decay sum of the segment is kept against;
    # null until the segment's first recompute.
    landmark = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"segment {self.segment_id} (landmark {self.landmark})"


class RollupBatch(models.Model):
    """One claim of pending activity: its id is what ActivityPending.batch holds
    while the claiming rollup runs.

    Ids come from this table's sequence so that concurrent claimers never share
    a batch number.
    """

    claimed_at = models.DateTimeField(auto_now_add=True)
    # The lowest and highest activity id the claim took (null until it has
    # claimed, and when it claimed none). The batch's pending rows are deleted
    # when it commits, so what reads the batch afterwards (campaigns' touches,
    # engagement.signals) reads this id range: a superset of the batch, which
    # an idempotent refresh may read.
    first_activity_id = models.BigIntegerField(null=True, blank=True)
    last_activity_id = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"rollup batch {self.pk}"


class ScoreRecomputeRun(models.Model):
    """Progress of a chunked full recompute of one segment, so a crashed run
    resumes after the last account range it committed."""

    segment = models.ForeignKey(ICPSegment, on_delete=models.CASCADE, related_name="+")
    # The model the run scores with; a run of an older model starts over.
    scoring_model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="+")
    # Accounts with ids up to this one are done.
    through_account_id = models.BigIntegerField(default=0)
    accounts_done = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["segment"],
                condition=Q(finished_at__isnull=True),
                name="score_recompute_one_open_run",
            ),
        ]

    def __str__(self) -> str:
        return f"recompute of segment {self.segment_id} through account {self.through_account_id}"


class ActivityRetentionRun(models.Model):
    """One run of activity retention (`engagement.services.retention`): raw
    activity that occurred before `cutoff` was folded into the carried sums
    below and deleted. The latest run's cutoff is where stored activity starts:
    readers of raw activity say that history before it is not measurable from
    activity (the daily snapshots keep its scores)."""

    ran_at = models.DateTimeField()
    cutoff = models.DateTimeField()
    months_kept = models.PositiveSmallIntegerField()
    activities_dropped = models.BigIntegerField()
    carried_rows = models.BigIntegerField()
    snapshot_days_backfilled = models.PositiveIntegerField()

    class Meta:
        indexes = [
            # The latest cutoff: ORDER BY cutoff DESC LIMIT 1.
            models.Index(fields=["cutoff"], name="retention_run_cutoff_idx"),
        ]

    def __str__(self) -> str:
        return f"activity before {self.cutoff:%Y-%m-%d} dropped"


class ActivityCarried(models.Model):
    """What dropped activity still contributes to scores (DESIGN 4): per decay
    rate, account, contact (None: anonymous activity on the account), activity
    type and exclusion, the forward-decay sum `sum exp(rate * (t - landmark))`
    and the latest time. No weight and no seniority multiplier are in it: a
    recompute applies the current model's weight per type and the contact's
    current seniority, so a changed weight or seniority re-weighs dropped
    activity exactly. The exclusion follows the contact's junk flag as live
    activity's does. What cannot be re-derived: a half-life no current model
    had when the month was dropped (its rate has no rows here), and an account's
    membership is not part of the key, so an account joining a segment later
    brings its dropped activity with it.

    Rows hold one landmark (the latest run's cutoff): each run folds the old
    rows forward to its cutoff and adds the newly dropped activity, so the
    table has at most one row per key.
    """

    decay_rate = models.FloatField()
    # Derived data, rebuilt by each retention run: no database checks (as
    # ContactEngagement); deletes cascade through Django's collector.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    type = models.CharField(max_length=24, choices=ActivityType.choices)
    excluded_reason = models.CharField(max_length=200, blank=True)
    landmark = models.DateTimeField()
    decay_sum = models.FloatField()
    count = models.BigIntegerField()
    latest = models.DateTimeField()

    class Meta:
        verbose_name_plural = "carried activity sums"
        indexes = [
            # The recompute's ranges: WHERE decay_rate = :r AND account_id in a range.
            models.Index(fields=["decay_rate", "account"], name="activity_carried_rate_idx"),
            # The junk sync: WHERE contact_id IN (...).
            models.Index(
                fields=["contact"],
                name="activity_carried_contact_idx",
                condition=Q(contact__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"carried {self.type} of account {self.account_id}"


class TrackingKeyCarried(models.Model):
    """What dropped keyed activity still says about program touches: per
    tracking key, account, contact and exclusion, the first and last time and the count,
    so that a touch's first touch (where influence starts) and count survive
    retention. campaigns.touches adds these rows to live activity's."""

    tracking_key = models.CharField(max_length=200)
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    # Kept so that the exclusion can follow the contact's junk flag.
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    excluded_reason = models.CharField(max_length=200, blank=True)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    count = models.BigIntegerField()

    class Meta:
        verbose_name_plural = "carried tracking keys"
        indexes = [
            # Touches of one program: WHERE tracking_key = :k.
            models.Index(fields=["tracking_key", "account"], name="tracking_carried_key_idx"),
        ]

    def __str__(self) -> str:
        return f"carried key {self.tracking_key} on account {self.account_id}"
