from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares: bulk writes, CSV reading, the TTL cache, migration
    tools, date hierarchies for the admin, the worker heartbeat and /healthz."""

    name = "core"
    verbose_name = "Operations"
