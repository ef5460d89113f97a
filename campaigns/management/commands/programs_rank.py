"""Rank programs for a period now: `manage.py programs_rank --period 2026-01-01:2026-06-30`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns import metrics
from campaigns.models import RankingMetric
from campaigns.services import ranking_run


def _period(text: str) -> tuple[dt.date, dt.date]:
    start, sep, end = text.partition(":")
    try:
        first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    except ValueError:
        raise CommandError(f"--period {text!r} is not START:END in YYYY-MM-DD") from None
    if not sep or last < first:
        raise CommandError(f"--period {text!r}: the end must not be before the start")
    return first, last


class Command(BaseCommand):
    help = "Rank programs with spend in a period and flag the bottom 10% (stored as a run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", required=True, help="START:END, ISO dates")
        parser.add_argument("--metric", choices=RankingMetric.values,
                            default=RankingMetric.PIPELINE_PER_SPEND)  # fmt: skip
        parser.add_argument("--flag-fraction", default="0.1")
        parser.add_argument("--window-days", type=int, default=metrics.INFLUENCE_WINDOW_DAYS)

    def handle(self, *args: Any, **options: Any) -> None:
        start, end = _period(options["period"])
        try:
            fraction = Decimal(options["flag_fraction"])
        except InvalidOperation:
            raise CommandError(
                f"--flag-fraction {options['flag_fraction']!r} is not a number"
            ) from None
        if not 0 < fraction <= 1:
            raise CommandError(f"--flag-fraction {fraction} must be in (0, 1]")
        run = ranking_run(start=start, end=end, metric=options["metric"], flag_fraction=fraction,
                          window_days=options["window_days"])  # fmt: skip
        entries = run.entries.select_related("program").order_by("rank", "program__name")
        for entry in entries:
            rank = "-" if entry.rank is None else str(entry.rank)
            if entry.too_early:
                value = f"{entry.metric_value}  too early to judge (window still open)"
            else:
                value = "no spend" if entry.rank is None else f"{entry.metric_value}"
            flag = "  FLAGGED" if entry.is_flagged else ""
            self.stdout.write(f"{rank:>4}  {entry.program.name}  {value}{flag}")
        self.stdout.write(self.style.SUCCESS(f"ranking run {run.pk} stored"))
