"""`manage.py activity_partitions [--since YYYY-MM]`: make the activity table's
monthly partitions (PostgreSQL) and list them."""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from engagement.partition_selectors import activity_partitions
from engagement.services.partitions import activity_partitions_ensure


class Command(BaseCommand):
    help = (
        "Make the activity table's partitions of this month and the next two, of every "
        "month from --since (before loading history from then), and of the months whose "
        "rows wait in the default partition (moved out); then list them. PostgreSQL only: "
        "SQLite keeps one table."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--since", default=None, help="first month, YYYY-MM")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("the activity table is partitioned on PostgreSQL only")
        since = None
        if options["since"]:
            try:
                since = dt.datetime.strptime(options["since"], "%Y-%m").date()
            except ValueError:
                raise CommandError(
                    f"--since {options['since']!r}: give a month as YYYY-MM"
                ) from None
        made = activity_partitions_ensure(since=since)
        self.stdout.write(f"{len(made)} partitions made")
        for partition in activity_partitions():
            month = f"{partition.month:%Y-%m}" if partition.month else "default"
            self.stdout.write(f"{month}  {partition.name}")
