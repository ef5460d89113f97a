"""Settings for the test suite: the real settings plus a test-only secret key.

DATABASE_URL and CELERY_BROKER_URL come from the environment as usual, so the
same suite runs on SQLite with eager tasks and on PostgreSQL with a broker.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from config.settings import *  # noqa: F403

# Hashing demo and test passwords at full strength only slows the suite.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECURE_SSL_REDIRECT = False
# Static files are served by the staticfiles finders in tests; nothing is collected.
STATIC_ROOT = None  # type: ignore[assignment]
# Close the connection after every request: a live-server thread kept alive by
# a client's HTTP keep-alive must not hold the test database open at teardown.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Tests change sources and event mappings between requests; they read them
# every time (tests/engagement/test_tracking_cache.py turns the cache on).
TRACKING_CONFIG_CACHE_SECONDS = 0
