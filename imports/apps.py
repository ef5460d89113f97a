from django.apps import AppConfig


class ImportsConfig(AppConfig):
    """The CSV import registry, its API endpoint and `manage.py import_csv`.

    Sits above campaigns, engagement and accounts, whose per-kind prepare and
    write functions it calls; none of them imports it.
    """

    name = "imports"
