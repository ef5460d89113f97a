"""Score every member of each active segment now (the beat task does it daily
at 01:05 UTC): `manage.py readiness_scores [--segment ID ...] [--today
YYYY-MM-DD]`. Prints per segment the accounts scored, how many fall back,
and the readiness alerts raised."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from readiness.management.arguments import segments_and_today_add
from readiness.model_selectors import active_segment_ids_missing
from readiness.services import readiness_scores_refresh


class Command(BaseCommand):
    help = "Score every member of each active segment (or the ones given) with its latest model."

    def add_arguments(self, parser: CommandParser) -> None:
        segments_and_today_add(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        wanted = options["segment"]
        if wanted:
            missing = active_segment_ids_missing(wanted)
            if missing:
                raise CommandError(f"no active segment with id {', '.join(map(str, missing))}")
        scored = readiness_scores_refresh(segment_ids=wanted, today=options["today"])
        for segment in scored:
            if segment.model_version is None:
                self.stdout.write(f"segment {segment.segment_id}: no model version yet, not scored")
                continue
            fallback = segment.accounts if segment.fallback else 0
            self.stdout.write(
                f"segment {segment.segment_id} (v{segment.model_version}): "
                f"{segment.accounts} scored, {fallback} falling back, {segment.alerts} alert(s)"
            )
        self.stdout.write(f"Scored {len(scored)} segment(s)")
