"""`manage.py faults_check [--short] [--messages N] [--seconds S] [--rounds R] [--out FILE]`:
tracking through gunicorn under faults (docs/operations.md, "Fault check").

Starts its own PostgreSQL cluster and redis-server (never the configured ones),
sends N track calls with the Segment Python library while the worker is killed
with SIGKILL, PostgreSQL is restarted and the broker is restarted, each R times,
then checks every message is stored exactly once, the worker is alive, nothing
is left unscored and every score equals a full recompute. Exits non-zero if a
check fails.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError

from bench import BenchmarkError
from bench.arguments import whole_number
from bench.faults import check
from bench.faults.services import missing_programs
from bench.faults.traffic import segment_library
from bench.stopping import sigterm_as_exit

# --short: what CI runs (tests/bench/test_faults_check.py), each fault once.
SHORT = check.FaultOptions(messages=2_000, seconds=20.0, rounds=1)
DEFAULT = check.FaultOptions()
MAX_MESSAGES = 1_000_000


class Command(BaseCommand):
    help = (
        "Fault check: on a PostgreSQL and a redis-server it starts for itself, the Segment "
        "Python library sends known message ids through gunicorn while the Celery worker is "
        "killed (SIGKILL) and restarted, PostgreSQL is restarted and the broker is restarted. "
        "Then every message must be stored exactly once, the worker alive, nothing unscored "
        "and every score equal to a full recompute; exits non-zero otherwise."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--short",
            action="store_true",
            help=f"CI's run: {SHORT.messages:,} messages over {SHORT.seconds:.0f}s, each fault "
            "once (the other options still apply).",
        )
        parser.add_argument(
            "--messages",
            type=whole_number("--messages", 1, MAX_MESSAGES),
            help=f"Track calls to send (default {DEFAULT.messages:,}; --short {SHORT.messages:,}).",
        )
        parser.add_argument(
            "--seconds",
            type=whole_number("--seconds", 5, 3600),
            help=f"Seconds to spread them over (default {DEFAULT.seconds:.0f}; "
            f"--short {SHORT.seconds:.0f}).",
        )
        parser.add_argument(
            "--rounds",
            type=whole_number("--rounds", 1, 20),
            help=f"Times each fault is injected (default {DEFAULT.rounds}; "
            f"--short {SHORT.rounds}).",
        )
        parser.add_argument("--out", type=Path, help="Also write the report to FILE as JSON.")
        parser.add_argument(
            "--logs",
            type=Path,
            help="Copy the worker's, PostgreSQL's and redis-server's logs to this directory.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        missing = missing_programs()
        if missing:
            raise CommandError(
                "faults_check starts its own services and needs " + ", ".join(missing)
            )
        segment_library()
        base = SHORT if options["short"] else DEFAULT
        chosen = check.FaultOptions(
            messages=options["messages"] or base.messages,
            seconds=float(options["seconds"] or base.seconds),
            rounds=options["rounds"] or base.rounds,
        )
        say = (
            (lambda line: self.stdout.write(f"  {line}"))
            if options["verbosity"] > 0
            else (lambda _line: None)
        )
        # SIGTERM ends the run through the cleanup that stops every service it started.
        try:
            with sigterm_as_exit():
                report = check.run(chosen, say, logs=options["logs"])
        except BenchmarkError as problem:
            raise CommandError(str(problem)) from None
        for line in report.lines():
            self.stdout.write(line)
        if options["out"]:
            options["out"].write_bytes(
                orjson.dumps(
                    report.as_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
                )
            )
        failures = report.failures()
        if failures:
            raise CommandError("fault check failed: " + "; ".join(failures))
