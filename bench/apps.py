from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The benchmarks behind `manage.py bench` (docs/benchmarks.md); they ship
    outside the settings package and sit above every app they measure."""

    name = "bench"
    verbose_name = "Benchmarks"
