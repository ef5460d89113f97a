"""The naive ORM loop the rollup benchmark times against the product's recompute."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from django.db import transaction

from accounts.models import Account, Contact
from bench import RolledBack
from bench.rollup.reference import Scores
from engagement.models import AccountEngagement, Activity, ContactEngagement, ScoringModel


def naive_scores(*, segment_id: int, at: dt.datetime, account_ids: Sequence[int]) -> Scores:
    """What one would write first: per account, per contact, a query and a Python
    sum, each result saved with update_or_create, as the recompute saves its
    contact sums and account scores. The writes are rolled back afterwards, so
    the product's rows stay as its recompute left them."""
    model = ScoringModel.objects.get(segment_id=segment_id, is_current=True)
    rate = math.log(2) / model.half_life_days
    scores: Scores = {}
    try:
        with transaction.atomic():
            for account in Account.objects.filter(pk__in=account_ids):
                raw, latest = 0.0, None
                people = Contact.objects.filter(
                    activities__account=account, activities__excluded_reason=""
                ).distinct()
                for contact in people:
                    multiplier = float(model.seniority_multipliers.get(contact.seniority, 1.0))
                    points, contact_latest = 0.0, None
                    for activity in Activity.objects.filter(
                        account=account, contact=contact, excluded_reason=""
                    ):
                        days = (at - activity.occurred_at).total_seconds() / 86_400
                        weight = float(model.activity_weights.get(activity.type, 0.0))
                        points += weight * multiplier * math.exp(-rate * days)
                        contact_latest = max(contact_latest or activity.occurred_at,
                                             activity.occurred_at)  # fmt: skip
                    ContactEngagement.objects.update_or_create(
                        segment_id=segment_id, account=account, contact=contact,
                        defaults={"landmark": at, "decay_sum": points,
                                  "last_activity_at": contact_latest},
                    )  # fmt: skip
                    raw += min(model.contact_cap, max(0.0, points))
                    if latest is None or (contact_latest and contact_latest > latest):
                        latest = contact_latest
                anonymous = 0.0
                for activity in Activity.objects.filter(
                    account=account, contact__isnull=True, excluded_reason=""
                ):
                    days = (at - activity.occurred_at).total_seconds() / 86_400
                    anonymous += float(model.activity_weights.get(activity.type, 0.0)) * math.exp(
                        -rate * days
                    )
                raw += model.anonymous_factor * max(0.0, anonymous)
                score = round(100 * (1 - math.exp(-raw / model.scale)))
                AccountEngagement.objects.update_or_create(
                    segment_id=segment_id, account=account,
                    defaults={"scoring_model": model, "landmark": at, "raw_score": raw,
                              "score": score, "last_activity_at": latest, "computed_at": at},
                )  # fmt: skip
                scores[account.pk] = (raw, score)
            raise RolledBack
    except RolledBack:
        pass
    return scores
