"""The rollup benchmark's hand-written reference: every member account's raw and
normalised score in one SQL statement, the product's stored scores, and the
agreement check between them.

The reference is intentionally independent of the product: it does not call
engagement/scoring.py or engagement/rollup/, so that their agreement on every
account means something.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.db import connection

from bench import BenchmarkError
from engagement.models import AccountEngagement, ScoringModel

# Agreement: raw scores within this relative difference, integer scores equal.
RAW_RELATIVE_TOLERANCE = 1e-9
# Raw scores below this are zero for the relative comparison (a contact whose
# positive and negative terms cancel leaves float dust of either sign).
RAW_ZERO = 1e-9

# Every member account's raw and normalised score at %(at)s, in one statement,
# straight from the activity table, in double precision. The rules of DESIGN 4
# as the product applies them (engagement/rollup/, engagement/scoring.py):
# - an activity counts if it is not excluded (junk contact, unsupported country
#   ...) and its account is a member of the segment; all stored activity counts,
#   the lookback only decides the stage;
# - term = weight(type) (0 for types without one, negative ones included)
#   * seniority multiplier (1.0 for a seniority without one, and for anonymous
#   activity) * exp(-lambda * days from the activity to %(at)s);
# - a contact's points are summed per (contact, account of the activity), and
#   capped: min(cap, max(0, points));
# - anonymous activity (no contact, account resolved) counts factor * max(0, sum);
# - score = round(100 * (1 - exp(-raw / scale))), half to even as Python's round
#   (round() of a double in PostgreSQL rounds half to even too).
REFERENCE_SQL = """
WITH weights (type, weight) AS (SELECT * FROM unnest(%(types)s::text[], %(weights)s::float8[])),
multipliers (seniority, multiplier) AS (
    SELECT * FROM unnest(%(seniorities)s::text[], %(multipliers)s::float8[])
),
members AS (
    SELECT account_id FROM accounts_segmentmembership WHERE segment_id = %(segment_id)s
),
per_person AS (
    SELECT a.account_id, a.contact_id,
           sum(coalesce(w.weight, 0)
               * CASE WHEN a.contact_id IS NULL THEN 1.0 ELSE coalesce(m.multiplier, 1.0) END
               * exp(%(minus_rate)s::float8
                     * (%(at_epoch)s::float8 - date_part('epoch', a.occurred_at)) / 86400.0)
           ) AS points
    FROM engagement_activity a
    JOIN members USING (account_id)
    LEFT JOIN weights w ON w.type = a.type
    LEFT JOIN accounts_contact c ON c.id = a.contact_id
    LEFT JOIN multipliers m ON m.seniority = c.seniority
    WHERE a.excluded_reason = ''
    GROUP BY a.account_id, a.contact_id
),
raw AS (
    SELECT account_id,
           coalesce(sum(least(%(cap)s::float8, greatest(0.0, points)))
                    FILTER (WHERE contact_id IS NOT NULL), 0.0)
           + %(anonymous_factor)s::float8
             * greatest(0.0, coalesce(sum(points) FILTER (WHERE contact_id IS NULL), 0.0))
             AS raw_score
    FROM per_person
    GROUP BY account_id
)
SELECT members.account_id, coalesce(raw.raw_score, 0.0) AS raw_score,
       round(100.0 * (1.0 - exp(-coalesce(raw.raw_score, 0.0) / %(scale)s::float8)))::int
FROM members LEFT JOIN raw USING (account_id)
"""

Scores = dict[int, tuple[float, int]]


def reference_parameters(*, segment_id: int, at: dt.datetime) -> dict[str, Any]:
    model = ScoringModel.objects.get(segment_id=segment_id, is_current=True)
    weights = {str(k): float(v) for k, v in model.activity_weights.items()}
    multipliers = {str(k): float(v) for k, v in model.seniority_multipliers.items()}
    return {
        "segment_id": segment_id,
        "types": list(weights),
        "weights": list(weights.values()),
        "seniorities": list(multipliers),
        "multipliers": list(multipliers.values()),
        "minus_rate": -math.log(2) / model.half_life_days,
        "at_epoch": at.timestamp(),
        "cap": float(model.contact_cap),
        "anonymous_factor": float(model.anonymous_factor),
        "scale": float(model.scale),
    }


def reference_scores(*, segment_id: int, at: dt.datetime) -> Scores:
    """account id -> (raw score, score) of every member account, by REFERENCE_SQL."""
    with connection.cursor() as cursor:
        cursor.execute(REFERENCE_SQL, reference_parameters(segment_id=segment_id, at=at))
        return {account_id: (raw, score) for account_id, raw, score in cursor.fetchall()}


def product_scores(*, segment_id: int) -> Scores:
    """account id -> (raw score, score) as the product stored them."""
    return {
        account_id: (raw, score)
        for account_id, raw, score in AccountEngagement.objects.filter(
            segment_id=segment_id
        ).values_list("account_id", "raw_score", "score")
    }


@dataclass(frozen=True)
class Mismatch:
    account_id: int
    reference: tuple[float, int] | None
    product: tuple[float, int] | None

    def __str__(self) -> str:
        def shown(value: tuple[float, int] | None) -> str:
            return "missing" if value is None else f"raw {value[0]!r} score {value[1]}"

        return (
            f"account {self.account_id}: reference {shown(self.reference)}, "
            f"product {shown(self.product)}"
        )


def raw_scores_agree(first: float, second: float) -> bool:
    larger = max(abs(first), abs(second))
    return larger < RAW_ZERO or abs(first - second) <= RAW_RELATIVE_TOLERANCE * larger


def scores_compare(reference: Scores, product_side: Scores) -> list[Mismatch]:
    """Every account of either side whose raw or integer score differs, or that
    only one side has."""
    mismatches = []
    for account_id in sorted(reference.keys() | product_side.keys()):
        expected, got = reference.get(account_id), product_side.get(account_id)
        if (
            expected is None
            or got is None
            or expected[1] != got[1]
            or not raw_scores_agree(expected[0], got[0])
        ):
            mismatches.append(Mismatch(account_id, expected, got))
    return mismatches


def agreement_check(*, reference: Scores, product_side: Scores, when: str) -> int:
    """The number of accounts checked; BenchmarkError listing a few on any mismatch."""
    mismatches = scores_compare(reference, product_side)
    if mismatches:
        listed = "\n  ".join(str(m) for m in mismatches[:5])
        raise BenchmarkError(
            f"{when}: the product and the hand-written reference disagree on "
            f"{len(mismatches):,} of {len(reference | product_side):,} accounts, e.g.\n  {listed}"
        )
    return len(reference)
