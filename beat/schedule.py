"""The one beat schedule (run exactly one ``celery -A config.celery_app beat``).

The dependency poll is sent only when something is due: its schedule (:class:`WhenDue`) looks at the heads of the
due sets every second and says "due" when their earliest item's time has come, so an idle system sends no polls
and a due check still runs within about a second of its due time. Every time it looks, it also records beat's
heartbeat, which ``coord check`` reads.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from celery.schedules import schedstate, schedule

from config.settings import Settings
from tasks import names

logger = logging.getLogger(__name__)


class WhenDue(schedule):  # type: ignore[misc]
    """A schedule that is due when the pipeline's due sets hold something whose time has come.

    Args:
        check_every: seconds between looks (and the longest delay before a due item is polled).
    """

    def __init__(self, check_every: float = 1.0, *args: Any, **kwargs: Any) -> None:
        super().__init__(run_every=check_every, *args, **kwargs)  # noqa: B026 (celery's own signature)
        self.check_every = float(check_every)

    def is_due(self, last_run_at: datetime) -> schedstate:
        """``(True, next)`` when a due item is waiting, else ``(False, seconds until the earliest one)``."""
        from coordination.pipeline.heartbeat import seconds_until_due

        wait = seconds_until_due()
        if wait is None:
            return schedstate(is_due=False, next=self.check_every)
        if wait <= 0:
            return schedstate(is_due=True, next=self.check_every)
        return schedstate(is_due=False, next=min(wait, self.check_every))

    def __reduce__(self) -> tuple[type, tuple[float]]:
        return self.__class__, (self.check_every,)

    def __repr__(self) -> str:
        return f"<when due, checked every {self.check_every}s>"


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Periodic tasks and their intervals; every task is idempotent and takes a lock."""
    return {
        "poll-dependencies": {
            "task": names.POLL_DEPENDENCIES,
            "schedule": WhenDue(settings.poll_interval_seconds),
            # A poll that waited longer than this is stale: a newer one does its work.
            "options": {"expires": max(30.0, settings.poll_interval_seconds * 30)},
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
