"""A replayed agent message (anyone who can publish to the broker can resend a task id Flower shows) never runs
an agent in parallel and never fails a healthy run."""

from __future__ import annotations

import time

import pytest

from config.celery_app import app
from coordination import Workflow, coordination_status
from coordination.pipeline.components import components
from coordination.pipeline.records import Records
from tests.e2e.agents import runs_of
from tests.e2e.conftest import wait_finished

pytestmark = pytest.mark.redis


def _running_task_id(coordination_id: str, agent_id: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        raw = Records(components().keys).agent(coordination_id, agent_id)
        if raw.get("status") == "running" and raw.get("task_id"):
            return str(raw["task_id"])
        assert time.monotonic() < deadline, f"{agent_id} did not start"
        time.sleep(0.05)


def test_replaying_a_running_agents_message_neither_runs_it_again_nor_fails_the_run(pipeline_services):
    coordination_id = Workflow(
        name="replayed", agents={"slow": {"task": "e2e-step"}, "after": {"task": "e2e-step", "depends_on": ["slow"]}}
    ).submit(input={"slow": {"sleep": 3.0}})
    task_id = _running_task_id(coordination_id, "slow")

    for _ in range(5):  # the same task id and arguments, published again while the attempt runs
        app.send_task(
            "agent.e2e-step",
            kwargs={"coordination_id": coordination_id, "agent_id": "slow", "attempt": 1},
            task_id=task_id,
            ignore_result=True,
        )
    status = wait_finished(coordination_id, timeout=60)

    assert status.status == "completed", status
    assert runs_of(coordination_id, "slow") == 1 and runs_of(coordination_id, "after") == 1
    assert status.agent("slow").attempts == 1
    completions = components().signals.get_signal_history(
        coordination_id, filters={"signal_type": "agent_completed", "sender_agent_id": "slow"}
    )
    assert len(completions) == 1


def test_replaying_a_finished_agents_message_changes_nothing(pipeline_services):
    coordination_id = Workflow(name="replayed-late", agents={"only": {"task": "e2e-step"}}).submit()
    assert wait_finished(coordination_id).status == "completed"
    before = coordination_status(coordination_id)

    app.send_task(
        "agent.e2e-step",
        kwargs={"coordination_id": coordination_id, "agent_id": "only", "attempt": 1},
        ignore_result=True,
    )
    time.sleep(2.0)

    after = coordination_status(coordination_id)
    assert runs_of(coordination_id, "only") == 1
    assert after.agent("only") == before.agent("only")
