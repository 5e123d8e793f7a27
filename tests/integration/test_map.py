"""Fan-out over a result (``map:``): one attempt per item, the combined result in item order, the join after it.

Integration level: real Redis, agent messages captured instead of published (``Dispatcher.publish``) and run with
``execute_attempt`` in this process, in whatever order a test chooses.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from config.settings import reload_settings
from coordination import Workflow, coordination_status
from coordination.models.signals import SignalType
from coordination.pipeline.components import components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.records import Records, Send
from coordination.pipeline.runtime import AgentRun, execute_attempt
from coordination.store.connection import reset_clients

pytestmark = pytest.mark.redis

Sent = list[tuple[str, str, int]]


@pytest.fixture
def sent(redis_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent]:
    """A pipeline namespace of its own; the agent messages the pipeline sends, captured instead of published."""
    monkeypatch.setenv("COORD_PIPELINE_NAMESPACE", f"map-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("COORD_RETRY_BACKOFF_BASE_SECONDS", "0.01")
    reload_settings()
    reset_clients()
    messages: Sent = []

    def capture(self: Dispatcher, task: str, item: Send, task_id: str | None = None) -> None:
        messages.append((item.coordination_id, item.agent_id, item.attempt))

    monkeypatch.setattr(Dispatcher, "publish", capture)
    yield messages
    monkeypatch.undo()
    reload_settings()
    reset_clients()


def records() -> Records:
    return Records(components().keys)


def fan_out(max_items: int = 5, **summarise: Any) -> Workflow:
    """``plan`` lists files; ``summarise`` runs once per file; ``report`` waits for all of them."""
    return Workflow(
        name="fan-out",
        agents={
            "plan": {},
            "summarise": {"depends_on": ["plan"], "map": {"over": "plan.work.files", "max_items": max_items}},
            "report": {"depends_on": ["summarise"]},
            **summarise,
        },
    )


def planner(files: Any) -> Any:
    def plan(run: AgentRun) -> dict[str, Any]:
        return {"work": {"files": files}}

    return plan


def summarise(run: AgentRun) -> dict[str, Any]:
    return {"file": run.item, "index": run.index, "of": run.map_count}


def attempt(cid: str, agent: str, function: Any, number: int = 1) -> str:
    return execute_attempt(function, cid, agent, number, task_id=f"{cid}-{agent}-{number}").status


def queued_since(sent: Sent, mark: int) -> list[str]:
    return [agent for _cid, agent, _attempt in sent[mark:]]


def test_three_items_run_as_attempts_of_their_own_and_the_result_keeps_item_order(sent: Sent) -> None:
    cid = fan_out().submit(check_agents=False)
    assert attempt(cid, "plan", planner(["a.py", "b.py", "c.py"])) == "completed"
    assert sent[-1] == (cid, "summarise", 1)

    mark = len(sent)
    assert attempt(cid, "summarise", summarise) == "mapped"
    assert queued_since(sent, mark) == ["summarise.0", "summarise.1", "summarise.2"]
    seen: list[Any] = []

    def remember(run: AgentRun) -> dict[str, Any]:
        seen.append((run.agent_id, run.item, run.index, run.map_count))
        return summarise(run)

    # Items settle out of order; the dependent waits until the last one.
    assert attempt(cid, "summarise.2", remember) == "completed"
    assert attempt(cid, "summarise.0", remember) == "completed"
    assert records().agent(cid, "report")["status"] == "waiting"
    assert records().agent(cid, "summarise")["status"] == "running"
    assert attempt(cid, "summarise.1", remember) == "completed"

    assert sorted(seen) == [("summarise.0", "a.py", 0, 3), ("summarise.1", "b.py", 1, 3), ("summarise.2", "c.py", 2, 3)]
    assert records().agent(cid, "summarise")["status"] == "completed"
    assert sent[-1] == (cid, "report", 1)

    def report(run: AgentRun) -> dict[str, Any]:
        combined = run.result_of("summarise")
        return {"files": [entry["file"] for entry in combined], "indexes": [entry["index"] for entry in combined]}

    assert attempt(cid, "report", report) == "completed"
    status = coordination_status(cid)
    assert status.status == "completed"
    assert records().agent(cid, "report")["result"].startswith('{"files":["a.py","b.py","c.py"],"indexes":[0,1,2]')
    # The map agent's own signal announces it once, after its last item.
    completed = [
        s for s in components().signals.get_signal_history(cid) if s.signal_type is SignalType.AGENT_COMPLETED
    ]
    assert [s.sender_agent_id for s in completed].count("summarise") == 1
