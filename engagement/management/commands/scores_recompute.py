"""`manage.py scores_recompute [--segment NAME_OR_ID]`: rebuild scores from all activity."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import ICPSegment
from engagement import rollup


class Command(BaseCommand):
    help = "Recompute engagement scores of every scored segment (or one) from all activity."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--segment", help="Segment name or id (default: every segment).")

    def handle(self, *args: Any, **options: Any) -> None:
        wanted = None
        if options["segment"]:
            value = options["segment"]
            segment = ICPSegment.objects.filter(name=value).first() or (
                ICPSegment.objects.filter(pk=int(value)).first() if value.isdigit() else None
            )
            if segment is None:
                raise CommandError(f"no segment named or numbered {value!r}")
            wanted = [segment.pk]
        segment_ids = rollup.segments_scored(segment_ids=wanted)
        if not segment_ids:
            raise CommandError("no segment has a current scoring model")
        for segment_id in tqdm(segment_ids, unit="segment", disable=options["verbosity"] == 0):
            result = rollup.scores_recompute(segment_id=segment_id)
            self.stdout.write(
                f"segment {segment_id}: {result.accounts_refreshed} accounts scored, "
                f"activity up to id {result.activities_through}"
            )
