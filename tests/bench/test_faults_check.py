"""`manage.py faults_check --short`, as CI runs it: the Segment library sends
2,000 message ids through gunicorn while the worker is killed with SIGKILL,
PostgreSQL is restarted and the broker is restarted, on a PostgreSQL and a
redis-server the check starts for itself. The figures are printed at the end
of the run (tests/bench/conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.faults.services import missing_programs
from tests.real_services import PROJECT, require_service

# What the command's process must not reach: the check brings its own.
SHARED_SERVICES = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EXTRA_TEST_BROKER_URLS")


@pytest.mark.services
def test_tracking_through_a_killed_worker_and_restarted_database_and_broker_loses_nothing(
    postgresql: None, tmp_path: Path, figures_printed: Callable[[str, list[str]], None]
) -> None:
    missing = missing_programs()
    if missing:
        require_service("the fault check needs " + ", ".join(missing))
    out = tmp_path / "faults.json"
    environment = {name: value for name, value in os.environ.items() if name not in SHARED_SERVICES}
    completed = subprocess.run(
        [sys.executable, "manage.py", "faults_check", "--short", "--out", str(out)],
        cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    figures_printed("fault check: manage.py faults_check --short", completed.stdout.splitlines())
    assert completed.returncode == 0, completed.stdout + completed.stderr[-4000:]

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
    assert report["unscored"] == 0
    assert report["worker"] == {"ping": True, "task": True, "starts": 2}
    assert report["scores"]["accounts"] == 20
    assert report["scores"]["contact_sums"] == 100
    assert report["scores"]["mismatches"] == 0
    assert report["failures"] == []
