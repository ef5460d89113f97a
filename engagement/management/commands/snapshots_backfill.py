"""`manage.py snapshots_backfill --since DATE`: daily score history from past activity."""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from engagement.retention_selectors import HistoryDropped
from engagement.rollup import scoring_models, snapshots


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date in YYYY-MM-DD form") from None


class Command(BaseCommand):
    help = (
        "Write a daily engagement snapshot for every day from --since to --until "
        "(default yesterday), scored from the activity before each day's end."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--since", type=_day, required=True)
        parser.add_argument("--until", type=_day, default=None)
        parser.add_argument("--segment", type=int, default=None, help="Segment id (default all).")

    def handle(self, *args: Any, **options: Any) -> None:
        until = options["until"] or timezone.now().date() - dt.timedelta(days=1)
        if options["since"] > until:
            raise CommandError(f"--since {options['since']} is after --until {until}")
        wanted = [options["segment"]] if options["segment"] else None
        days = (until - options["since"]).days + 1
        for segment_id in scoring_models.segments_for_scoring(segment_ids=wanted):
            with tqdm(total=days, unit="day", desc=f"segment {segment_id}",
                      disable=options["verbosity"] == 0) as bar:  # fmt: skip
                try:
                    written = snapshots.snapshots_backfill(
                        segment_id=segment_id,
                        since=options["since"],
                        until=until,
                        on_day=bar.update,
                    )
                except HistoryDropped as problem:
                    raise CommandError(str(problem)) from None
            self.stdout.write(f"segment {segment_id}: {written} snapshots over {days} days")
