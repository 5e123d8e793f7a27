"""Periodic tasks: dependency polling and reconciliation, archiving, expiry of finished coordinations."""

from __future__ import annotations

import logging
from typing import Any

from beat.locks import held
from config.celery_app import app
from config.settings import get_settings
from coordination.pipeline.polling import poll_due_dependencies, reconcile
from tasks import names

logger = logging.getLogger(__name__)

# The periodic tasks store no result: beat sends them, nobody holds their ids, and polling every second would
# keep ~86,000 result keys a day in the result backend. Their reports still reach Flower with the task events.


@app.task(name=names.POLL_DEPENDENCIES, acks_late=False, ignore_result=True)  # type: ignore[untyped-decorator]
def poll_dependencies() -> dict[str, Any]:
    """Settle due dependency checks (time-outs, conditions without events) and reconcile running coordinations."""
    with held("poll", ttl_seconds=max(5.0, get_settings().poll_interval_seconds * 5)) as taken:
        if not taken:
            return {"skipped": "another poll is running"}
        report = poll_due_dependencies()
        started = reconcile()
        return {**report.as_dict(), "reconciled": started}


@app.task(name=names.ARCHIVE_HISTORY, acks_late=False, ignore_result=True)  # type: ignore[untyped-decorator]
def archive_history() -> dict[str, Any]:
    """Move history from Redis to PostgreSQL (idempotent upserts; Redis trimmed only after the commit)."""
    from coordination.archive.writer import archive_once

    with held("archive", ttl_seconds=300) as taken:
        if not taken:
            return {"skipped": "another archive run is in progress"}
        return archive_once().as_dict()


@app.task(name=names.EXPIRE_FINISHED, acks_late=False, ignore_result=True)  # type: ignore[untyped-decorator]
def expire_finished() -> dict[str, Any]:
    """Delete finished coordinations from Redis once they are archived and older than the retention period."""
    from coordination.archive.writer import expire_archived

    with held("expire", ttl_seconds=300) as taken:
        if not taken:
            return {"skipped": "another expiry run is in progress"}
        return {"expired": expire_archived()}
