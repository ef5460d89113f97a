"""The randomised holdout of a campaign's target list (DESIGN 5), with no ORM.

The one rule, for the product and the demo alike: an account is in a
campaign's holdout when its draw, the first 8 bytes of
`sha256("<holdout_seed>:<account key>")` read as a number and divided by 2^64
(uniform in [0, 1)), is below the campaign's holdout fraction.

So an account's arm depends on the campaign's seed, the fraction and that
account alone: adding or removing other targets never moves it into or out
of the holdout, a list drawn in several steps holds the same accounts as one
drawn at once, and anyone can recompute the split from the stored seed. The
realised share is binomial around the asked fraction (on 10,000 targets at
10%, within 1 point 99.9% of the time), not exact for a given list.

The account key is the account's domain, its natural key (which the demo
generator knows before the accounts have database ids), or `id:<pk>` for an
account without one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from fractions import Fraction

# The share of a campaign's targets held out when none is given (DESIGN 5).
HOLDOUT_FRACTION_DEFAULT = Decimal("0.100")

_DRAW_BITS = 64


def holdout_key(*, account_id: int, domain: str | None) -> str:
    """The key an account is drawn under: its domain, else its id."""
    return domain if domain else f"id:{account_id}"


def holdout_draw_value(*, seed: int, key: str) -> int:
    """The account's draw under `seed`, an integer in [0, 2^64): uniform and
    independent between accounts and between seeds."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[: _DRAW_BITS // 8], "big")


def _threshold(fraction: Decimal | float | str) -> Fraction:
    share = Fraction(str(fraction))
    if not 0 <= share < 1:
        raise ValueError(f"holdout fraction {fraction} is outside [0, 1)")
    return share * 2**_DRAW_BITS


def in_holdout(*, seed: int, key: str, fraction: Decimal | float | str) -> bool:
    """True when the account keyed `key` is held out: draw / 2^64 < fraction (exact)."""
    return holdout_draw_value(seed=seed, key=key) < _threshold(fraction)


def holdout_draw(
    keys: Iterable[str], *, fraction: Decimal | float | str, seed: int
) -> frozenset[str]:
    """The keys among `keys` that are held out (each decided on its own)."""
    threshold = _threshold(fraction)
    return frozenset(key for key in set(keys) if holdout_draw_value(seed=seed, key=key) < threshold)


def holdout_frozen(*, starts_on: date, today: date) -> bool:
    """Whether the holdout may no longer be redrawn (a new fraction or seed):
    from the campaign's first day on. By then the treated accounts have been
    reached, and a redraw would move some of them into the holdout, which must
    be accounts the campaign never touched, or lift compares nothing. Adding
    targets stays allowed: each new account is drawn on its own and no existing
    target changes arm."""
    return today >= starts_on
