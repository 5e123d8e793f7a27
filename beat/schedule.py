"""The one beat schedule (run exactly one ``celery -A config.celery_app beat``)."""

from __future__ import annotations

from typing import Any

from config.settings import Settings
from tasks import names


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Periodic tasks and their intervals; every task is idempotent and takes a lock."""
    return {
        "poll-dependencies": {
            "task": names.POLL_DEPENDENCIES,
            "schedule": settings.poll_interval_seconds,
            # A poll that waited longer than its interval is stale: the next one does its work.
            "options": {"expires": settings.poll_interval_seconds * 5},
        },
        "archive-history": {
            "task": names.ARCHIVE_HISTORY,
            "schedule": settings.archive_interval_seconds,
            "options": {"expires": settings.archive_interval_seconds * 5},
        },
        "expire-finished": {
            "task": names.EXPIRE_FINISHED,
            "schedule": 60.0,
            "options": {"expires": 300},
        },
    }
