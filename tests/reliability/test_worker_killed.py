"""Faults: a worker process killed in the middle of an agent loses nothing and does nothing twice."""

from __future__ import annotations

import os
import signal
import time

from coordination import Workflow, coordination_status
from coordination.pipeline.components import components
from tests.e2e.agents import pid_of, runs_of
from tests.e2e.conftest import wait_finished


def test_an_agent_whose_worker_process_is_killed_is_redelivered_and_completes_once(pipeline_services):
    workflow = Workflow(
        name="killed",
        agents={
            "slow": {"task": "e2e-step"},
            "after": {"task": "e2e-step", "depends_on": ["slow"]},
        },
    )
    coordination_id = workflow.submit(input={"slow": {"sleep": 2.0}})
    deadline = time.monotonic() + 20
    while pid_of(coordination_id, "slow") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = pid_of(coordination_id, "slow")
    assert pid is not None and coordination_status(coordination_id).agent("slow").status == "running"

    os.kill(pid, signal.SIGKILL)  # the pool process dies mid-task; acks_late + reject_on_worker_lost requeue it
    status = wait_finished(coordination_id, timeout=60)

    assert status.status == "completed"
    assert runs_of(coordination_id, "slow") == 2  # at-least-once: the killed run, then the redelivery
    completions = components().signals.get_signal_history(
        coordination_id, filters={"signal_type": "agent_completed", "sender_agent_id": "slow"}
    )
    assert len(completions) == 1
    assert runs_of(coordination_id, "after") == 1
    assert status.agent("slow").attempts == 1
