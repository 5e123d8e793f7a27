"""What the fault tests read back: announcements per agent, agent records, due entries, worker processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import redis

from config.settings import get_settings
from coordination.pipeline.components import components
from coordination.store.connection import sync_client


def completions(coordination_id: str, agent_id: str) -> int:
    """How many times the agent's completion was announced (``agent_completed`` signals in the stream)."""
    history = components().signals.get_signal_history(
        coordination_id, filters={"signal_type": "agent_completed", "sender_agent_id": agent_id}
    )
    return len(history)


def agent_record(coordination_id: str, agent_id: str) -> dict[str, str]:
    """The agent's record in the store."""
    return dict(sync_client().hgetall(components().keys.coordination(coordination_id).agent(agent_id)))


def due_entries(coordination_id: str) -> list[str]:
    """Members of the namespace's due sets (dependencies and agents) that belong to the coordination."""
    keys = components().keys
    client = sync_client()
    return [
        member
        for due_set in (keys.due, keys.agents_due)
        for member, _score in client.zscan_iter(due_set, match=f"{coordination_id}/*")
    ]


def wait_until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.02) -> None:
    """Poll ``check`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def parent_pid(pid: int) -> int:
    """The parent process id of ``pid`` (Linux /proc)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def forget_unacked(queue: str) -> int:
    """Forget the broker's unacknowledged messages of a test queue (a killed worker leaves them behind).

    kombu would put them back into the queue after the visibility timeout, long after the test's workers are gone;
    only entries of ``queue`` are touched on the shared broker.
    """
    client = redis.Redis.from_url(str(get_settings().broker_url), decode_responses=True)
    try:
        tags = [tag for tag, raw in client.hscan_iter("unacked") if f'"{queue}"' in raw]
        if tags:
            client.hdel("unacked", *tags)
            client.zrem("unacked_index", *tags)
        return len(tags)
    finally:
        client.close()
