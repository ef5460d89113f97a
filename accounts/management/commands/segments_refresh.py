"""`manage.py segments_refresh [--segment NAME]`: re-evaluate segment membership and fit."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import ICPSegment
from accounts.services import segment_memberships_refresh


class Command(BaseCommand):
    help = "Recompute which accounts belong to each ICP segment (or one) and how well they fit."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--segment", help="Segment name (default: every segment).")

    def handle(self, *args: Any, **options: Any) -> None:
        segments = ICPSegment.objects.order_by("name")
        if options["segment"]:
            segments = segments.filter(name=options["segment"])
            if not segments.exists():
                raise CommandError(f"no segment named {options['segment']!r}")
        for segment in segments:
            result = segment_memberships_refresh(segment_id=segment.pk)
            self.stdout.write(
                f"{segment.name}: {result.added} joined, {result.removed} left, "
                f"{result.updated} fit changed, {result.unchanged} unchanged"
            )
