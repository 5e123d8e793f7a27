"""Faults: beat's safety net is never starved by an agent backlog, and costs nothing when nothing is due.

Beat's periodic tasks travel on their own queue (``<COORD_TASK_QUEUE>.periodic``), which the worker consumes beside
the agents' queue: with thousands of agent messages waiting, a dependency time-out still fires on time. And beat
sends a poll only when something is due: an idle system sends none, and a due check still runs about when it is due.
The worker and beat run with the default poll interval (1 s).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from config.settings import get_settings, reload_settings
from coordination.models.workflow import WorkflowSpec
from coordination.pipeline.components import components
from coordination.pipeline.heartbeat import heartbeat
from coordination.pipeline.submission import submit
from coordination.store.connection import sync_client
from coordination.task_names import POLL_DEPENDENCIES
from tests.e2e.conftest import Services, running_services
from tests.reliability.agents import AGENT_MODULES
from tests.reliability.observe import wait_until
from tests.reliability.redis_server import PrivateRedis, store_on

POLL_INTERVAL_SECONDS = 1.0
#: Agent messages waiting in the agents' queue (each agent sleeps 50 ms: two worker processes drain 40 a second).
BACKLOG = 2_000
#: Coordinations whose one agent waits on a dependency that times out after TIMEOUT_SECONDS.
WAITING = 300
TIMEOUT_SECONDS = 5
#: However long the agents' queue, no due time-out waits longer than this with none firing: beat sends the next poll
#: as soon as the last one finished (it looks every 0.1 s meanwhile), and the poll's trip through its own queue is
#: short (measured 0.07 s).
STALL_BOUND_S = 0.5


@pytest.fixture
def services(redis_server: str, tmp_path: Path) -> Iterator[Services]:
    """A worker (2 processes, both queues) and beat, with the default poll interval, on a private store.

    The store is a redis-server of the test's own: what is measured is this pipeline, not the other users of the
    shared server. (The broker stays the shared one.)
    """
    environment = {"COORD_POLL_INTERVAL_SECONDS": str(POLL_INTERVAL_SECONDS), "COORD_AGENT_MODULES": AGENT_MODULES}
    server = PrivateRedis(tmp_path / "store").start()
    try:
        with store_on(server), running_services(tmp_path, environment) as started:
            yield started
    finally:
        server.kill()


def _waiting_workflow(timeout: float) -> WorkflowSpec:
    """One agent waiting on a resource nobody marks (due only at its deadline: no periodic re-check)."""
    return WorkflowSpec.model_validate(
        {
            "name": "starved",
            "agents": {"waiter": {"task": "fault-step"}},
            "dependencies": [
                {
                    "id": "needs-input",
                    "agent": "waiter",
                    "type": "resource_availability",
                    "target": "never-marked",
                    "timeout": timeout,
                    "check_interval_ms": 0,
                }
            ],
        }
    )


def _dependency(coordination_id: str) -> dict[str, str]:
    return dict(sync_client().hgetall(components().keys.coordination(coordination_id).dependency("needs-input")))


def _dependencies(coordination_ids: list[str]) -> list[dict[str, str]]:
    keys = components().keys
    pipe = sync_client().pipeline(transaction=False)
    for cid in coordination_ids:
        pipe.hgetall(keys.coordination(cid).dependency("needs-input"))
    return [dict(record) for record in pipe.execute()]


def _queue_length(queue: str) -> int:
    broker = redis.Redis.from_url(str(get_settings().broker_url))
    try:
        return int(broker.llen(queue))
    finally:
        broker.close()


def longest_stall(records: list[dict[str, str]]) -> float:
    """The longest time (s) during which some time-out was overdue and none fired: what starvation looks like.

    Time-outs due together fire one after the other (each is a few round trips and some routing), so the last of a
    burst fires later than its deadline even when the poll never waits; a poll stuck behind other messages, or
    none sent, fires none at all.
    """
    fired = sorted((int(r["resolved_ms"]), int(r["deadline_ms"])) for r in records)
    earliest_left = [deadline for _resolved, deadline in fired]  # earliest deadline among those not fired yet
    for index in range(len(fired) - 2, -1, -1):
        earliest_left[index] = min(earliest_left[index], earliest_left[index + 1])
    longest, previous = 0, earliest_left[0]
    for (resolved, _deadline), overdue_since in zip(fired, earliest_left, strict=True):
        longest = max(longest, resolved - max(previous, overdue_since))
        previous = resolved
    return longest / 1000


@pytest.mark.timeout(240)
def test_time_outs_fire_on_time_behind_a_backlog_of_agent_messages(services: Services) -> None:
    busy = WorkflowSpec.model_validate({"name": "backlog", "agents": {"busy": {"task": "fault-step"}}})
    for _ in range(BACKLOG):
        submit(busy, input={"busy": {"first_sleep": 0.05}})
    waiting = [submit(_waiting_workflow(TIMEOUT_SECONDS)) for _ in range(WAITING)]

    def all_fired() -> bool:
        return all(record.get("status") != "pending" for record in _dependencies(waiting))

    wait_until(all_fired, TIMEOUT_SECONDS + 60, "every time-out to fire", every=0.2)
    still_queued = _queue_length(get_settings().task_queue)

    records = _dependencies(waiting)
    assert {record["status"] for record in records} == {"timeout"}
    assert still_queued > 0, "the backlog was gone before the time-outs fired: the test proved nothing"
    lateness = sorted((int(r["resolved_ms"]) - int(r["deadline_ms"])) / 1000 for r in records)
    stall = longest_stall(records)
    print(
        f"{WAITING} time-outs fired {lateness[0]:.2f}/{lateness[len(lateness) // 2]:.2f}/{lateness[-1]:.2f} s late "
        f"(first/median/last), longest stall {stall:.2f} s, {still_queued} agent messages queued"
    )
    assert lateness[0] >= 0
    assert stall <= STALL_BOUND_S, (
        f"a due time-out waited {stall:.2f} s with none firing; time-outs fired {lateness[0]:.2f}–{lateness[-1]:.2f} "
        f"s after their deadlines (median {lateness[len(lateness) // 2]:.2f} s), {still_queued} agent messages queued"
    )


class PollsReceived:
    """Counts the poll tasks one worker receives, from Celery's task events (what Flower shows)."""

    def __init__(self, node_prefix: str) -> None:
        self.node_prefix = node_prefix
        self.polls: list[float] = []
        self.ready = threading.Event()
        self._receiver: Any = None
        self._thread = threading.Thread(target=self._listen, daemon=True)

    def _on_event(self, event: dict[str, Any]) -> None:
        if not str(event.get("hostname", "")).startswith(self.node_prefix):
            return
        self.ready.set()  # (any event of the worker: the receiver is consuming)
        if event.get("type") == "task-received" and event.get("name") == POLL_DEPENDENCIES:
            self.polls.append(time.time())

    def _listen(self) -> None:
        from config.celery_app import app

        with app.connection_for_read() as connection:
            self._receiver = app.events.Receiver(connection, handlers={"*": self._on_event})
            self._receiver.capture(limit=None, timeout=None, wakeup=True)

    def __enter__(self) -> PollsReceived:
        self._thread.start()
        assert self.ready.wait(30), "no event from the worker within 30 s"
        return self

    def __exit__(self, *_: object) -> None:
        if self._receiver is not None:
            self._receiver.should_stop = True
        self._thread.join(timeout=10)


