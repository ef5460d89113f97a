from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection


def require_service(reason: str) -> None:
    """Skip a test whose service is missing, or fail it under REQUIRE_SERVICES=1."""
    if settings.REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


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
