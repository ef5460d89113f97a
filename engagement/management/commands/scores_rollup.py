"""`manage.py scores_rollup`: claim pending activity into every scored segment.

What the beat sweep does every minute; without a broker (eager tasks, no beat),
run it from cron to keep scores current.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from engagement.rollup import incremental, recompute


class Command(BaseCommand):
    help = "Roll pending activity up into the scores of every scored segment."

    def handle(self, *args: Any, **options: Any) -> None:
        for segment_id in recompute.segments_to_recompute():
            recompute.scores_recompute(segment_id=segment_id)
        # A bounded claim (SCORES_ROLLUP_MAX_BATCH) takes one batch: claim again
        # until a claim comes short of a full batch, so cron drains the backlog.
        bound = settings.SCORES_ROLLUP_MAX_BATCH
        activities = accounts = 0
        while True:
            result = incremental.scores_rollup()
            activities += result.activities
            accounts += result.accounts_refreshed
            if bound is None or result.activities < bound:
                break
        self.stdout.write(f"{activities} activities rolled up, {accounts} account scores refreshed")
