"""`manage.py seed_demo`: deterministic demo data (docs/demo-data.md)."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from django.core.management.base import BaseCommand

from accounts.models import Account
from demo.dataset import WINDOW_DAYS, WINDOW_DAYS_MAX
from demo.services import DemoLogin, demo_logins, demo_seed

DEFAULT_ACCOUNTS = 200
DEFAULT_SEED = 42
# Below this the three campaigns have too few targets for a holdout to mean anything.
MIN_ACCOUNTS = 10
# A guard against a typo (an extra zero) that would run for an hour.
MAX_ACCOUNTS = 50_000


def _whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high` (no upper bound
    when None), or an error naming the value
    (argparse prints it with the usage; call_command raises CommandError)."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ArgumentTypeError(f"{value!r} is not a whole number") from None
        if high is None and number < low:
            raise ArgumentTypeError(f"{number} is below {low}")
        if high is not None and not low <= number <= high:
            raise ArgumentTypeError(f"{number} is not between {low} and {high}")
        return number

    return parse


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ArgumentTypeError(f"{value!r} is not a date in YYYY-MM-DD form") from None


class Command(BaseCommand):
    help = (
        "Seed deterministic demo data: accounts, buying teams, ICP segments, twelve months "
        "(or --days) of activity, campaigns with holdouts, spend, opportunities and one user "
        "per role. Safe to re-run: nothing is duplicated."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--accounts",
            type=_whole_number(MIN_ACCOUNTS, MAX_ACCOUNTS),
            default=DEFAULT_ACCOUNTS,
            help=f"Number of accounts (default {DEFAULT_ACCOUNTS}).",
        )
        parser.add_argument(
            "--seed",
            type=_whole_number(0),
            default=DEFAULT_SEED,
            help=f"Random seed; the same seed gives the same data (default {DEFAULT_SEED}).",
        )
        parser.add_argument(
            "--today",
            type=_day,
            default=None,
            help="Last day of the history window, YYYY-MM-DD (default: today, UTC).",
        )
        parser.add_argument(
            "--days",
            type=_whole_number(WINDOW_DAYS, WINDOW_DAYS_MAX),
            default=WINDOW_DAYS,
            help=(
                f"Days of history up to --today, {WINDOW_DAYS} to {WINDOW_DAYS_MAX} "
                f"(default {WINDOW_DAYS}); the campaigns run in the last {WINDOW_DAYS}."
            ),
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Seed only when there are no accounts yet; otherwise just print the logins.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Account.objects.exists():
            self.stdout.write("Accounts already exist; not seeding demo data.")
            self._logins_print(demo_logins())
            return
        today: date = options["today"] or datetime.now(UTC).date()
        result = demo_seed(
            accounts=options["accounts"],
            seed=options["seed"],
            today=today,
            days=options["days"],
            # Verbosity 0 asks for silence, progress bar included.
            progress=options["verbosity"] > 0,
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data seeded in {result.seconds:.1f}s "
                f"(accounts={options['accounts']}, seed={options['seed']}, today={today})."
            )
        )
        width = max(len(label) for label in result.counts)
        for label, count in result.counts.items():
            self.stdout.write(f"  {label:<{width}}  {count:>9,}")
        self._logins_print(result.logins)

    def _logins_print(self, logins: tuple[DemoLogin, ...]) -> None:
        self.stdout.write("Demo logins (username / password, role):")
        for login in logins:
            note = "" if login.created else "  (if unchanged)"
            self.stdout.write(f"  {login.username:<10} / {login.password:<15} {login.role}{note}")
