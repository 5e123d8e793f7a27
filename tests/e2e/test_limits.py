"""Per-key limits across real worker processes: concurrency, rate, and a killed worker's slot.

Measured by the agents themselves (``tests.e2e.agents.limited``: a counter of attempts inside the function and the
start time of each), never by the store's own records of the limit.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from coordination import Workflow
from coordination.pipeline.components import components
from coordination.pipeline.limit_usage import limit_uses
from coordination.pipeline.records import now_ms
from tests.e2e.agents import pid_of, probe_seen, probe_starts
from tests.e2e.conftest import Services, running_services, wait_finished
from tests.reliability.agents import AGENT_MODULES
from tests.reliability.observe import agent_record, alive, forget_unacked, wait_until

#: Three worker processes' pools: 3 + 3 + 2 slots, far more than the limit allows at once.
EXTRA_WORKERS = 2
LEASE_SECONDS = 2


@pytest.fixture(scope="module")
def services(redis_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """Three worker processes (the fixture's own and two more, three pool processes each) and beat."""
    with running_services(tmp_path_factory.mktemp("limits")) as started:
        for index in range(EXTRA_WORKERS):
            started.start_worker(f"e2e-{started.suffix}-{index}", concurrency=3)
        started.wait_for_workers()
        yield started


def _limited_workflow(name: str, agents: int, limit: dict[str, object]) -> Workflow:
    return Workflow(
        name=name,
        agents={f"a{index:02d}": {"task": "e2e-limited"} for index in range(agents)},
        limits=[limit],
    )


@pytest.mark.timeout(240)
def test_fifty_agents_across_workers_never_run_more_than_the_concurrency_limit(services: Services) -> None:
    probe = uuid.uuid4().hex[:8]
    workflow = _limited_workflow("conc", 10, {"key": f"llm:{probe}", "concurrency": 3})
    cids = [workflow.submit(input={"probe": probe, "sleep": 0.3}) for _ in range(5)]  # 5 coordinations share it

    statuses = [wait_finished(cid, timeout=180) for cid in cids]

    assert [status.status for status in statuses] == ["completed"] * 5
    seen = probe_seen(probe)
    assert len(seen) == 50
    assert max(seen) <= 3, f"up to {max(seen)} ran at once"
    assert max(seen) == 3  # the limit was reached, not merely never approached
    # A deferral is not an attempt: every agent ran in its first attempt.
    assert all(agent.attempts == 1 for status in statuses for agent in status.agents)
    use = next(use for use in limit_uses(components().keys, now_ms()) if use.key == f"llm:{probe}")
    assert (use.running, use.waiting, use.started_total) == (0, 0, 50)
    assert use.deferred_total > 0


@pytest.mark.timeout(240)
def test_a_rate_limit_holds_within_ten_percent_over_ten_seconds(services: Services) -> None:
    """``rate: "6/s"`` measured over 10 s (the issue asks 120/m over a minute; CI gets the same check, shorter).

    Only N/s, N/m and N/h exist, so the window is 10 one-second windows: 60 starts expected, 54..66 accepted.
    Enough agents wait (100) that the limit, not the demand, sets the pace. Starts are counted at their scheduled
    times (a deferred attempt reserves the next free time), so an attempt delivered a little late can start within
    one second of the next one: a single one-second window may see a start or two more than 6, never the run.
    """
    probe = uuid.uuid4().hex[:8]
    workflow = _limited_workflow("rate", 25, {"key": f"api:{probe}", "rate": "6/s"})
    cids = [workflow.submit(input={"probe": probe, "sleep": 0}) for _ in range(4)]

    wait_until(lambda: len(probe_starts(probe)) >= 80, 60, "80 starts")
    starts = sorted(probe_starts(probe))
    first = starts[0]
    in_window = [moment for moment in starts if first <= moment < first + 10]
    assert 54 <= len(in_window) <= 66, f"{len(in_window)} starts in 10 s under 6/s"
    # Never faster than the limit over the whole run either: 80 starts need 74 more after the first window's 6.
    assert starts[79] - first >= 0.9 * (80 - 6) / 6, f"80 starts in {starts[79] - first:.1f} s"
    for cid in cids:
        assert wait_finished(cid, timeout=60).status == "completed"


@pytest.fixture
def killable(redis_server: str, tmp_path: Path) -> Iterator[Services]:
    """A worker in a process group of its own whose attempts hold 2 s leases, and beat."""
    with running_services(
        tmp_path,
        {"COORD_LEASE_SECONDS": str(LEASE_SECONDS), "COORD_AGENT_MODULES": AGENT_MODULES},
        worker_process_group=True,
    ) as started:
        yield started
        queue = started.environment["COORD_TASK_QUEUE"]
    forget_unacked(queue)


@pytest.mark.timeout(180)
def test_a_killed_workers_concurrency_slot_frees_within_the_lease(killable: Services) -> None:
    key = f"gpu:{uuid.uuid4().hex[:8]}"
    holder = Workflow(
        name="holder", agents={"hold": {"task": "fault-step", "limits": [{"key": key, "concurrency": 1}]}}
    )
    waiter = Workflow(name="waiter", agents={"next": {"task": "e2e-step", "limits": [{"key": key, "concurrency": 1}]}})
    held = holder.submit(input={"hold": {"first_sleep": 60, "sleep": 0.2}})
    wait_until(lambda: pid_of(held, "hold") is not None, 30, "the holder to run")
    waiting = waiter.submit()
    wait_until(lambda: agent_record(waiting, "next").get("waiting_on") == key, 30, "the waiter to be deferred")
    first = killable.processes[0]
    killable.start_worker(f"e2e-{killable.suffix}-b")
    killable.wait_for_workers()

    killed_at = time.time()
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    wait_until(lambda: not alive(pid_of(held, "hold") or 0), 10, "the holder's pool process to die")

    assert wait_finished(waiting, timeout=60).status == "completed"
    started = int(agent_record(waiting, "next")["started_ms"]) / 1000
    # The lease (2 s) plus the waiter's back-off and a loaded machine's scheduling.
    assert started - killed_at <= LEASE_SECONDS + 2.5, f"the slot freed {started - killed_at:.2f} s after the kill"
    # The holder's attempt runs again on the second worker, after the waiter: one at a time throughout.
    assert wait_finished(held, timeout=60).status == "completed"
    assert int(agent_record(held, "hold")["started_ms"]) / 1000 >= started
