"""`manage.py alerts_deliver`: deliver the alerts whose next try has come.

What the beat sweep does every minute; without a broker (eager tasks, no beat),
run it from cron so that failed deliveries are retried.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from engagement.alerts import alerts_deliver_due


class Command(BaseCommand):
    help = "Deliver (or retry) the alerts that are due; failures are recorded on the alert."

    def handle(self, *args: Any, **options: Any) -> None:
        swept = alerts_deliver_due()
        self.stdout.write(
            f"{swept.delivered} delivered, {swept.failed} failed (retried later), "
            f"{swept.gave_up} given up, {swept.skipped} taken by another run"
        )