#: A due check fires within this long of its due time when beat is idle: beat looks at the due sets at that
#: time, the poll travels through the periodic queue, the worker picks it up.
ON_TIME_S = 0.5


@pytest.mark.timeout(120)
def test_an_idle_system_sends_no_polls_and_due_checks_still_run_on_time(services: Services) -> None:
    with PollsReceived(f"e2e-{services.suffix}@") as received:
        time.sleep(5.0)  # nothing is due
        idle_polls = len(received.polls)
        assert heartbeat()["checked_ms"] > 0  # beat is alive and looking at the due sets

        # Two time-outs, the second due 0.4 s after the first: less than a poll interval after the first poll.
        first = submit(_waiting_workflow(2))
        second = submit(_waiting_workflow(2.4))
        wait_until(
            lambda: all(r.get("status") != "pending" for r in _dependencies([first, second])),
            30,
            "the time-outs to fire",
        )
        records = _dependencies([first, second])

    assert idle_polls == 0
    assert {record["status"] for record in records} == {"timeout"}
    lateness = [(int(r["resolved_ms"]) - int(r["deadline_ms"])) / 1000 for r in records]
    assert all(0 <= late <= ON_TIME_S for late in lateness), lateness
    assert 2 <= len(received.polls) <= 4  # the polls the time-outs needed (and none while waiting for them)


def test_a_time_out_records_when_it_fired_not_when_its_poll_began(
    redis_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Integration level (no worker): a poll that handles several time-outs in turn stamps each with its own time."""
    from coordination.pipeline import polling
    from coordination.pipeline.dispatch import Dispatcher
    from coordination.pipeline.polling import poll

    monkeypatch.setenv("COORD_PIPELINE_NAMESPACE", f"stamp-{uuid.uuid4().hex[:8]}")
    reload_settings()
    monkeypatch.setattr(Dispatcher, "publish", lambda self, task, queue, item, task_id=None: None)
    handle = polling.handle_dependency_timeout

    def slow_handling(*args: Any) -> list[str]:
        time.sleep(0.3)  # a loaded machine: each time-out takes a while to route and settle
        return handle(*args)

    monkeypatch.setattr(polling, "handle_dependency_timeout", slow_handling)
    waiting = [submit(_waiting_workflow(0.2)) for _ in range(3)]
    time.sleep(0.3)

    report = poll(budget_seconds=30)

    records = _dependencies(waiting)
    assert report.timed_out == 3 and {record["status"] for record in records} == {"timeout"}
    fired = sorted(int(record["resolved_ms"]) for record in records)
    assert fired[1] - fired[0] >= 250 and fired[2] - fired[1] >= 250, fired
