"""The naive ORM loop the rollup benchmark times against the product's recompute.

What is naive is the loop (a query per account and per contact, a write per
row); the math is the product's pure reference, engagement/scoring.py, called
for every row. The independent check of the scores is `reference.REFERENCE_SQL`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction

from accounts.models import Account, Contact
from bench import RolledBack
from bench.rollup.reference import Scores
from engagement.models import AccountEngagement, Activity, ContactEngagement, ScoringModel
from engagement.rollup.scoring_models import scoring_of
from engagement.scoring import forward_term, normalised_score, raw_score


def naive_scores(*, segment_id: int, at: dt.datetime, account_ids: Sequence[int]) -> Scores:
    """What one would write first: per account, per contact, a query and a Python
    sum, each result saved with update_or_create, as the recompute saves its
    contact sums and account scores. The writes are rolled back afterwards, so
    the product's rows stay as its recompute left them."""
    model = ScoringModel.objects.get(segment_id=segment_id, is_current=True)
    params = scoring_of(model).params
    rate = params.decay_rate
    scores: Scores = {}
    try:
        with transaction.atomic():
            for account in Account.objects.filter(pk__in=account_ids):
                contact_points: list[float] = []
                latest = None
                people = Contact.objects.filter(
                    activities__account=account, activities__excluded_reason=""
                ).distinct()
                for contact in people:
                    multiplier = params.multiplier(contact.seniority)
                    points, contact_latest = 0.0, None
                    for activity in Activity.objects.filter(
                        account=account, contact=contact, excluded_reason=""
                    ):
                        # Against the landmark `at`, as the contact sum is saved.
                        points += forward_term(
                            weight=params.weight(activity.type), multiplier=multiplier,
                            occurred_at=activity.occurred_at, landmark=at, rate=rate,
                        )  # fmt: skip
                        contact_latest = max(contact_latest or activity.occurred_at,
                                             activity.occurred_at)  # fmt: skip
                    ContactEngagement.objects.update_or_create(
                        segment_id=segment_id, account=account, contact=contact,
                        defaults={"landmark": at, "decay_sum": points,
                                  "last_activity_at": contact_latest},
                    )  # fmt: skip
                    contact_points.append(points)
                    if latest is None or (contact_latest and contact_latest > latest):
                        latest = contact_latest
                anonymous = 0.0
                for activity in Activity.objects.filter(
                    account=account, contact__isnull=True, excluded_reason=""
                ):
                    anonymous += forward_term(
                        weight=params.weight(activity.type), multiplier=1.0,
                        occurred_at=activity.occurred_at, landmark=at, rate=rate,
                    )  # fmt: skip
                raw = raw_score(
                    contact_points=contact_points, anonymous_points=anonymous,
                    cap=params.contact_cap, anonymous_factor=params.anonymous_factor,
                )  # fmt: skip
                score = normalised_score(raw, params.scale)
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
