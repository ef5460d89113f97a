"""`manage.py bench [--only ingest rollup pages scaling] [--events N] [--accounts N ...]
[--sizes N,M] [--postgres machine,tuned,defaults] [--out FILE]`: benchmarks on PostgreSQL.

docs/benchmarks.md records the figures, how to reproduce them and what limits them.
"""

from __future__ import annotations

from argparse import ArgumentParser
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

import orjson
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from bench import BENCHMARKS, DEFAULT_BENCHMARKS, BenchmarkError
from bench.arguments import names, whole_number, whole_numbers
from bench.ingest import benchmark as ingest
from bench.pages import benchmark as pages
from bench.pages import compare as pages_compare
from bench.pages import sizes as pages_sizes
from bench.postgres import SETUPS
from bench.rollup import benchmark as rollup
from bench.scaling import benchmark as scaling
from bench.scaling import report as scaling_report
from bench.stopping import sigterm_as_exit

# Two cores: two worker processes use both for Python while PostgreSQL takes its
# share; threads let a worker parse one request while another waits on a commit.
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4
DEFAULT_CONNECTIONS = 8
# A guard against a typo (an extra zero) that would run for an hour.
MAX_EVENTS = 20_000_000
MAX_ROWS = 50_000_000
# What the ingest issue asks of this machine.
TARGET_EVENTS_PER_SECOND = 20_000
TARGET_RATIO_TO_COPY = 0.25


Options = TypeVar(
    "Options", ingest.IngestOptions, rollup.RollupOptions, pages.PagesOptions,
    scaling.ScalingOptions,
)  # fmt: skip


def _benchmark_options(kind: type[Options], options: dict[str, Any]) -> Options:
    """A benchmark's options from the command's: each field from the option of
    the same name (`--new-activities` is `new_activities`) where the command
    has one, `progress` from the verbosity."""
    given = {f.name: options[f.name] for f in fields(kind) if f.name in options}
    return kind(**given, progress=options["verbosity"] > 0)


