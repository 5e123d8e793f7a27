"""Periodic tasks: the dependency poll and agent repairs, archiving, expiry of finished coordinations."""

from __future__ import annotations

import logging
from typing import Any

from beat.locks import held
from config.celery_app import task
from config.settings import get_settings
from coordination import task_names as names
from coordination.archive.writer import archive_once, expire_archived
from coordination.pipeline.heartbeat import record_poll
from coordination.pipeline.polling import poll

logger = logging.getLogger(__name__)

# The periodic tasks store no result: beat sends them, nobody holds their ids, and their reports still reach
# Flower with the task events. They travel on their own queue (COORD_PERIODIC_QUEUE), so an agent backlog never
# delays them.


@task(names.POLL_DEPENDENCIES)
def poll_dependencies() -> dict[str, Any]:
    """Settle due dependency checks (time-outs, conditions without events) and repair due agents."""
    settings = get_settings()
    with held("poll", ttl_seconds=max(5.0, settings.poll_interval_seconds * 5)) as lock:
        if not lock:
            return {"skipped": "another poll is running"}
        # The lock is renewed between pages, so a long poll never overlaps the next one; it stops if the lock
        # was lost, and within its time budget (what is left stays due for the next poll).
        report = poll(keep_alive=lock.renew).as_dict()
        record_poll(report)
        return report


@task(names.ARCHIVE_HISTORY)
def archive_history() -> dict[str, Any]:
    """Move history from Redis to PostgreSQL (idempotent upserts; Redis trimmed only after the commit)."""
    with held("archive", ttl_seconds=300) as lock:
        if not lock:
            return {"skipped": "another archive run is in progress"}
        return archive_once().as_dict()


@task(names.EXPIRE_FINISHED)
def expire_finished() -> dict[str, Any]:
    """Delete finished coordinations from Redis once they are archived and older than the retention period."""
    with held("expire", ttl_seconds=300) as lock:
        if not lock:
            return {"skipped": "another expiry run is in progress"}
        return {"expired": expire_archived()}
