"""Faults: a worker process killed in the middle of one item of a map agent: the item runs again, the rest once."""

from __future__ import annotations

import os
import signal
import time

from coordination import Workflow, coordination_status
from coordination.pipeline.components import components
from tests.e2e.agents import pid_of, runs_of
from tests.e2e.conftest import wait_finished


def test_an_item_whose_worker_process_is_killed_is_redelivered_and_the_map_agent_completes_once(pipeline_services):
    workflow = Workflow(
        name="map-killed",
        agents={
            "plan": {"task": "e2e-list"},
            "each": {"task": "e2e-item", "depends_on": ["plan"], "map": {"over": "plan.work.items", "max_items": 10}},
            "after": {"task": "e2e-step", "depends_on": ["each"]},
        },
    )
    items = ["a", "b", "c", "d"]
    coordination_id = workflow.submit(input={"items": items, "item_sleep": 2.0})
    deadline = time.monotonic() + 20
    while pid_of(coordination_id, "each.0") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = pid_of(coordination_id, "each.0")
    assert pid is not None
    assert coordination_status(coordination_id).agent("each").status == "running"

    os.kill(pid, signal.SIGKILL)  # the pool process dies mid-item; acks_late + reject_on_worker_lost requeue it
    status = wait_finished(coordination_id, timeout=90)

    assert status.status == "completed", status
    each = status.agent("each")
    assert isinstance(each.result, list) and [entry["item"] for entry in each.result] == items
    assert runs_of(coordination_id, "each.0") == 2  # at-least-once: the killed run, then the redelivery
    assert [runs_of(coordination_id, f"each.{n}") for n in range(1, 4)] == [1, 1, 1]
    completions = components().signals.get_signal_history(
        coordination_id, filters={"signal_type": "agent_completed", "sender_agent_id": "each"}
    )
    assert len(completions) == 1
    assert runs_of(coordination_id, "after") == 1
