"""Signals the engagement app sends for apps that build on it (campaigns), so
that engagement need not import them (dependencies point one way).

Receivers only enqueue work; none holds business logic.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent once a rollup's claim of pending activity has committed, with
# `batch_id` (a RollupBatch: its first_activity_id and last_activity_id bound
# the ids of every row it claimed).
activity_batch_claimed = Signal()
