"""`manage.py scores_rollup`: claim pending activity into every scored segment.

What the beat sweep does every minute; without a broker (eager tasks, no beat),
run it from cron to keep scores current.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from engagement.rollup import incremental, recompute


class Command(BaseCommand):
    help = "Roll pending activity up into the scores of every scored segment."

    def handle(self, *args: Any, **options: Any) -> None:
        for segment_id in recompute.segments_to_recompute():
            recompute.scores_recompute(segment_id=segment_id)
        result = incremental.scores_rollup()
        self.stdout.write(
            f"{result.activities} activities rolled up, "
            f"{result.accounts_refreshed} account scores refreshed"
        )
