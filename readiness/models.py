"""A segment's readiness model, versioned (issue 19, part 2).

Each training run adds a version per segment, never overwrites one: the
latest version serves, the older ones say what was served before. The fitted
parameters are plain JSON (readiness.scoring reads them without scikit-learn);
nothing is pickled.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class ReadinessModelStatus(models.TextChoices):
    # A model of its own: `parameters` score the segment's accounts.
    TRAINED = "trained", "Trained"
    # Too little history (`reason` says how much): the segment's accounts keep
    # the rule-based engagement score, and `parameters` is empty.
    FALLBACK = "fallback", "Fallback to the rule-based score"


class ReadinessModel(models.Model):
    segment = models.ForeignKey(
        "accounts.ICPSegment", on_delete=models.CASCADE, related_name="readiness_models"
    )
    # 1, 2, ... per segment, in the order of training.
    version = models.PositiveIntegerField()
    trained_at = models.DateTimeField()
    # The day the run took as today: only labels known by then were read.
    as_of = models.DateField()
    # The last month end whose rows trained it (its label window closed
    # before `as_of`); null when no row was labelled.
    trained_through = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=ReadinessModelStatus.choices)
    # Why the segment falls back, with the counts; '' for a trained model.
    reason = models.TextField(blank=True)
    feature_names = models.JSONField(default=list)
    # The labelled training rows, and the accounts behind them: an account is
    # positive when any of its rows opened an opportunity, else negative.
    rows = models.PositiveIntegerField(default=0)
    positive_rows = models.PositiveIntegerField(default=0)
    accounts = models.PositiveIntegerField(default=0)
    positive_accounts = models.PositiveIntegerField(default=0)
    negative_accounts = models.PositiveIntegerField(default=0)
    # readiness.scoring's parameters (impute, mean, scale, coef, intercept,
    # calibration); {} for a fallback.
    parameters = models.JSONField(default=dict, blank=True)
    # The rolling-origin backtest of the same history (readiness.backtest):
    # AUC, Brier, reliability and lift of the model and both baselines.
    metrics = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["segment_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "version"], name="readiness_model_version"),
            models.CheckConstraint(
                condition=Q(status__in=["trained", "fallback"]), name="readiness_model_status"
            ),
        ]

    def __str__(self) -> str:
        return f"Readiness model v{self.version} of segment {self.segment_id} ({self.status})"
