"""Fan-out over a result (``map:``): one attempt per item, the combined result in item order, the join after it.

Integration level: real Redis, agent messages captured instead of published (``Dispatcher.publish``) and run with
``execute_attempt`` in this process, in whatever order a test chooses.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console
from starlette.testclient import TestClient

from coordination import Workflow, cancel_coordination, coordination_status
from coordination.cli.render import agents_table
from coordination.models.signals import SignalType
from coordination.pipeline.components import components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.records import Records
from coordination.pipeline.runtime import AgentRun, execute_attempt
from coordination.planning import Plan
from coordination.web.app import create_app
from tests.integration.captured import Sent, captured_sends

pytestmark = pytest.mark.redis


@pytest.fixture
def sent(redis_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent]:
    """A pipeline namespace of its own; the agent messages the pipeline sends, captured instead of published."""
    yield from captured_sends(monkeypatch, "map", retry_backoff_base_seconds="0.01")


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
    completed = [s for s in components().signals.get_signal_history(cid) if s.signal_type is SignalType.AGENT_COMPLETED]
    assert [s.sender_agent_id for s in completed].count("summarise") == 1


def test_more_items_than_max_items_fail_the_map_agent_before_any_item_runs(sent: Sent) -> None:
    cid = fan_out(max_items=2).submit(check_agents=False)
    attempt(cid, "plan", planner(["a", "b", "c"]))
    mark = len(sent)

    assert attempt(cid, "summarise", summarise) == "failed"

    record = records().agent(cid, "summarise")
    assert record["status"] == "failed"
    assert "3 items, max_items is 2" in record["error"]
    assert queued_since(sent, mark) == []  # no item was queued
    assert records().agent(cid, "summarise.0") == {}
    status = coordination_status(cid)
    assert status.status == "failed" and "3 items, max_items is 2" in (status.error or "")
    assert records().agent(cid, "report")["status"] == "skipped"


@pytest.mark.parametrize(
    ("result", "problem"),
    [({"work": {}}, "no 'work.files'"), ({"work": {"files": "a.py"}}, "expected a list, got a string")],
)
def test_a_missing_path_or_a_value_that_is_not_a_list_fails_the_map_agent(
    sent: Sent, result: Any, problem: str
) -> None:
    cid = fan_out().submit(check_agents=False)
    attempt(cid, "plan", lambda run: result)

    assert attempt(cid, "summarise", summarise) == "failed"
    assert problem in records().agent(cid, "summarise")["error"]
    assert coordination_status(cid).status == "failed"


def test_an_empty_list_completes_the_map_agent_at_once_with_an_empty_result(sent: Sent) -> None:
    cid = fan_out().submit(check_agents=False)
    attempt(cid, "plan", planner([]))
    mark = len(sent)

    assert attempt(cid, "summarise", summarise) == "mapped"

    record = records().agent(cid, "summarise")
    assert (record["status"], record["result"]) == ("completed", "[]")
    assert queued_since(sent, mark) == ["report"]
    assert attempt(cid, "report", lambda run: {"n": len(run.result_of("summarise"))}) == "completed"
    assert coordination_status(cid).status == "completed"


def test_a_failed_item_is_retried_then_fails_the_map_agent_and_its_unstarted_items_are_cancelled(sent: Sent) -> None:
    workflow = fan_out(summarise={})
    workflow = Workflow(
        name="fan-out",
        agents={
            "plan": {},
            "summarise": {
                "depends_on": ["plan"],
                "map": {"over": "plan.work.files", "max_items": 5},
                "resources": {"max_retry_attempts": 1},
            },
            "report": {"depends_on": ["summarise"]},
        },
    )
    cid = workflow.submit(check_agents=False)
    attempt(cid, "plan", planner(["ok", "bad", "later"]))
    attempt(cid, "summarise", summarise)

    def broken(run: AgentRun) -> dict[str, Any]:
        raise RuntimeError(f"cannot read {run.item}")

    assert attempt(cid, "summarise.0", summarise) == "completed"
    mark = len(sent)
    assert attempt(cid, "summarise.1", broken) == "retrying"
    assert queued_since(sent, mark) == ["summarise.1"]  # its own retry, with its own attempt counter
    assert records().agent(cid, "summarise.1")["attempt"] == "2"
    assert records().agent(cid, "summarise")["status"] == "running"
    assert attempt(cid, "summarise.1", broken, 2) == "failed"

    parent = records().agent(cid, "summarise")
    assert parent["status"] == "failed"
    assert "item summarise.1 failed" in parent["error"] and "cannot read bad" in parent["error"]
    assert records().agent(cid, "summarise.2")["status"] == "cancelled"
    assert attempt(cid, "summarise.2", summarise) == "duplicate"  # its message, delivered late, runs nothing
    assert records().agent(cid, "summarise.2")["status"] == "cancelled"
    status = coordination_status(cid)
    assert status.status == "failed"
    assert {a.agent_id: a.status for a in status.agents}["report"] == "skipped"
    failed = [s for s in components().signals.get_signal_history(cid) if s.signal_type is SignalType.AGENT_FAILED]
    assert "summarise" in [s.sender_agent_id for s in failed]


def test_a_failed_item_routed_to_skip_leaves_a_null_in_the_result_and_the_map_agent_completes(sent: Sent) -> None:
    workflow = Workflow(
        name="fan-out",
        agents={
            "plan": {},
            "summarise": {"depends_on": ["plan"], "map": {"over": "plan.work.files", "max_items": 5}},
        },
        routing={
            "rules": [
                {
                    "rule_id": "skip-failed",
                    "name": "skip a failed item",
                    "condition_key": "event",
                    "condition_operator": "==",
                    "condition_value": "failed",
                    "decision": "skip",
                    "agents": ["summarise"],
                }
            ]
        },
    )
    cid = workflow.submit(check_agents=False)
    attempt(cid, "plan", planner(["a", "b"]))
    attempt(cid, "summarise", summarise)

    def broken(run: AgentRun) -> dict[str, Any]:
        raise RuntimeError("no")

    assert attempt(cid, "summarise.0", broken) == "skipped"
    assert attempt(cid, "summarise.1", lambda run: {"file": run.item}) == "completed"
    record = records().agent(cid, "summarise")
    assert record["status"] == "completed"
    assert record["result"].startswith('[null,{"file":"b"')


def test_a_duplicate_delivery_of_the_map_agent_queues_nothing_twice(sent: Sent) -> None:
    cid = fan_out().submit(check_agents=False)
    attempt(cid, "plan", planner(["a", "b"]))
    assert attempt(cid, "summarise", summarise) == "mapped"
    mark = len(sent)

    assert attempt(cid, "summarise", summarise) == "duplicate"
    assert queued_since(sent, mark) == []
    assert attempt(cid, "summarise.0", summarise) == "completed"
    assert attempt(cid, "summarise.0", summarise) == "duplicate"  # an item's redelivery is a duplicate too
    assert records().agent(cid, "summarise")["map_settled"] == "1"


def test_status_shows_the_map_agent_as_one_row_with_its_items_counted(sent: Sent) -> None:
    cid = fan_out().submit(check_agents=False)
    attempt(cid, "plan", planner(["a", "b", "c", "d"]))
    attempt(cid, "summarise", summarise)
    attempt(cid, "summarise.0", summarise)
    attempt(cid, "summarise.1", summarise)
    admitted = records().admit(
        cid,
        "summarise.2",
        1,
        task_id="t",
        run="r",
        lease_ms=60_000,
        max_takeovers=3,
        with_workflow=False,
        history=100,
        initialized=Dispatcher(components()).signal_values(
            cid, SignalType.AGENT_INITIALIZED, "summarise.2", {}, f"{cid}.summarise.2.a1.initialized"
        ),
    )
    assert admitted.verdict == "run"

    status = coordination_status(cid)
    assert [a.agent_id for a in status.agents] == ["plan", "summarise", "report"]
    summary = next(a for a in status.agents if a.agent_id == "summarise")
    assert summary.items is not None
    assert summary.items.summary() == "×4 (2 done, 1 running, 1 queued)"


def test_cancelling_while_items_run_closes_the_map_agent_and_its_unstarted_items(sent: Sent) -> None:
    cid = fan_out().submit(check_agents=False)
    attempt(cid, "plan", planner(["a", "b", "c"]))
    attempt(cid, "summarise", summarise)
    attempt(cid, "summarise.0", summarise)

    def cancelled_meanwhile(run: AgentRun) -> dict[str, Any]:
        cancellation = cancel_coordination(cid, "enough")
        assert cancellation.running == ["summarise.1"]  # this attempt: it finishes, nothing follows from it
        return summarise(run)

    assert attempt(cid, "summarise.1", cancelled_meanwhile) == "completed"

    status = coordination_status(cid)
    assert status.status == "cancelled"
    assert {a.agent_id: a.status for a in status.agents} == {
        "plan": "completed",
        "summarise": "cancelled",
        "report": "cancelled",
    }
    summary = status.agent("summarise")
    assert summary.items is not None and summary.items.statuses == {"completed": 2, "cancelled": 1}
    assert attempt(cid, "summarise.2", summarise) == "duplicate"  # its late message runs nothing


def test_the_last_two_items_settled_at_once_complete_the_map_agent_exactly_once(sent: Sent) -> None:
    for _round in range(10):
        cid = fan_out().submit(check_agents=False)
        attempt(cid, "plan", planner(["a", "b"]))
        attempt(cid, "summarise", summarise)
        together = threading.Barrier(2)

        def at_once(run: AgentRun, together: threading.Barrier = together) -> dict[str, Any]:
            together.wait(timeout=10)  # both attempts return (and settle) at the same moment
            return summarise(run)

        threads = [
            threading.Thread(target=attempt, args=(cid, item, at_once)) for item in ("summarise.0", "summarise.1")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert records().agent(cid, "summarise")["status"] == "completed"
        assert [agent for c, agent, _ in sent if c == cid].count("report") == 1
        completed = [
            s for s in components().signals.get_signal_history(cid) if s.signal_type is SignalType.AGENT_COMPLETED
        ]
        assert [s.sender_agent_id for s in completed].count("summarise") == 1


def test_the_fan_out_example_of_docs_workflows_runs(sent: Sent) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "workflows.md").read_text(encoding="utf-8")
    section = text[text.index("## Fan-out over a result (map)") :]
    declared = yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))  # type: ignore[union-attr]
    (block,) = re.findall(r"```python\n(.*?)```", section[: section.index("\n## ", 10)], re.S)
    # The module name test_docs runs the docs' examples under: the same definition run again replaces its agents.
    scope: dict[str, Any] = {"__name__": "__docs__"}
    exec(compile(block, "docs/workflows.md", "exec"), scope)
    functions = {
        "plan": planner(["a.py", "b.py"]),
        "summarise": scope["summarise"].agent_function,
        "report": scope["report"].agent_function,
    }

    cid = Workflow(name="docs-map", **declared).submit(check_agents=False)
    while sent:
        _cid, agent_id, number = sent.pop(0)
        execute_attempt(functions[agent_id.split(".")[0]], cid, agent_id, number, task_id=f"t-{agent_id}-{number}")

    status = coordination_status(cid)
    assert status.status == "completed", status.error
    assert records().agent(cid, "report")["result"].startswith('{"files":["a.py","b.py"]')


def test_coord_status_and_the_web_view_show_the_map_agent_as_one_row_with_a_count(sent: Sent) -> None:
    cid = fan_out().submit(check_agents=False)
    attempt(cid, "plan", planner(["a", "b", "c"]))
    attempt(cid, "summarise", summarise)
    attempt(cid, "summarise.0", summarise)

    console = Console(width=200, record=True)
    console.print(agents_table(coordination_status(cid)))
    lines = console.export_text().splitlines()
    rows = [line for line in lines if "summarise" in line]
    assert len(rows) == 1 and "summarise ×3 (1 done, 2 queued)" in rows[0], lines

    credentials = ("operator", "map-test")
    web = TestClient(create_app([credentials], queues=["map-q"]))
    auth = {"Authorization": "Basic " + base64.b64encode(":".join(credentials).encode()).decode()}
    page = web.get(f"/c/{cid}/live", headers=auth).text
    assert page.count('data-agent="summarise') == 1
    assert "×3 (1 done, 2 queued)" in page


def test_a_map_agent_admitted_just_before_its_coordination_was_cancelled_queues_no_item(sent: Sent) -> None:
    workflow = fan_out()
    cid = workflow.submit(check_agents=False)
    attempt(cid, "plan", planner(["a", "b"]))
    dispatcher = Dispatcher(components())
    admitted = records().admit(
        cid,
        "summarise",
        1,
        task_id="t",
        run="run-1",
        lease_ms=60_000,
        max_takeovers=3,
        with_workflow=False,
        history=100,
        initialized=dispatcher.signal_values(
            cid, SignalType.AGENT_INITIALIZED, "summarise", {}, f"{cid}.summarise.a1.initialized"
        ),
    )
    assert admitted.verdict == "run"
    cancel_coordination(cid, "stop")
    mark = len(sent)

    settled = dispatcher.expand(workflow.spec, cid, "summarise", 1, "run-1", ["a", "b"])

    assert settled.sends == [] and queued_since(sent, mark) == []
    assert records().agent(cid, "summarise")["status"] == "cancelled"
    assert records().agent(cid, "summarise.0") == {}
    # Expanding again (a resend of the same call) changes nothing.
    assert dispatcher.expand(workflow.spec, cid, "summarise", 1, "run-1", ["a", "b"]).first is False


def test_an_upstream_agent_that_was_skipped_fails_the_map_agent_saying_so(sent: Sent) -> None:
    cid = fan_out().submit(check_agents=False)
    dispatcher = Dispatcher(components())
    settled = dispatcher.apply(
        fan_out().spec,
        cid,
        "plan",
        1,
        Plan("skipped", "not needed"),
        result=None,
        quality=None,
        error="",
        decision="skip",
        mode="mark",
    )
    assert settled.first and sent[-1] == (cid, "summarise", 1)

    assert attempt(cid, "summarise", summarise) == "failed"
    assert "plan was skipped, so it has no result to map over" in records().agent(cid, "summarise")["error"]
