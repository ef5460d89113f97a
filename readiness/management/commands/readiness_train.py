"""Train the readiness models now (the beat task does it monthly):
`manage.py readiness_train [--segment ID ...] [--today YYYY-MM-DD]`. Each
segment gets a new version, trained or falling back; progress is printed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from readiness.management.arguments import segments_and_today_add
from readiness.services import readiness_models_train


class _PrintedProgress:
    """readiness.services.TrainProgress that prints a line per segment."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out, self.done, self.total = out, 0, 0

    def set_total(self, total: int) -> None:
        self.total = total
        self.out.write(f"training {total} segment(s)")

    def advance(self, count: int = 1, *, message: str | None = None) -> None:
        self.done += count
        self.out.write(f"[{self.done}/{self.total}] {message or ''}")

    def finish(self, *, message: str, result: dict[str, Any] | None = None) -> None:
        self.out.write(message)


class Command(BaseCommand):
    help = "Train a new readiness model version per active segment (or the ones given)."

    def add_arguments(self, parser: CommandParser) -> None:
        segments_and_today_add(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            readiness_models_train(
                segment_ids=options["segment"],
                today=options["today"],
                progress=_PrintedProgress(self.stdout),
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
