"""`manage.py faults_check --short`, as CI runs it: the Segment library sends
2,000 message ids through gunicorn while the worker is killed with SIGKILL,
PostgreSQL is restarted and the broker is restarted, on a PostgreSQL and a
redis-server the check starts for itself. The figures are printed at the end
of the run (tests/proof_figures.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.faults.services import missing_programs
from tests.proof_figures import record
from tests.real_services import PROJECT, require_service

# About a minute on two cores; well past it, the run is stopped (SIGTERM).
TIMEOUT_SECONDS = 400
# What the command's process must not reach: the check brings its own.
SHARED_SERVICES = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EXTRA_TEST_BROKER_URLS")


@pytest.mark.services
def test_tracking_through_a_killed_worker_and_restarted_database_and_broker_loses_nothing(
    postgresql: None, tmp_path: Path
) -> None:
    missing = missing_programs()
    if missing:
        require_service("the fault check needs " + ", ".join(missing))
    out = tmp_path / "faults.json"
    environment = {name: value for name, value in os.environ.items() if name not in SHARED_SERVICES}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "faults_check", "--short", "--out", str(out)],
        cwd=PROJECT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        # SIGTERM: the command stops every service it started before it exits.
        process.terminate()
        stdout, stderr = process.communicate(timeout=120)
        pytest.fail(f"faults_check took over {TIMEOUT_SECONDS}s:\n{stdout}\n{stderr[-4000:]}")
    for line in stdout.splitlines():
        record("faults_check --short", line)
    assert process.returncode == 0, stdout + stderr[-4000:]

    report = json.loads(out.read_text())
    assert [fault["fault"] for fault in report["faults"]] == [
        "worker killed",
        "postgresql restarted",
        "broker restarted",
    ]
    messages = report["messages"]
    assert messages["sent"] == messages["acknowledged"] == messages["stored"] == 2000
    assert messages["lost"] == messages["duplicated"] == messages["given_up"] == 0
    assert messages["acknowledged_not_stored"] == messages["unexpected"] == 0
    # One call in five an anonymous visit, resolved to an account by its network.
    assert messages["stored_mix"] == {"contact": 1600, "anonymous_account": 400, "unresolved": 0}
    assert report["unscored"] == 0
    worker = report["worker"]
    assert (worker["ping"], worker["task"], worker["starts"]) == (True, True, 2)
    assert worker["tasks"]["succeeded"] > 0
    assert report["scores"]["accounts"] == 20
    assert report["scores"]["contact_sums"] == 100
    assert report["scores"]["mismatches"] == 0
    assert report["failures"] == []
