from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection


@pytest.mark.services
@pytest.mark.django_db
def test_postgresql_connections_carry_the_statement_timeout(postgresql: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        (value,) = cursor.fetchone()
    assert value == f"{settings.STATEMENT_TIMEOUT_MS}ms" or value == (
        f"{settings.STATEMENT_TIMEOUT_MS // 1000}s"
    )


def test_postgresql_connections_are_health_checked_before_reuse() -> None:
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


@pytest.mark.services
@pytest.mark.django_db
def test_postgresql_connections_run_without_jit(postgresql: None) -> None:
    # docs/benchmarks.md "JIT": compiling cost more than it saved on every
    # page and on the recompute.
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        (value,) = cursor.fetchone()
    assert value == "off"
