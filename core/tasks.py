from __future__ import annotations

import socket
from typing import Any

from celery import shared_task

from core.services import worker_heartbeat_record


# The name predates the move to core: beat's schedule rows and queued messages
# carry it, so it stays.
@shared_task(bind=True, name="config.worker_heartbeat_record", acks_late=True, ignore_result=True)
def worker_heartbeat_record_task(self: Any) -> None:
    """Beat runs this every minute; /healthz shows when a worker last ran it."""
    worker_heartbeat_record(hostname=self.request.hostname or socket.gethostname())
