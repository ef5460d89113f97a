"""`manage.py activity_retention [--months N]`: fold and drop old raw activity."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from engagement.services.retention import activity_retention_apply


class Command(BaseCommand):
    help = (
        "Keep --months whole months of raw activity before the current month "
        "(default ACTIVITY_RETENTION_MONTHS): older activity is folded into the carried "
        "sums that scores, history and program touches read, then deleted. Missing daily "
        "snapshots of the dropped days are backfilled first."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--months", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        months = options["months"] or settings.ACTIVITY_RETENTION_MONTHS
        if not months or months < 1:
            raise CommandError(
                "give --months N (at least 1) or set ACTIVITY_RETENTION_MONTHS: nothing is "
                "dropped without one"
            )
        try:
            result = activity_retention_apply(months=months)
        except ValueError as problem:
            raise CommandError(str(problem)) from None
        self.stdout.write(
            f"activity before {result.cutoff:%Y-%m-%d}: {result.activities_dropped:,} rows "
            f"dropped; {result.carried_rows:,} carried score rows, "
            f"{result.tracking_keys_carried:,} carried tracking-key rows; "
            f"{result.snapshot_days_backfilled:,} snapshot days backfilled first"
        )