class Command(BaseCommand):
    help = (
        "Benchmark on PostgreSQL. ingest: N tracking events through gunicorn and "
        "/v1/batch in batches of 100, checked stored exactly once, against a raw COPY "
        "of the same rows. Writes its own source and deletes its rows afterwards. "
        "rollup: seeds accounts, contacts and activities with COPY (emptying those "
        "tables first, so it needs a database of its own) and times the full score "
        "recompute against one hand-written SQL statement and a naive ORM loop, and "
        "the incremental rollup; every score is checked against the SQL. "
        "pages: on the rollup's dataset plus a campaign, spend, deals and daily "
        "snapshots, p50/p95 of the account list, account page, reports and ranking run "
        "through gunicorn with a logged-in session, tracking requests per second, the "
        "incremental rollup, and peak memory of each step. "
        "scaling (only with --only): on the rollup's dataset, a backlog of 10 x "
        "--new-activities drained by real Celery workers, one process against two; then "
        "a PostgreSQL primary and streaming standby of its own (initdb, pg_basebackup) "
        "with the pages dataset, the report queries timed on each."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--only",
            nargs="+",
            choices=BENCHMARKS,
            default=list(DEFAULT_BENCHMARKS),
            help=f"Benchmarks to run (default: {', '.join(DEFAULT_BENCHMARKS)}; scaling "
            "starts PostgreSQL servers of its own and runs only when named).",
        )
        parser.add_argument(
            "--events",
            type=whole_number("--events", 1, MAX_EVENTS),
            default=ingest.IngestOptions.events,
            help=f"ingest: events to send (default {ingest.IngestOptions.events:,}).",
        )
        defaults = rollup.RollupOptions()
        for name in ("accounts", "contacts"):
            default = getattr(defaults, name)
            parser.add_argument(
                f"--{name}",
                type=whole_number(f"--{name}", 1, MAX_ROWS),
                help=f"rollup: {name} to seed (default {default:,}; pages with --sizes: "
                f"{default:,} per {defaults.activities:,} activities of each size).",
            )
        for name, what, low in (
            ("activities", "activities to seed over 18 months", 1),
            ("new-activities", "activities added for the incremental rollup", 1),
            ("naive-sample", "accounts the naive ORM loop is timed on", 1),
            ("rounds", "timed rounds of recompute and reference (medians compared)", 1),
        ):
            default = getattr(defaults, name.replace("-", "_"))
            parser.add_argument(
                f"--{name}",
                type=whole_number(f"--{name}", low, MAX_ROWS),
                default=default,
                help=f"rollup: {what} (default {default:,}).",
            )
        parser.add_argument(
            "--sizes",
            type=whole_numbers("--sizes", 1, MAX_ROWS),
            help="pages: run at each of these activity counts (e.g. 1000000,10000000; no "
            "commas within a number), each on a fresh database, then compare them: every "
            "figure at each size, the ratios and the issue's targets. Accounts and contacts "
            "scale with the activities unless --accounts or --contacts are given. Default: "
            "the one size of --activities.",
        )
        parser.add_argument(
            "--postgres",
            dest="postgres_setups",
            type=names("--postgres", SETUPS),
            default=("machine",),
            help="pages: the PostgreSQL to run on, one or more of: machine (the Django "
            "database, DATABASE_URL, at its cluster's settings; the default), tuned (a "
            "cluster of the run's own with settings for this machine, bench/postgres.py), "
            "defaults (a cluster of its own at PostgreSQL's defaults); e.g. tuned,defaults. "
            "A private cluster is started with initdb (as the postgres user when run as "
            "root) and removed at the end.",
        )
        parser.add_argument(
            "--requests",
            type=whole_number("--requests", 1, 1_000_000),
            default=pages.PagesOptions.requests,
            help=f"pages: requests timed per page (default {pages.PagesOptions.requests}).",
        )
        parser.add_argument(
            "--tracking-requests",
            type=whole_number("--tracking-requests", 1, 1_000_000),
            default=pages.PagesOptions.tracking_requests,
            help="pages: calls in each tracking series, /v1/batch on the empty table and at "
            f"history and /v1/track (default {pages.PagesOptions.tracking_requests:,}).",
        )
        scaling_defaults = scaling.ScalingOptions()
        for name, what, maximum in (
            ("max-batch", "SCORES_ROLLUP_MAX_BATCH of the bounded worker setups", MAX_ROWS),
            ("replica-activities", "activities seeded on the replica's primary", MAX_ROWS),
            ("replica-requests", "timed runs of each report query on each side", 100_000),
        ):
            default = getattr(scaling_defaults, name.replace("-", "_"))
            parser.add_argument(
                f"--{name}",
                type=whole_number(f"--{name}", 1, maximum),
                default=default,
                help=f"scaling: {what} (default {default:,}).",
            )
        parser.add_argument(
            "--explain",
            action="store_true",
            help="rollup: also print EXPLAIN (ANALYZE, BUFFERS) of the slowest statement of "
            "the full recompute (replayed in a transaction that is rolled back).",
        )
        parser.add_argument(
            "--connections",
            type=whole_number("--connections", 1, 256),
            default=DEFAULT_CONNECTIONS,
            help=f"ingest: concurrent keep-alive client connections "
            f"(default {DEFAULT_CONNECTIONS}).",
        )
        parser.add_argument(
            "--workers",
            type=whole_number("--workers", 1, 64),
            default=DEFAULT_WORKERS,
            help=f"gunicorn worker processes (default {DEFAULT_WORKERS}).",
        )
        parser.add_argument(
            "--threads",
            type=whole_number("--threads", 1, 64),
            default=DEFAULT_THREADS,
            help=f"gunicorn threads per worker (default {DEFAULT_THREADS}).",
        )
        parser.add_argument(
            "--seed",
            type=whole_number("--seed", 0, 2**31),
            default=ingest.IngestOptions.seed,
            help="Random seed of the generated events and dataset; the same seed gives "
            "the same bytes.",
        )
        parser.add_argument(
            "--keep",
            action="store_true",
            help="Keep the benchmark's sources, activities and contacts (the next run "
            "deletes them).",
        )
        parser.add_argument("--out", type=Path, help="Also write the results to FILE as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        chosen = options["only"]
        if "pages" not in chosen and (
            options["sizes"] or tuple(options["postgres_setups"]) != ("machine",)
        ):
            raise CommandError(
                "--sizes and --postgres are the pages benchmark's: add pages to --only"
            )
        if connection.vendor != "postgresql":
            raise CommandError(
                f"bench measures PostgreSQL, and the database is {connection.vendor}. "
                "Set DATABASE_URL=postgres://USER@HOST:5432/NAME (a database of its own, "
                "migrated) and run it again."
            )
        # Given, or None: the pages at several sizes scale them with each size.
        given = {name: options[name] for name in ("accounts", "contacts")}
        defaults = rollup.RollupOptions()
        for name in given:
            options[name] = options[name] or getattr(defaults, name)
        results: dict[str, Any] = {}
        # SIGTERM ends the run through the cleanup that stops what it started
        # (private clusters, servers), as Ctrl-C does.
        with sigterm_as_exit():
            try:
                if "ingest" in options["only"]:
                    result = ingest.run(_benchmark_options(ingest.IngestOptions, options))
                    results["ingest"] = result.as_dict()
                    self._ingest_report(result)
                if "rollup" in options["only"]:
                    rolled = rollup.run(_benchmark_options(rollup.RollupOptions, options))
                    results["rollup"] = rolled.as_dict()
                    self._rollup_report(rolled)
                if "pages" in options["only"]:
                    setups = pages_sizes.run(
                        _benchmark_options(pages.PagesOptions, options),
                        sizes=options["sizes"] or (options["activities"],),
                        postgres=options["postgres_setups"],
                        accounts=given["accounts"] if options["sizes"] else options["accounts"],
                        contacts=given["contacts"] if options["sizes"] else options["contacts"],
                        done=self._pages_report,
                    )
                    if len(setups) == 1 and len(setups[0].results) == 1:
                        results["pages"] = setups[0].results[0].as_dict()  # one run: as before
                    else:
                        results["pages_sizes"] = [setup.as_dict() for setup in setups]
                        self._pages_comparison(results["pages_sizes"])
                    if len(setups) > 1:
                        results["pages_setups"] = pages_sizes.between_setups(setups)
                        self._pages_between_setups(results["pages_setups"])
                if "scaling" in options["only"]:
                    scaled = scaling.run(_benchmark_options(scaling.ScalingOptions, options))
                    results["scaling"] = scaled.as_dict()
                    for line in scaling_report.lines(scaled):
                        self.stdout.write(line)
            except BenchmarkError as problem:
                raise CommandError(str(problem)) from None
        if options["out"]:
            options["out"].write_bytes(
                orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
            )
            self.stdout.write(f"Results written to {options['out']}")

    def _ingest_report(self, result: ingest.IngestResult) -> None:
        server = result.server
        self.stdout.write(
            f"ingest: {result.events:,} events, batches of {result.batch_size}, "
            f"{result.connections} connections, gunicorn gthread "
            f"{server['workers']} workers x {server['threads']} threads"
        )
        self.stdout.write(
            f"  HTTP /v1/batch  {result.http_events_per_second:>12,.0f} events/s  "
            f"({result.http_seconds:.1f}s, {result.requests:,} requests, "
            f"{result.retries} retries, latency p50 {result.latency_ms['p50']} ms "
            f"p99 {result.latency_ms['p99']} ms)"
        )
        by_tenth = result.events_per_second_by_tenth
        if by_tenth:
            self.stdout.write(
                f"  by tenth of the run  {' '.join(f'{rate:,.0f}' for rate in by_tenth)}  "
                f"(slowest {min(by_tenth):,.0f} events/s)"
            )
        self.stdout.write(
            f"  raw COPY        {result.copy_events_per_second:>12,.0f} events/s  "
            f"({result.copy_seconds:.1f}s)"
        )
        self.stdout.write(f"  HTTP / COPY     {result.ratio_to_copy:>12.3f}")
        used = result.cpu_ms_per_batch
        if used["server"] is not None:
            self.stdout.write(
                f"  CPU ms per batch of {result.batch_size}: server {used['server']}, "
                f"PostgreSQL {used['database']}, client {used['client']}, "
                f"other programs {used['other']} (wall {used['wall']} ms per batch, "
                f"{result.connections} at a time)"
            )
        self.stdout.write(
            f"  exactly once: {result.stored:,} stored, {result.distinct_message_ids:,} "
            f"distinct message ids ({result.with_contact:,} with a contact; "
            f"{result.contacts_created:,} contacts created)"
        )
        met = (
            result.http_events_per_second >= TARGET_EVENTS_PER_SECOND
            and result.ratio_to_copy >= TARGET_RATIO_TO_COPY
        )
        verdict = self.style.SUCCESS("met") if met else self.style.WARNING("not met")
        self.stdout.write(
            f"  target (>= {TARGET_EVENTS_PER_SECOND:,} events/s and >= "
            f"{TARGET_RATIO_TO_COPY} of COPY): {verdict}"
        )

    def _statements_report(self, name: str, breakdown: dict[str, Any]) -> None:
        self.stdout.write(
            f"  {name}: {breakdown['statements']} statements, {breakdown['sql_seconds']:.3f} s "
            f"in SQL, {breakdown['other_seconds']:.3f} s in Python and the commit; slowest:"
        )
        for statement in breakdown["slowest"]:
            self.stdout.write(f"    {statement['seconds']:>8.3f} s  {statement['sql']}")

    def _rollup_report(self, result: rollup.RollupResult) -> None:
        self.stdout.write(
            f"rollup: {result.accounts:,} accounts ({result.members:,} in the scored segment), "
            f"{result.contacts:,} contacts, {result.activities:,} activities over "
            f"{result.history_days} days, scored at {result.at} (seeded in "
            f"{result.seed_seconds:.1f}s)"
        )
        rows = [
            ("full recompute (scores_recompute), median", result.recompute_seconds,
             f"{result.recompute_accounts:,} accounts; rounds "
             + ", ".join(f"{x:.3f}" for x in result.recompute_rounds)),
            ("hand-written SQL, one statement, median", result.reference_seconds,
             f"{result.checked_after_recompute:,} accounts; rounds "
             + ", ".join(f"{x:.3f}" for x in result.reference_rounds)),
            (f"naive ORM loop, {result.naive_sample:,} accounts measured",
             result.naive_sample_seconds, ""),
            (f"naive ORM loop, scaled to {result.members:,} accounts",
             result.naive_scaled_seconds, ""),
            (f"incremental rollup of {result.new_activities:,} activities", result.rollup_seconds,
             f"{result.rollup_accounts:,} accounts refreshed"),
        ]  # fmt: skip
        for label, seconds, note in rows:
            self.stdout.write(f"  {label:<48} {seconds:>10.3f} s  {note}")
        self._statements_report("full recompute", result.recompute_breakdown)
        self._statements_report("incremental rollup", result.rollup_breakdown)
        for target in result.targets.values():
            verdict = self.style.SUCCESS("PASS") if target.met else self.style.WARNING("FAIL")
            relation = "<=" if target.description.startswith("full") else ">="
            self.stdout.write(
                f"  {target.description:<48} {target.value:>10,.3f}    target {relation} "
                f"{target.limit:g}: {verdict}"
            )
        self.stdout.write(
            f"  agreement with the hand-written SQL: {result.checked_after_recompute:,} accounts "
            f"after the recompute, {result.checked_naive_sample:,} of the naive loop, "
            f"{result.checked_after_rollup:,} after the rollup: all equal"
        )
        if result.recompute_slowest_plan:
            self.stdout.write("  EXPLAIN ANALYZE of the recompute's slowest statement:")
            self.stdout.write(result.recompute_slowest_plan)

    def _pages_report(self, result: pages.PagesResult) -> None:
        sizes = result.sizes
        self.stdout.write(
            f"pages: {sizes['accounts']:,} accounts ({sizes['members']:,} in the segment), "
            f"{sizes['contacts']:,} contacts, {sizes['activities']:,} activities over "
            f"{result.history_days} days; {sizes['programs']} programs, {sizes['touches']:,} "
            f"touches, {sizes['spend_lines']:,} spend lines, {sizes['opportunities']:,} deals, "
            f"{sizes['snapshots']:,} snapshots (seeded in {result.seed_seconds:.1f}s); "
            f"{result.server['workers']} workers x {result.server['threads']} threads"
        )
        shown = result.machine.get("postgresql", {})
        self.stdout.write(
            f"  PostgreSQL {result.postgres}: "
            + ", ".join(f"{name} {value}" for name, value in shown.items())
        )
        if result.days_turned:
            self.stdout.write(
                f"  the requests went on past {result.today}: change baselines stored for "
                f"{', '.join(result.days_turned)}, as the nightly job does"
            )
        memory = result.memory_mb
        self.stdout.write(
            f"  {'full recompute':<50} {result.recompute_seconds:>9.3f} s  "
            f"{result.checked_after_recompute:,} accounts equal to the SQL"
        )
        self.stdout.write(
            f"  {'ranking run of the year (in process)':<50} {result.ranking_run_seconds:>9.3f} s  "
            f"{result.ranking_run_programs} programs"
        )
        self.stdout.write(
            f"  {'page (requests)':<50} {'p50 ms':>9} {'p95 ms':>9} {'worker MB':>10}"
        )
        for name, page in result.pages.items():
            label = f"{page['label']} ({page['requests']})"
            self.stdout.write(
                f"  {label:<50} {page['p50_ms']:>9.1f} {page['p95_ms']:>9.1f} "
                f"{_mb(memory[name].get('workers_peak_mb')):>10}"
            )
        tracked = [("batch_empty", result.tracking_empty, ", empty table"),
                   *((name, rate, "") for name, rate in result.tracking.items())]  # fmt: skip
        for name, rate, where in tracked:
            label = f"POST {rate['path']} ({rate['requests']}, {rate['clients']} clients{where})"
            self.stdout.write(
                f"  {label:<50} {rate['p50_ms']:>9.1f} {rate['p95_ms']:>9.1f} "
                f"{_mb(memory['tracking_' + name].get('workers_peak_mb')):>10}  "
                f"{rate['requests_per_second']:,.0f} requests/s, "
                f"{rate['events_per_second']:,.0f} events/s"
            )
        rollup_label = f"incremental rollup of {sizes['new_activities']:,} activities"
        self.stdout.write(
            f"  {rollup_label:<50} "
            f"{result.rollup_seconds:>9.3f} s  {result.rollup_accounts:,} accounts refreshed; "
            f"{result.checked_after_rollup:,} accounts equal to the SQL"
        )
        self._statements_report("incremental rollup", result.rollup_breakdown)
        self.stdout.write(
            "  peak memory of this process (MB, each step's own): "
            + ", ".join(f"{step} {m['process_peak_mb']:.0f}" for step, m in memory.items())
        )

    def _pages_comparison(self, setups: list[dict[str, Any]]) -> None:
        for setup in setups:
            compared = setup["comparison"]
            if compared is None:
                continue
            shown = ", ".join(f"{name} {value}" for name, value in setup["settings"].items())
            self.stdout.write(f"pages compared, PostgreSQL {setup['postgres']} ({shown}):")
            for line in pages_compare.lines(compared):
                styled = {"PASS": self.style.SUCCESS, "FAIL": self.style.WARNING}
                verdict = line.rsplit(" ", 1)[-1]
                self.stdout.write(styled[verdict](line) if verdict in styled else line)

    def _pages_between_setups(self, sizes: list[dict[str, Any]]) -> None:
        for compared in sizes:
            columns = compared["columns"]
            self.stdout.write(
                f"pages at {compared['activities']:,.0f} activities, PostgreSQL "
                f"{' against '.join(columns)} (ratio {columns[-1]} / {columns[0]}):"
            )
            for line in pages_compare.lines(compared):
                self.stdout.write(line)


def _mb(value: float | None) -> str:
    """A peak in MB, or that /proc did not say."""
    return "n/a" if value is None else f"{value:.1f}"
