"""What beat's schedule reads before sending a poll, and the heartbeat it leaves for ``coord check``."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from coordination.pipeline.components import components
from coordination.pipeline.records import now_ms
from coordination.store.connection import STORE_ERRORS, sync_client
from coordination.store.identity import check_generation

logger = logging.getLogger(__name__)

_failing = False


@dataclass(frozen=True)
class DueHeads:
    """What beat's schedule reads before deciding to send a poll.

    Attributes:
        wait: seconds until the earliest due dependency check or agent repair (<= 0: due now; None: nothing due).
        polls_done: polls that have finished so far (a counter, so no clock is compared across machines).
    """

    wait: float | None
    polls_done: int


def due_heads() -> DueHeads | None:
    """Read the heads of the due sets and the polls done; None when the store cannot be read.

    Records beat's heartbeat in the same round trip. A store error is logged once.
    """
    global _failing
    keys = components().keys
    now = now_ms()
    try:
        pipe = sync_client().pipeline(transaction=False)
        pipe.zrange(keys.due, 0, 0, withscores=True)
        pipe.zrange(keys.agents_due, 0, 0, withscores=True)
        pipe.hget(keys.beat_heartbeat, "polls")
        pipe.hset(keys.beat_heartbeat, "checked_ms", now)
        dependency_head, agent_head, polls_done, _ = pipe.execute()
        check_generation(sync_client())
    except STORE_ERRORS as error:
        if not _failing:
            logger.error("beat cannot read the due sets: %s (polls wait until the store answers)", error)
        _failing = True
        return None
    _failing = False
    heads = [float(score) for _member, score in (*dependency_head, *agent_head)]
    return DueHeads(None if not heads else (min(heads) - now) / 1000, int(polls_done or 0))


def record_poll(report: dict[str, object]) -> None:
    """Note in beat's heartbeat that a poll ran (``coord check`` shows when; beat's schedule counts them)."""
    key = components().keys.beat_heartbeat
    pipe = sync_client().pipeline(transaction=True)
    pipe.hset(key, mapping={"polled_ms": now_ms(), "last_poll": str(report)})
    pipe.hincrby(key, "polls", 1)
    pipe.execute()


def heartbeat() -> dict[str, int]:
    """Beat's heartbeat: ``checked_ms`` (last look at the schedule) and ``polled_ms`` (last poll), 0 if never."""
    raw = sync_client().hgetall(components().keys.beat_heartbeat)
    return {name: int(raw.get(name, 0)) for name in ("checked_ms", "polled_ms")}
