"""The one beat schedule (run exactly one ``celery -A config.celery_app beat``).

The dependency poll is sent only when something is due: its schedule (:class:`WhenDue`) looks at the heads of the
due sets every second (and at the earliest item's time) and says "due" when that time has come and no poll is under
way, so an idle system sends no polls, a due check runs within a moment of its due time, and polls never pile up
behind a long one. Every time it looks, it also records beat's heartbeat, which ``coord check`` reads.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from celery.schedules import schedstate, schedule

from config.settings import Settings
from coordination import task_names as names
from coordination.pipeline.heartbeat import due_heads

logger = logging.getLogger(__name__)

#: Seconds between looks at the due sets while a poll that was sent has not finished.
RECHECK_S = 0.1


class WhenDue(schedule):  # type: ignore[misc]
    """A schedule that is due when the pipeline's due sets hold something whose time has come.

    After sending a poll it looks again every :data:`RECHECK_S` while that poll has not finished (the items due then
    may be the ones it is handling), and sends the next poll as soon as it has, if something is still or newly due:
    a check that comes due shortly after a poll does not wait a whole interval. A poll that has not finished after
    ``in_flight_limit`` seconds (its message lost, its worker gone) no longer holds the next one back.

    Args:
        check_every: seconds between looks while nothing is due (and the longest delay before a due item is polled).
    """

    def __init__(self, check_every: float = 1.0, *args: Any, **kwargs: Any) -> None:
        super().__init__(run_every=check_every, *args, **kwargs)  # noqa: B026 (celery's own signature)
        self.check_every = float(check_every)
        self.in_flight_limit = max(10.0, 10 * self.check_every)
        # When the last poll was sent (monotonic s) and how many polls had finished then.
        self._sent: tuple[float, int] | None = None

    def is_due(self, last_run_at: datetime) -> schedstate:
        """``(True, next)`` when a due item is waiting and no poll is under way, else ``(False, seconds to wait)``."""
        heads = due_heads()
        if heads is None or heads.wait is None:
            return schedstate(is_due=False, next=self.check_every)
        if heads.wait > 0:
            return schedstate(is_due=False, next=min(heads.wait, self.check_every))
        if self._poll_under_way(heads.polls_done):
            return schedstate(is_due=False, next=min(RECHECK_S, self.check_every))
        self._sent = (time.monotonic(), heads.polls_done)
        return schedstate(is_due=True, next=min(RECHECK_S, self.check_every))

    def _poll_under_way(self, polls_done: int) -> bool:
        if self._sent is None:
            return False
        sent_at, done_then = self._sent
        return polls_done == done_then and time.monotonic() - sent_at < self.in_flight_limit

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
