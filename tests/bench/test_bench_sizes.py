"""The pages benchmark at several sizes (issue 20): the comparison's ratios and
verdicts against numbers worked out by hand, two tiny sizes in one run on the
machine's PostgreSQL, a private cluster started with the stated settings and
removed afterwards, and the options that choose them. No timing is asserted."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from django.core.management import CommandError, call_command
from django.core.management.base import CommandParser

from bench import BenchmarkError
from bench.management.commands.bench import Command
from bench.pages import compare, sizes
from bench.pages.benchmark import PAGES, PagesOptions
from bench.postgres import TUNED, private_cluster, programs_missing
from bench.scaling.benchmark import ScalingOptions
from bench.server import process_serving
from tests.real_services import PROJECT, require_service
from tests.web.browser import role_groups_restore


def _result(activities: int, *, p95: float | None, rollup: float, empty: float, full: float,
            seed_mb: float, workers_mb: float | None) -> dict[str, Any]:  # fmt: skip
    """A result as the JSON holds it, with only the figures the comparison reads."""
    page: dict[str, Any] = {"label": "account list", "p50_ms": 10.0}
    if p95 is not None:
        page["p95_ms"] = p95
    served = {"process_peak_mb": 100.0}
    if workers_mb is not None:
        served["workers_peak_mb"] = workers_mb
    return {
        "sizes": {"activities": activities, "new_activities": 10_000},
        "pages": {"account_list": page},
        "ranking_run_seconds": 1.0, "recompute_seconds": 2.0, "rollup_seconds": rollup,
        "tracking": {"batch": {"events_per_second": full},
                     "track": {"requests_per_second": 1000.0}},
        "tracking_empty": {"events_per_second": empty},
        "memory_mb": {"seed": {"process_peak_mb": seed_mb}, "account_list": served},
    }  # fmt: skip


def _by_figure(compared: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["figure"]: row for row in compared["rows"]}


def test_the_comparison_gives_each_ratio_and_verdict_worked_out_by_hand() -> None:
    small = _result(1_000_000, p95=200.0, rollup=0.5, empty=40_000.0, full=38_000.0,
                    seed_mb=300.0, workers_mb=200.0)  # fmt: skip
    large = _result(10_000_000, p95=290.0, rollup=0.65, empty=40_000.0, full=32_000.0,
                    seed_mb=480.0, workers_mb=520.0)  # fmt: skip
    compared = compare.comparison([large, small])  # put in size order
    assert compared["sizes"] == [1_000_000, 10_000_000]
    rows = _by_figure(compared)
    # 290 / 200 = 1.45 <= 1.5; 0.65 / 0.5 = 1.3 > 1.2.
    assert rows["account list, p95"]["ratio"] == 1.45
    assert rows["account list, p95"]["verdict"] == "PASS"
    assert rows["account list, p50"]["ratio"] == 1.0 and rows["account list, p50"]["verdict"] == ""
    assert rows["incremental rollup of 10,000 activities"]["ratio"] == 1.3
    assert rows["incremental rollup of 10,000 activities"]["verdict"] == "FAIL"
    # Ingest within each size: 38,000 / 40,000 = 0.95, then 32,000 / 40,000 = 0.8 < 1/1.2.
    ingest = rows["/v1/batch, history / empty table"]
    assert ingest["values"] == [0.95, 0.8] and ingest["verdict"] == "FAIL"
    # Memory at the largest size: 480 < 500; the larger of 100 and 520 is not.
    assert rows["peak memory, seed"]["values"] == [300.0, 480.0]
    assert rows["peak memory, seed"]["verdict"] == "PASS"
    assert rows["peak memory, account_list"]["values"] == [200.0, 520.0]
    assert rows["peak memory, account_list"]["verdict"] == "FAIL"
    assert compared["targets"] == {"met": 2, "missed": 3, "missing": 0}
    assert compared["verdict"] == "FAIL"


def test_a_missing_figure_is_said_to_be_missing_never_taken_as_zero() -> None:
    small = _result(1_000, p95=0.0, rollup=0.5, empty=0.0, full=100.0, seed_mb=10.0,
                    workers_mb=None)  # fmt: skip
    large = _result(2_000, p95=None, rollup=0.5, empty=100.0, full=100.0, seed_mb=10.0,
                    workers_mb=None)  # fmt: skip
    del large["memory_mb"]["seed"]
    rows = _by_figure(compare.comparison([small, large]))
    p95 = rows["account list, p95"]
    assert p95["values"] == [0.0, None] and p95["ratio"] is None and p95["verdict"] == "missing"
    # An empty-table rate of 0 gives no ratio, not an infinite or zero one.
    assert rows["/v1/batch, history / empty table"]["values"] == [None, 1.0]
    assert rows["peak memory, seed"]["values"] == [10.0, None]
    assert rows["peak memory, seed"]["verdict"] == "missing"
    # Only the process's peak was measured for the served step: that one counts.
    assert rows["peak memory, account_list"]["values"] == [100.0, 100.0]
    compared = compare.comparison([small, large])
    assert compared["verdict"] == "missing"
    assert compared["targets"] == {"met": 3, "missed": 0, "missing": 2}
    table = "\n".join(compare.lines(compared))
    assert "missing" in table and "without a figure: missing" in table


def test_the_setups_are_compared_at_each_size_they_all_ran() -> None:
    def run(activities: int, p95: float) -> dict[str, Any]:
        return _result(activities, p95=p95, rollup=1.0, empty=1.0, full=1.0, seed_mb=1.0,
                       workers_mb=None)  # fmt: skip

    compared = compare.between_setups({
        "tuned": [run(1_000, 100.0), run(2_000, 120.0)],
        "defaults": [run(1_000, 150.0)],  # 2,000 did not run on it: left out
    })  # fmt: skip
    (at_1000,) = compared
    assert at_1000["activities"] == 1_000 and at_1000["columns"] == ["tuned", "defaults"]
    p95 = _by_figure(at_1000)["account list, p95"]
    # 150 / 100; no target between setups, so no verdict.
    assert p95["values"] == [100.0, 150.0] and p95["ratio"] == 1.5
    assert {row["verdict"] for row in at_1000["rows"]} == {""}
    head, *_rows = compare.lines(at_1000)
    assert "targets" not in at_1000 and head.split()[2:4] == ["tuned", "defaults"]


def test_accounts_and_contacts_scale_with_each_size_unless_given() -> None:
    runs = sizes.size_options(PagesOptions(), sizes=[10_000_000, 1_000_000], accounts=None,
                              contacts=None)  # fmt: skip
    assert [(o.activities, o.accounts, o.contacts) for o in runs] == [
        (1_000_000, 10_000, 80_000), (10_000_000, 100_000, 800_000),
    ]  # fmt: skip
    given = sizes.size_options(PagesOptions(), sizes=[3000], accounts=7, contacts=None)
    assert (given[0].accounts, given[0].contacts) == (7, 240)
    assert ScalingOptions(new_activities=60).backlog == 600


def test_sizes_and_postgres_are_parsed_and_checked() -> None:
    parser: CommandParser = Command().create_parser("manage.py", "bench")
    parsed = parser.parse_args(["--sizes", "1_000,2000", "--postgres", "tuned,machine"])
    assert parsed.sizes == (1000, 2000) and parsed.postgres_setups == ("tuned", "machine")
    assert parser.parse_args([]).postgres_setups == ("machine",)
    with pytest.raises(CommandError, match="one or more of machine, tuned, defaults"):
        parser.parse_args(["--postgres", "fast"])
    with pytest.raises(CommandError, match="--sizes must be between"):
        parser.parse_args(["--sizes", "1000,0"])


def test_sizes_and_postgres_belong_to_the_pages_benchmark() -> None:
    with pytest.raises(CommandError, match="add pages to --only"):
        call_command("bench", "--only", "rollup", "--sizes", "10,20", verbosity=0)


def test_a_started_program_is_stopped_on_error_and_one_that_exits_is_reported() -> None:
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    with (
        pytest.raises(RuntimeError),
        process_serving(sleeper, what="sleep", ready=lambda: True) as p,
    ):
        raise RuntimeError("a step failed")
    assert p.poll() is not None
    failing = [sys.executable, "-c", "print('no port today'); raise SystemExit(3)"]
    exited = r"(?s)exits exited with status 3.*no port today"
    with (
        pytest.raises(BenchmarkError, match=exited),
        process_serving(failing, what="exits", ready=lambda: False),
    ):
        pass


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_tiny_sizes_run_in_one_invocation_and_are_compared(
    postgresql: None, tmp_path: Path
) -> None:
    role_groups_restore()  # a flush by an earlier transactional test takes them
    out = tmp_path / "bench.json"
    call_command("bench", "--only", "pages", "--sizes", "2000,1000", "--new-activities", "100",
                 "--requests", "3", "--tracking-requests", "3", "--workers", "1",
                 "--threads", "2", "--connections", "2", "--out", str(out),
                 verbosity=0)  # fmt: skip

    (setup,) = json.loads(out.read_text())["pages_sizes"]
    assert setup["postgres"] == "machine"
    assert {"shared_buffers", "effective_cache_size", "maintenance_work_mem"} <= set(
        setup["settings"]
    )
    runs = setup["runs"]
    assert [(r["sizes"]["activities"], r["sizes"]["accounts"], r["sizes"]["contacts"])
            for r in runs] == [(1000, 10, 80), (2000, 20, 160)]  # fmt: skip
    for run in runs:
        assert run["checked_after_rollup"] == run["sizes"]["members"] > 0
        assert run["tracking_empty"]["events"] == run["tracking"]["batch"]["events"] == 300
    compared = setup["comparison"]
    assert compared["sizes"] == [1000, 2000]
    assert all(len(row["values"]) == 2 for row in compared["rows"])
    # Every figure was measured at both sizes: no verdict is missing.
    assert compared["targets"]["missing"] == 0
    # Each page's p95, the rollup, ingest against the empty table, and the peak
    # memory of each page and of the 8 other steps.
    pages = len(PAGES)
    assert compared["targets"]["met"] + compared["targets"]["missed"] == (pages + 1 + 1 + pages + 8)
    assert compared["verdict"] in {"PASS", "FAIL"}


def _our_directories() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("wt-bench-pg-*"))


@pytest.mark.services
def test_the_private_cluster_starts_with_the_stated_settings_and_is_removed() -> None:
    if programs_missing():
        require_service("initdb and pg_ctl of PostgreSQL 15 are not installed")
    before = _our_directories()
    with pytest.raises(RuntimeError), private_cluster("tuned", server_settings=TUNED) as cluster:
        assert cluster.shown(list(TUNED)) == TUNED
        raise RuntimeError("a step failed")
    assert not cluster.data.exists() and _our_directories() == before
    with pytest.raises(psycopg2.OperationalError):
        cluster.connect("postgres")


@pytest.mark.services
def test_a_benchmark_stopped_by_sigterm_stops_and_removes_its_private_cluster(
    postgresql: None,
) -> None:
    if programs_missing():
        require_service("initdb and pg_ctl of PostgreSQL 15 are not installed")
    before = _our_directories()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "bench", "--only", "pages", "--sizes", "1000",
         "--postgres", "tuned", "--requests", "1"],
        cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        # Until its cluster is running (the server's pid file is written).
        deadline = time.monotonic() + 120
        started: list[Path] = []
        while not started and time.monotonic() < deadline and process.poll() is None:
            started = [
                d for d in _our_directories() - before if (d / "tuned/postmaster.pid").exists()
            ]
            time.sleep(0.1)
        assert started, "the benchmark started no cluster"
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signal.SIGTERM, output[-3000:]
    assert _our_directories() == before  # stopped, files removed
    postmasters = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(started[0]) not in postmasters
