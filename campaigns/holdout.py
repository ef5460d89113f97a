"""The randomised holdout of a campaign's target list (DESIGN 5), with no ORM.

Each target gets a pseudo-random draw `sha256(seed:account_id)`; the
`round(fraction * n)` targets with the smallest draws form the holdout. So the
split is reproducible from the stored seed alone, the fraction is exact (to the
nearest account), and adding targets later moves few accounts: an account
leaves the holdout only when a newcomer draws lower than it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal


def holdout_size(*, targets: int, fraction: Decimal | float) -> int:
    """How many of `targets` accounts the holdout keeps: fraction * n, halves rounded up."""
    if not 0 <= Decimal(str(fraction)) < 1:
        raise ValueError(f"holdout fraction {fraction} is outside [0, 1)")
    exact = Decimal(str(fraction)) * targets
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def holdout_draw_key(*, seed: int, account_id: int) -> bytes:
    """The account's draw under `seed`: uniform, independent between accounts."""
    return hashlib.sha256(f"{seed}:{account_id}".encode()).digest()


def holdout_draw(
    account_ids: Iterable[int], *, fraction: Decimal | float, seed: int
) -> frozenset[int]:
    """The accounts of the target list kept out of every audience."""
    unique = sorted(set(account_ids))
    size = holdout_size(targets=len(unique), fraction=fraction)
    by_draw = sorted(unique, key=lambda pk: (holdout_draw_key(seed=seed, account_id=pk), pk))
    return frozenset(by_draw[:size])
