from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data: its generating process and `manage.py seed_demo`.

    Sits above campaigns, engagement and accounts (it writes through their
    services); none of them imports it.
    """

    name = "demo"
