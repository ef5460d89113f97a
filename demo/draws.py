"""Small pure helpers of the demo process: random draws (Poisson, weighted
choice), money, names, titles, addresses, and the demo holdout seed."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from decimal import Decimal
from statistics import NormalDist
from typing import Any

from accounts.models import JobFunction, Seniority
from campaigns.holdout import HOLDOUT_FRACTION_DEFAULT, holdout_draw
from demo.catalogue import (
    C_LEVEL_TITLES,
    FUNCTION_TITLE_WORD,
    INDIVIDUAL_TITLES,
    UNKNOWN_SENIORITY_TITLES,
)
from demo.dataset import DEMO_HOLDOUT_MIN

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


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def email_local(text: str) -> str:
    # Contact emails are ASCII: "Müller" -> "muller".
    ascii_text = text.translate(str.maketrans("äöüåéøß", "aouaeos"))
    return re.sub(r"[^a-z0-9]+", "", ascii_text.lower())


def weighted(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def money(value: float, step: int = 1) -> Decimal:
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


def ip_address(index: int, slot: int) -> str:
    # 198.18.0.0/15 is reserved for benchmarks, so demo IPs never point at a real network.
    offset = (index * 4 + slot) % (2**17)
    return f"198.{18 + offset // 65536}.{(offset // 256) % 256}.{offset % 256}"
