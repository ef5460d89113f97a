"""Build the readiness training data and say what it holds and what it cost:
`manage.py readiness_training_data [--since 2025-12-01] [--until 2026-11-30]
[--segment ID] [--today YYYY-MM-DD]`. Stores nothing (the model of issue 19
part 2 will read the same selector)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import ICPSegment
from readiness.management.arguments import day
from readiness.months import month_end, month_ends_between
from readiness.training import training_data


class Command(BaseCommand):
    help = "Build each segment's point-in-time readiness training data; print its size and time."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", type=day, help="First month (default: 12 months back).")
        parser.add_argument("--until", type=day, help="Last month end (default: the last past).")
        parser.add_argument("--segment", type=int, help="One segment's id (default: all active).")
        parser.add_argument("--today", type=day, help="Today (default: today, UTC).")

    def handle(self, *args: Any, **options: Any) -> None:
        today = options["today"] or timezone.now().date()
        until = options["until"] or month_end(today.replace(day=1) - dt.timedelta(days=1))
        since = options["since"] or (until - dt.timedelta(days=365))
        if until >= today:
            raise CommandError(f"--until {until} must be before today ({today})")
        ends = month_ends_between(since, until)
        if not ends:
            raise CommandError(f"no month end between {since} and {until}")
        segments = ICPSegment.objects.filter(is_active=True).order_by("pk")
        if options["segment"] is not None:
            segments = segments.filter(pk=options["segment"])
            if not segments.exists():
                raise CommandError(f"no active segment with id {options['segment']}")
        self.stdout.write(f"month ends {ends[0]} .. {ends[-1]} ({len(ends)}), today {today}")
        for segment in segments:
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                data = training_data(segment_id=segment.pk, month_ends=ends, today=today)
            seconds = time.perf_counter() - started
            _, labels = data.labelled()
            self.stdout.write(
                f"{segment.name}: {len(data)} rows x {len(data.feature_names)} features, "
                f"{len(labels)} labelled ({sum(labels)} positive), "
                f"{len(data) - len(labels)} unknown; {len(queries)} queries, {seconds:.2f} s"
            )
