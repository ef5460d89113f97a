"""Settings for every environment, read from the environment by config.env.

With nothing set, the product runs on a SQLite file in the project and runs
Celery tasks eagerly in-process. Set DATABASE_URL and CELERY_BROKER_URL for
PostgreSQL and real workers. README.md lists every variable.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from config.env import env

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env.boolean("DEBUG", default=False)

_DEVELOPMENT_SECRET_KEY = "development-only-secret-key-never-use-in-production"  # noqa: S105  # nosec B105
SECRET_KEY = env.string("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production (DEBUG off) refuses to start without one; "
            "set DEBUG=1 for local development."
        )
    SECRET_KEY = _DEVELOPMENT_SECRET_KEY

ALLOWED_HOSTS = env.strings(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.strings("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # First: its runserver (the address and demo logins last) overrides staticfiles'.
    "demo",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "config",
    "core",
    "accounts",
    "engagement",
    "campaigns",
    "readiness",
    "bench",
    "imports",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.context_processors.shell",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------

_DATABASE_URL = env.url(
    "DATABASE_URL",
    default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
    schemes=("sqlite", "postgres", "postgresql", "pgsql"),
)
STATEMENT_TIMEOUT_MS = env.integer("STATEMENT_TIMEOUT_MS", default=30_000, minimum=0)
try:
    _database = dj_database_url.parse(
        _DATABASE_URL,
        conn_max_age=env.integer("DB_CONN_MAX_AGE", default=60, minimum=0),
        conn_health_checks=True,
    )
except ValueError as error:
    raise ImproperlyConfigured(
        f"DATABASE_URL={_DATABASE_URL!r} cannot be parsed: {error}"
    ) from None
if _database["ENGINE"] == "django.db.backends.postgresql":
    # A runaway query must not hold a connection forever; long batch work
    # (recomputes, imports) raises the timeout for its own transaction.
    # JIT off (docs/benchmarks.md "JIT"): on the 1M pages benchmark it compiled
    # for 0.1-1.5 s before queries that ran in 0.1-1.4 s (the account list),
    # and the full recompute was no faster with it (1.44-1.77 s on, 1.34-1.58
    # s off). PostgreSQL's default cost threshold triggers it on every page
    # query over a whole segment, and more often as tables grow.
    _database.setdefault("OPTIONS", {})["options"] = (
        f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c jit=off"
    )
    _database["OPTIONS"].setdefault("connect_timeout", 5)
else:
    # SQLite: wait for a competing writer instead of failing at once.
    _database.setdefault("OPTIONS", {})["timeout"] = 20
    _database["CONN_MAX_AGE"] = 0
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Celery ---------------------------------------------------------------

CELERY_BROKER_URL = env.url(
    "CELERY_BROKER_URL",
    schemes=("redis", "rediss", "amqp", "amqps", "pyamqp"),
)
# No broker: tasks run in-process as they are called, so the product works on
# a bare machine. With a broker, real workers pick them up.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_TIMEOUT = 5
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Queues by kind of work (issue 20, docs/scaling.md). A worker started without
# -Q consumes every queue declared here, so one worker (make worker) runs
# everything; across machines, workers split them (`celery -A config worker
# -Q rollup`, `-Q recompute,reports`, ...) so a long recompute or import never
# delays the rollup that puts new activity into scores within a minute.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_QUEUE_NAMES = ("celery", "rollup", "recompute", "imports", "reports")
CELERY_TASK_QUEUES = tuple(Queue(name, routing_key=name) for name in CELERY_QUEUE_NAMES)
CELERY_TASK_ROUTES = {
    # Ingest-triggered: small, frequent, latency matters.
    "engagement.scores_rollup": {"queue": "rollup"},
    "engagement.scores_rollup_pending": {"queue": "rollup"},
    "engagement.scores_rollup_all": {"queue": "rollup"},
    "campaigns.touches_refresh": {"queue": "rollup"},
    "campaigns.touches_refresh_batch": {"queue": "rollup"},
    "campaigns.touches_sweep": {"queue": "rollup"},
    # Whole-table rebuilds and model training: long, scheduled or on demand.
    "engagement.scores_recompute": {"queue": "recompute"},
    "engagement.scores_recompute_job": {"queue": "recompute"},
    "engagement.scores_refresh_all": {"queue": "recompute"},
    "engagement.junk_rules_apply": {"queue": "recompute"},
    "engagement.activity_retention": {"queue": "recompute"},
    "engagement.activity_partitions_ensure": {"queue": "recompute"},
    "accounts.*": {"queue": "recompute"},
    "campaigns.touches_recompute": {"queue": "recompute"},
    "campaigns.program_touches_recompute": {"queue": "recompute"},
    "readiness.*": {"queue": "recompute"},
    # Files users upload.
    "imports.*": {"queue": "imports"},
    # Reports computed ahead: the program ranking.
    "campaigns.programs_rank_scheduled": {"queue": "reports"},
    "campaigns.ranking_run_job": {"queue": "reports"},
    # Everything else (alert delivery, the worker heartbeat) on the default queue.
}
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "config.worker_heartbeat_record", "schedule": 60.0},
    # Accounts join and leave segments as imports and tracking change them.
    "segments-refresh": {"task": "accounts.segments_refresh_all", "schedule": 900.0},
    # New activity reaches the scores within a minute, even if a task was lost.
    "scores-rollup-sweep": {"task": "engagement.scores_rollup_all", "schedule": 60.0},
    # Scores decay and stages move with time: snapshot yesterday and recompute
    # daily, just after midnight UTC (also brings in junk flips, identified visitors).
    "scores-refresh-daily": {
        "task": "engagement.scores_refresh_all",
        "schedule": crontab(hour=0, minute=5),
    },
    # Readiness (issue 19) on yesterday's features, once the daily refresh above
    # has snapshotted yesterday's scores.
    "readiness-scores-daily": {
        "task": "readiness.scores_refresh_all",
        "schedule": crontab(hour=1, minute=5),
    },
    # Alerts whose delivery failed (or whose task was lost) are tried again when due.
    "alerts-delivery-sweep": {"task": "engagement.alerts_deliver_due", "schedule": 60.0},
    # Program touches of activity no score rollup claimed (no segment scored yet, a lost task).
    "touches-sweep": {"task": "campaigns.touches_sweep", "schedule": 300.0},
    # Every touch from scratch: junk flags flipped, activity moved between accounts.
    "touches-recompute-daily": {
        "task": "campaigns.touches_recompute",
        "schedule": crontab(hour=0, minute=35),
    },
    # Raw activity older than ACTIVITY_RETENTION_MONTHS folded and dropped (does
    # nothing while it is unset), after the nightly snapshots and recompute.
    "activity-retention-daily": {
        "task": "engagement.activity_retention",
        "schedule": crontab(hour=2, minute=5),
    },
    # The activity table's monthly partitions made ahead (PostgreSQL), and the
    # months an import of old history left in the default partition moved out.
    "activity-partitions-daily": {
        "task": "engagement.activity_partitions_ensure",
        "schedule": crontab(hour=2, minute=35),
    },
}

# Tests that need PostgreSQL or a broker fail instead of skipping when set.
REQUIRE_SERVICES = env.boolean("REQUIRE_SERVICES", default=False)

# --- Cache ----------------------------------------------------------------

# Shared state between web processes (the tracking rate limit). Unset: each
# process keeps its own in memory, which is right for one process.
_CACHE_URL = env.url("CACHE_URL", schemes=("redis", "rediss"))
# A cache that hangs must not hold a tracking request: the rate limit fails
# open on an error (engagement/ratelimit.py), so the client gives up quickly.
CACHE_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _CACHE_URL,
            "OPTIONS": CACHE_OPTIONS,
        }
        if _CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Tracking API (DESIGN 6) -------------------------------------------------

TRACKING_MAX_CALL_BYTES = env.integer("TRACKING_MAX_CALL_BYTES", default=32 * 1024, minimum=1)
TRACKING_MAX_REQUEST_BYTES = env.integer(
    "TRACKING_MAX_REQUEST_BYTES", default=500 * 1024, minimum=1
)
# Calls in one /v1/batch. Segment's and RudderStack's libraries send at most a
# few hundred (analytics-python 100); 300 KB of `{}` held 100,000 calls, each
# a dead letter written while a web thread waited (issue 18).
TRACKING_MAX_BATCH_CALLS = env.integer("TRACKING_MAX_BATCH_CALLS", default=1000, minimum=1)
# Glob patterns over page paths that count as pricing-page views.
TRACKING_PRICING_PATTERNS = env.strings(
    "TRACKING_PRICING_PATTERNS", default=["*/pricing", "*/pricing/*", "*/plans", "*/plans/*"]
)
# Requests per second per source; a source may set its own. 0 turns the limit off.
TRACKING_RATE_LIMIT_PER_SECOND = env.integer(
    "TRACKING_RATE_LIMIT_PER_SECOND", default=500, minimum=0
)
# Each web process keeps sources (by write key) and the event-name mapping this
# many seconds, so that a tracking request does not read them every time: a
# revoked key or an edited mapping takes effect within it. 0 reads every time.
TRACKING_CONFIG_CACHE_SECONDS = env.integer("TRACKING_CONFIG_CACHE_SECONDS", default=5, minimum=0)
# The tracking API keeps its two write statements prepared per database
# connection (PostgreSQL plans them once, not per request). Turn it off behind
# a pooler in transaction mode (PgBouncer), whose server connections change
# under a client between transactions.
TRACKING_PREPARED_STATEMENTS = env.boolean("TRACKING_PREPARED_STATEMENTS", default=True)

# --- Scores -----------------------------------------------------------------

# After ingested activity commits, a rollup is enqueued this many seconds later,
# at most once per window (a cache key; set CACHE_URL so that web processes
# share it). The beat sweep every minute remains the safety net.
SCORES_ROLLUP_DEBOUNCE_SECONDS = env.integer("SCORES_ROLLUP_DEBOUNCE_SECONDS", default=5, minimum=1)

# /healthz says "degraded" when activity has waited longer than this for the
# score rollup (a stopped worker or beat, a worker that died on a broker
# restart) while a segment could score it. Rollups run seconds after ingest
# and the sweep every minute, so ten minutes means ten sweeps missed.
SCORES_ROLLUP_STALE_SECONDS = env.integer("SCORES_ROLLUP_STALE_SECONDS", default=600, minimum=1)

# The most pending activities one rollup claims (the oldest first); 0 claims
# every pending row, as one batch, which is the default: one worker process
# adds a backlog fastest in one statement per segment. A bound lets several
# worker processes share a backlog (each claim skips the rows another holds,
# and a full batch enqueues the next rollup at once, engagement.rollup.
# incremental); docs/scaling.md measures what that buys on two cores.
SCORES_ROLLUP_MAX_BATCH: int | None = (
    env.integer("SCORES_ROLLUP_MAX_BATCH", default=0, minimum=0) or None
)

# Whole months of raw activity kept before the current month; older activity
# is folded into carried sums (scores, history and touches stay the same) and
# deleted by the nightly retention task (engagement.services.retention,
# docs/scaling.md). 0, the default, keeps everything. Scores are exact after a
# drop for the models current then; a later half-life change cannot re-weigh
# dropped months (weights and seniority can).
ACTIVITY_RETENTION_MONTHS: int | None = (
    env.integer("ACTIVITY_RETENTION_MONTHS", default=0, minimum=0) or None
)

# PostgreSQL work_mem for the score statements that aggregate a whole range of
# accounts (recompute, history backfill): their hash aggregates stay in memory
# instead of sorting on disk. Set per transaction, not for the server.
SCORES_WORK_MEM_MB = env.integer("SCORES_WORK_MEM_MB", default=64, minimum=1)

# --- CSV import -------------------------------------------------------------

# CRM stage names (case-insensitive) that mean won or lost; every other stage is
# open. Defaults cover Closed Won/Lost and Won/Lost; add your CRM's own names as
# CRM_STAGE_STATUS="Signed=won,Churned=lost".
CRM_STAGE_STATUS: dict[str, str] = {}
for _entry in env.strings("CRM_STAGE_STATUS"):
    _stage, _, _status = _entry.partition("=")
    if _status.strip().lower() not in ("open", "won", "lost") or not _stage.strip():
        raise ImproperlyConfigured(
            f"CRM_STAGE_STATUS entry {_entry!r} must look like 'Stage name=won' "
            "(open, won or lost)."
        )
    CRM_STAGE_STATUS[_stage.strip().lower()] = _status.strip().lower()

# --- Auth -----------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
# web:home sends each role to its landing page (sales: My accounts).
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        # Tokens stored hashed, shown once (accounts/api_tokens.py).
        "accounts.api_tokens.HashedTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # DRF's JSON parser, bounded in size (413) and nesting (400): core/api_parsers.py.
    "DEFAULT_PARSER_CLASSES": [
        "core.api_parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The database down: 503 with Retry-After, never a 500 (core/api_errors.py).
    "EXCEPTION_HANDLER": "core.api_errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Account engagement API",
    "DESCRIPTION": "Accounts, engagement scores per ICP segment, campaigns and their measurement.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # A request body and an answer are documented apart: read-only fields are
    # not asked for, and a field may be required in but null out (a CRM id).
    "COMPONENT_SPLIT_REQUEST": True,
    # config/urls.py's `<key:pk>`: a database key, at most 18 digits.
    "PATH_CONVERTER_OVERRIDES": {
        "key": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
    },
    # Named by string (config imports no app): the error answers every /api/
    # operation gives (core/api_schema.py) and the tracking endpoints, which are
    # plain Django views (engagement/tracking_schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api_schema.api_error_responses_hook",
        "engagement.tracking_schema.tracking_schema_hook",
    ],
}

# --- Email ----------------------------------------------------------------

EMAIL_HOST = env.string("EMAIL_HOST")
EMAIL_PORT = env.integer("EMAIL_PORT", default=587, minimum=1)
EMAIL_HOST_USER = env.string("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env.string("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", default=True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "engagement@localhost")
# Without an SMTP host, mail is printed to the console instead of lost.
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)

# Alerts: an outgoing webhook, signed with HMAC-SHA256 (engagement/alerts.py).
ALERT_WEBHOOK_URL = env.url("ALERT_WEBHOOK_URL", schemes=("http", "https"))
ALERT_WEBHOOK_SECRET = env.string("ALERT_WEBHOOK_SECRET")
if ALERT_WEBHOOK_URL and not ALERT_WEBHOOK_SECRET:
    raise ImproperlyConfigured("ALERT_WEBHOOK_URL is set but ALERT_WEBHOOK_SECRET is not.")

# --- Time, static files, security -------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", default=31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.boolean("SECURE_HSTS_PRELOAD", default=True)
    # /healthz is probed over plain HTTP by load balancers inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if env.boolean("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {
        "handlers": ["console"],
        "level": env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
    },
    "loggers": {
        # The board pack PDF: WeasyPrint logs every layout step (INFO) and every
        # screen-only CSS rule of the one stylesheet it skips (WARNING); only
        # its errors are worth a line in the server's log.
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "ERROR"},
    },
}
