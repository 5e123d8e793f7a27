"""What Flower shows of a run is true: failed attempts are FAILURE, retried ones RETRY, every agent task names its
coordination, agent and attempt, and an idle system sends beat no polls."""

from __future__ import annotations

import json
import time
from typing import Any

from coordination import Workflow
from tests.e2e.conftest import wait_finished
from tests.e2e.test_flower import _get, flower  # noqa: F401  (a fixture, used by name)


def _tasks_of(url: str, credentials: str, coordination_id: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    mine: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        status, body = _get(f"{url}/api/tasks?limit=500", credentials)
        assert status == 200
        mine = [task for task in json.loads(body).values() if coordination_id in str(task.get("kwargs"))]
        if len(mine) >= count and all(task["state"] in ("SUCCESS", "FAILURE") for task in mine):
            break
        time.sleep(0.3)
    return mine


def _polls(url: str, credentials: str, workers: list[str]) -> int:
    """Polls our worker received (Flower sees every worker on the shared broker: count ours only)."""
    status, body = _get(f"{url}/api/tasks?limit=5000&taskname=coordination.beat.poll_dependencies", credentials)
    assert status == 200
    return sum(str(task.get("worker", "")).split("@")[0] in workers for task in json.loads(body).values())


def test_failures_retries_and_ids_are_shown_as_they_are(flower, pipeline_services):  # noqa: F811
    url, credentials = flower
    time.sleep(1.0)  # let Flower's event receiver connect before the tasks run
    retried = Workflow(
        name="flaky", agents={"flaky": {"task": "e2e-step", "resources": {"max_retry_attempts": 1}}}
    ).submit(input={"flaky": {"fail_attempts": 1}})
    failed = Workflow(
        name="broken", agents={"broken": {"task": "e2e-step", "resources": {"max_retry_attempts": 0}}}
    ).submit(input={"broken": {"fail_attempts": 9}})
    assert wait_finished(retried).status == "completed"
    assert wait_finished(failed).status == "failed"

    (flaky,) = _tasks_of(url, credentials, retried, 1)  # the retry ran under the same task id
    assert flaky["state"] == "SUCCESS" and flaky["retried"] is not None
    assert "'agent_id': 'flaky'" in flaky["kwargs"] and "'attempt': 2" in flaky["kwargs"]
    (broken,) = _tasks_of(url, credentials, failed, 1)
    assert broken["state"] == "FAILURE"
    assert "AgentAttemptFailed" in broken["exception"] and "planned failure on attempt 1" in broken["exception"]
    assert f"'coordination_id': '{failed}'" in broken["kwargs"]

    # A due time-out is polled within about a second of its deadline ...
    timed = Workflow(
        name="timed",
        agents={"gated": {"task": "e2e-step"}},
        dependencies=[{"id": "gate", "agent": "gated", "type": "quality_gate", "target": "never", "timeout": 1}],
    ).submit()
    status = wait_finished(timed, timeout=10)
    assert status.agent("gated").status == "timed_out"
    (wait,) = status.dependencies
    assert wait.wait_ms is not None and wait.wait_ms < 1000 + 1500
    # ... and once nothing is due any more, beat sends no polls while the system is idle.
    time.sleep(2.0)
    workers = pipeline_services.nodes
    before = _polls(url, credentials, workers)
    assert before >= 1
    time.sleep(4.0)
    assert _polls(url, credentials, workers) == before
