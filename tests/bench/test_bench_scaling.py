"""`manage.py bench --only scaling` at a tiny size (issue 20 part 5's smoke run):
real Celery worker processes drain the same backlog with one process and with
two and every score then equals the hand-written SQL; a primary and a
streaming standby of the run's own answer the report queries alike, and are
stopped and removed afterwards, on error too. No timing is asserted: speed is
the benchmark's to judge."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandParser

from bench import DEFAULT_BENCHMARKS
from bench.management.commands.bench import Command
from bench.scaling import clusters
from engagement.models import ActivityPending
from tests.real_services import require_service

TINY = [
    "--accounts", "30", "--contacts", "200", "--activities", "3000", "--new-activities", "60",
    "--max-batch", "100", "--replica-activities", "3000", "--replica-requests", "3",
]  # fmt: skip


def _server_programs() -> None:
    missing = clusters.programs_missing()
    if missing:
        require_service(
            f"the replica step needs {', '.join(missing)} from {clusters.PG_BIN} "
            "(postgresql-15 server programs), which this machine lacks"
        )


def _our_directories() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("wt-scaling-pg-*"))


def test_the_default_run_leaves_out_scaling_which_starts_servers_of_its_own() -> None:
    parser: CommandParser = Command().create_parser("manage.py", "bench")
    assert parser.parse_args([]).only == list(DEFAULT_BENCHMARKS)
    assert "scaling" not in DEFAULT_BENCHMARKS
    assert parser.parse_args(["--only", "scaling"]).only == ["scaling"]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_scaling_benchmark_drains_with_one_and_two_workers_and_the_standby_agrees(
    postgresql: None, tmp_path: Path
) -> None:
    _server_programs()
    before = _our_directories()
    out = tmp_path / "bench.json"
    call_command("bench", "--only", "scaling", *TINY, "--out", str(out), verbosity=0)

    result = json.loads(out.read_text())["scaling"]
    members = result["sizes"]["members"]
    assert 0 < members <= 30
    assert result["sizes"]["backlog"] == 600  # 10 x --new-activities
    drains = result["drains"]
    assert [(d["processes"], d["max_batch"]) for d in drains] == [(1, None), (1, 100), (2, 100)]
    for drain in drains:
        # Each drained the whole backlog, and every score equals the SQL's after it.
        assert drain["activities"] == 600 and drain["activities_per_second"] > 0
        assert drain["checked_accounts"] == members
        assert drain["cpu_seconds"]["workers"] > 0
        assert 0 <= drain["lock_wait_share"] <= 1
    assert result["two_to_one"] > 0
    assert not ActivityPending.objects.exists()

    replica = result["replica"]
    assert replica["standby_in_recovery"] and replica["standby_refuses_writes"]
    assert set(replica["queries"]) == {"campaign_report", "overview", "account_list"}
    for query in replica["queries"].values():
        assert query["equal"] and query["requests"] == 3
        for side in ("primary", "standby"):
            assert 0 < query[side]["p50_ms"] <= query[side]["p95_ms"]
    assert replica["lag_ms"]["markers"] == 50 and replica["lag_ms"]["p50"] >= 0
    assert replica["sizes"]["activities"] == 3000 and replica["sizes"]["snapshots"] > 0
    # Both clusters were stopped and their directory removed.
    assert _our_directories() == before


@pytest.mark.services
def test_both_clusters_are_stopped_and_removed_when_the_run_fails() -> None:
    _server_programs()
    before = _our_directories()
    with pytest.raises(RuntimeError), clusters.primary_and_standby() as (primary, make_standby):
        standby = make_standby()
        assert (standby.data / "standby.signal").exists()  # pg_basebackup -R
        link = standby.connect()
        link.close()
        raise RuntimeError("a step failed")
    assert not primary.data.exists() and not standby.data.exists()
    assert _our_directories() == before
