"""A batch job's connection runs without the web's statement timeout, then gets
it back."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from core.statement_timeout import statement_timeout_lifted

pytestmark = pytest.mark.django_db


def _timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return str(cursor.fetchone()[0])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL has the timeout")
def test_the_block_runs_without_a_timeout_and_the_connection_default_returns() -> None:
    before = _timeout()
    assert before == f"{settings.STATEMENT_TIMEOUT_MS // 1000}s"
    with statement_timeout_lifted():
        assert _timeout() == "0"
    assert _timeout() == before


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL has the timeout")
def test_the_default_returns_when_the_block_raises() -> None:
    before = _timeout()
    with pytest.raises(RuntimeError), statement_timeout_lifted():
        raise RuntimeError("the job failed")
    assert _timeout() == before


def test_as_a_decorator_it_returns_what_the_job_returns() -> None:
    @statement_timeout_lifted()
    def job() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 41 + 1")
            return int(cursor.fetchone()[0])

    assert job() == 42
