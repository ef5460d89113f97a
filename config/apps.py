from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The settings package. Installed only for its migrations: 0001 created the
    worker heartbeat table on every existing database, and 0002 hands the model
    to core (which keeps the table, config_workerheartbeat)."""

    name = "config"
    verbose_name = "Settings"
