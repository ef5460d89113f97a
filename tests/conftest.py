from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections
from django.db.utils import load_backend
from rest_framework.test import APIClient

from tests import bad_input
from tests.access_cells import ACCESS_MATRIX_KEY, access_matrix_lines
from tests.api_clients import api_client_as
from tests.proof_figures import recorded
from tests.real_services import PrivateRedis, require_service, worker_process


@pytest.fixture
def postgresql() -> None:
    """For tests of PostgreSQL-only behaviour."""
    if connection.vendor != "postgresql":
        require_service("DATABASE_URL does not point at PostgreSQL")


@pytest.fixture
def broker_url() -> str:
    """The configured Celery broker, for tests that need real workers."""
    if not settings.CELERY_BROKER_URL:
        require_service("CELERY_BROKER_URL is not set, so there is no broker for a real worker")
    return str(settings.CELERY_BROKER_URL)


@pytest.fixture
def worker(
    request: pytest.FixtureRequest, broker_url: str, tmp_path: Path
) -> Iterator[tuple[str, str, str, Path]]:
    """Start `celery worker` on a private queue; yield (broker, queue, node name, log).

    Parametrize it indirectly with "configured" (the broker_url fixture's broker)
    or another broker's URL."""
    url = broker_url if request.param == "configured" else request.param
    with worker_process(url, tmp_path / "worker.log") as (url, queue, node, log, _process):
        yield url, queue, node, log


@pytest.fixture
def unreachable_database(django_db_blocker: Any) -> Iterator[None]:
    """Swap the default connection for one to a database that cannot be reached.

    The test database itself is left alone (an in-memory SQLite database would
    vanish if its connection were closed).
    """
    working = connections["default"]
    broken = dict(working.settings_dict)
    if working.vendor == "postgresql":
        broken.update(HOST="127.0.0.1", PORT="1")
    else:
        broken.update(NAME="/nonexistent-directory/engage.sqlite3")
    unreachable = load_backend(broken["ENGINE"]).DatabaseWrapper(broken, alias="default")
    with django_db_blocker.unblock():
        connections["default"] = unreachable
        try:
            yield
        finally:
            unreachable.close()
            connections["default"] = working


@pytest.fixture
def eager_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks run in this process as they are enqueued, as without a broker, even
    when the run has one configured. Both the project's app and the current one
    (a test that made another Celery app leaves it current, and shared tasks
    resolve through it) are told."""
    from celery import current_app

    from config.celery import app

    for conf in {id(app.conf): app.conf, id(current_app.conf): current_app.conf}.values():
        # The app reads its settings under the CELERY_ namespace (config/celery.py):
        # the plain key alone is not seen by an app configured that way (celery
        # 5.6), the namespaced one alone not by one that is not.
        monkeypatch.setitem(conf, "task_always_eager", True)
        monkeypatch.setitem(conf, "CELERY_TASK_ALWAYS_EAGER", True)


@pytest.fixture
def executive() -> APIClient:
    """An API client signed in as "exec", of the Executive role."""
    return api_client_as("Executive", username="exec")


@pytest.fixture
def marketer() -> APIClient:
    """An API client signed in as "marketer", of the Marketer role."""
    return api_client_as("Marketer", username="marketer")


@pytest.fixture
def sales() -> APIClient:
    """An API client signed in as "rep", of the Sales role."""
    return api_client_as("Sales", username="rep")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print the proofs' figures at the end of the run: the lines tests recorded
    (tests/proof_figures.py), the access matrix's counts and the bad input
    catalogue's tally, when they ran."""
    lines = recorded()
    columns = config.stash.get(ACCESS_MATRIX_KEY, None)
    if columns:
        lines += [("access matrix", line) for line in access_matrix_lines(columns)]
    lines += [("bad input", line) for line in bad_input.report_lines()]
    if not lines:
        return
    terminalreporter.section("proof figures")
    for proof, line in lines:
        terminalreporter.write_line(f"[{proof}] {line}")


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        require_service("the redis-server binary is not installed")
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
