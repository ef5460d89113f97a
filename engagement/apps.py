from django.apps import AppConfig


class EngagementConfig(AppConfig):
    name = "engagement"

    def ready(self) -> None:
        # /healthz reports activity the score rollup has left waiting.
        from core.selectors import health_check_register
        from engagement.selectors import rollup_health

        health_check_register("rollup", rollup_health)
