"""`manage.py import_csv KIND FILE`: load a CRM or ad-platform export, all or nothing."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.csvimport import FileRefused, column_map_parse
from imports.services import IMPORT_KINDS, ImportRejected, ImportResult, csv_import

# Enough to show a person what is wrong without flooding the terminal.
ERRORS_SHOWN = 200


class Command(BaseCommand):
    help = (
        "Import a CSV file of accounts, contacts, opportunities, spend, activities or ip_ranges. "
        "Every row is validated first; with any invalid row nothing is imported and every "
        "problem is listed (row, column, value, reason), unless --skip-invalid."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("kind", choices=sorted(IMPORT_KINDS))
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--map",
            default="",
            metavar="COLUMN=FIELD,...",
            help="Map the file's column names to fields, e.g. --map 'Org=name,Web=domain'.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Validate and count; write nothing."
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Import the valid rows and write the rejected ones, with their errors, to "
            "--rejects (default: FILE with .rejects.csv).",
        )
        parser.add_argument("--rejects", type=Path, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as problem:
            raise CommandError(f"cannot read {path}: {problem.strerror}") from None
        try:
            result = csv_import(
                kind=options["kind"],
                data=data,
                column_map=column_map_parse(options["map"]),
                dry_run=options["dry_run"],
                skip_invalid=options["skip_invalid"],
                progress=options["verbosity"] > 0,
            )
        except FileRefused as problem:
            raise CommandError(f"{path}: {problem}") from None
        except ImportRejected as rejected:
            self._errors_print(rejected.result)
            raise CommandError(
                f"{path}: nothing imported: {len(rejected.result.errors)} problem(s) in "
                f"{len(rejected.result.rejected)} of {rejected.result.rows} row(s). "
                "Fix them, or import the valid rows with --skip-invalid."
            ) from None
        self._summary_print(path, result, options["rejects"])

    def _errors_print(self, result: ImportResult) -> None:
        for error in result.errors[:ERRORS_SHOWN]:
            self.stderr.write(str(error))
        if len(result.errors) > ERRORS_SHOWN:
            self.stderr.write(f"... and {len(result.errors) - ERRORS_SHOWN} more")

    def _summary_print(self, path: Path, result: ImportResult, rejects: Path | None) -> None:
        verb = "would be" if result.dry_run else "were"
        self.stdout.write(
            f"{result.kind}: {result.rows} rows read; {result.created} {verb} created, "
            f"{result.updated} updated, {result.unchanged} unchanged, "
            f"{len(result.rejected)} rejected."
        )
        if result.ignored_columns:
            self.stdout.write("Ignored columns: " + ", ".join(result.ignored_columns))
        if result.rejected:
            self._errors_print(result)
            target = rejects or path.with_suffix(".rejects.csv")
            target.write_text(result.rejects_csv(), encoding="utf-8")
            self.stdout.write(f"Rejected rows, with their errors, written to {target}")
