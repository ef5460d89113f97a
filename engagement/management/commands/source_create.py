"""`manage.py source_create NAME`: a new tracking source; its write key is the last line."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from engagement.services.sources import source_create


class Command(BaseCommand):
    help = "Create a tracking source and print its write key (shown only this once)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name", help="A name for the site, app or import this source is.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            issued = source_create(name=options["name"])
        except ValueError as problem:
            raise CommandError(str(problem)) from None
        self.stdout.write(
            f"Created source {issued.source.name!r} (id {issued.source.pk}). "
            "Keep the write key below: only its hash is stored."
        )
        self.stdout.write(issued.write_key)
