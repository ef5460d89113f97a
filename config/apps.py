from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """Project-wide plumbing: health checks and the worker heartbeat."""

    name = "config"
    verbose_name = "Operations"
