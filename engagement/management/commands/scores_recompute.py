"""`manage.py scores_recompute [--segment NAME_OR_ID]`: rebuild scores from all activity.

Each segment is rebuilt in ranges of member accounts, one transaction each, with
a progress bar; after a crash, running the command again continues where the
last committed range ended.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import ICPSegment, SegmentMembership
from engagement.rollup import recompute, scoring_models


class Command(BaseCommand):
    help = "Recompute engagement scores of every scored segment (or one) from all activity."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--segment", help="Segment name or id (default: every segment).")
        parser.add_argument(
            "--chunk",
            type=int,
            default=None,
            help=(
                "Member accounts per transaction (default: as many as hold about "
                f"{recompute.RECOMPUTE_CHUNK_ACTIVITIES:,} activities)."
            ),
        )

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
        if options["chunk"] is not None and options["chunk"] < 1:
            raise CommandError(f"--chunk must be at least 1, got {options['chunk']}")
        # A segment without a scoring model gets the default one first.
        segment_ids = scoring_models.segments_for_scoring(segment_ids=wanted)
        if not segment_ids:
            raise CommandError("no active segment to score")
        for segment_id in segment_ids:
            members = SegmentMembership.objects.filter(segment_id=segment_id).count()
            with tqdm(
                total=members, unit="account", desc=f"segment {segment_id}",
                disable=options["verbosity"] == 0,
            ) as bar:  # fmt: skip
                result = recompute.scores_recompute(
                    segment_id=segment_id, chunk_accounts=options["chunk"], on_chunk=bar.update
                )
            self.stdout.write(f"segment {segment_id}: {result.accounts_refreshed} accounts scored")
