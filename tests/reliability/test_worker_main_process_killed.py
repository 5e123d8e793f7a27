"""Faults: a worker's main process killed (SIGKILL, the OOM killer; its whole group: ``docker stop`` after the grace).

Its pool processes die with it (Celery sets their parent-death signal), the broker keeps their messages unacked
until the visibility timeout (12 minutes), and nobody renews the leases of the attempts they ran. Beat re-sends those
attempts when their leases expire, and a second worker runs them: within one lease and one poll, not 13 minutes.
Every agent's completion is announced once, the dependent runs once, nothing is left due.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coordination import Workflow, coordination_status
from tests.e2e.agents import pid_of, runs_of
from tests.e2e.conftest import Services, running_services, wait_finished
from tests.reliability.agents import AGENT_MODULES
from tests.reliability.observe import (
    agent_record,
    alive,
    completions,
    due_entries,
    forget_unacked,
    parent_pid,
    wait_until,
)

LEASE_SECONDS = 2
#: Beat looks at the due sets every COORD_POLL_INTERVAL_SECONDS (0.25 s in the end-to-end settings).
POLL_SECONDS = 0.25
#: What a loaded two-CPU machine adds: the poll's trip through the periodic queue, the re-sent message's trip to
#: the second worker, its admission. The restart came 1.8–2.2 s after the kill here (load 4–6); before leases it
#: took 800 s (the broker's visibility timeout).
SCHEDULING_SLACK = 2.5
#: The first run outlasts the second worker's start; the run after the kill is short.
FIRST_RUN_SECONDS, LATER_RUN_SECONDS = 60.0, 0.5
RUNNING = ("left", "right")


@pytest.fixture
def services(redis_server: str, tmp_path: Path) -> Iterator[Services]:
    """A worker whose attempts hold 2 s leases, and beat; the worker is in a process group of its own."""
    with running_services(
        tmp_path,
        {"COORD_LEASE_SECONDS": str(LEASE_SECONDS), "COORD_AGENT_MODULES": AGENT_MODULES},
        worker_process_group=True,
    ) as started:
        yield started
        queue = started.environment["COORD_TASK_QUEUE"]
    forget_unacked(queue)


def _run_and_kill(services: Services, kill: str) -> tuple[str, float]:
    """Start two long agents on the first worker, start a second worker, kill the first one; return (cid, when)."""
    workflow = Workflow(
        name="main-killed",
        agents={
            "left": {"task": "fault-step"},
            "right": {"task": "fault-step"},
            "after": {"task": "e2e-step", "depends_on": ["left", "right"]},
        },
    )
    durations = {"first_sleep": FIRST_RUN_SECONDS, "sleep": LATER_RUN_SECONDS}
    coordination_id = workflow.submit(input=dict.fromkeys(RUNNING, durations))
    first = services.processes[0]
    wait_until(
        lambda: all(pid_of(coordination_id, name) for name in RUNNING),
        30,
        "both agents to run on the first worker",
    )
    pool = {pid_of(coordination_id, name) for name in RUNNING}
    assert all(pid is not None and parent_pid(pid) == first.pid for pid in pool)
    assert {coordination_status(coordination_id).agent(name).status for name in RUNNING} == {"running"}

    services.start_worker(f"e2e-{services.suffix}-b")
    services.wait_for_workers()
    killed_at = time.time()
    if kill == "main":
        os.kill(first.pid, signal.SIGKILL)
    else:
        os.killpg(first.pid, signal.SIGKILL)  # the worker leads its own group: main and pool processes at once
    first.wait(timeout=10)
    wait_until(lambda: not any(alive(pid) for pid in pool if pid), 10, "the pool processes to die with their parent")
    return coordination_id, killed_at


@pytest.mark.timeout(180)
@pytest.mark.parametrize("kill", ["main", "group"], ids=["main-process", "process-group"])
def test_a_killed_workers_running_agents_run_again_elsewhere_within_one_lease_and_one_poll(
    services: Services, kill: str
) -> None:
    coordination_id, killed_at = _run_and_kill(services, kill)

    status = wait_finished(coordination_id, timeout=60)

    assert status.status == "completed", status
    bound = LEASE_SECONDS + POLL_SECONDS + SCHEDULING_SLACK
    for name in RUNNING:
        restarted = int(agent_record(coordination_id, name)["started_ms"]) / 1000
        assert 0 < restarted - killed_at <= bound, f"{name} ran again {restarted - killed_at:.2f} s after the kill"
        assert runs_of(coordination_id, name) == 2  # the killed run, then the one on the second worker
        assert completions(coordination_id, name) == 1
        assert status.agent(name).attempts == 1  # the same attempt, taken over, not a retry
    assert runs_of(coordination_id, "after") == 1
    assert completions(coordination_id, "after") == 1
    assert due_entries(coordination_id) == []  # nothing left for beat to look at
