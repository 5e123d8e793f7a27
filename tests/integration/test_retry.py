"""Re-running a finished coordination from where it broke, or from a named agent (``coord retry``).

Integration level: real Redis, agent messages captured instead of published (``Dispatcher.publish``) and run with
``execute_attempt``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from coordination import (
    CoordinationNotFoundError,
    InvalidInputError,
    Workflow,
    approve,
    coordination_status,
    retry_coordination,
)
from coordination.models.signals import SignalType
from coordination.pipeline.components import components
from coordination.pipeline.records import Records
from coordination.pipeline.runtime import AgentRun, execute_attempt
from coordination.store.connection import sync_client
from tests.integration.captured import Sent, captured_sends
from tests.integration.test_archive import archive  # noqa: F401  (the fixture: a migrated archive)

pytestmark = pytest.mark.redis


@pytest.fixture
def sent(redis_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent]:
    """A pipeline namespace of its own; the agent messages the pipeline sends, captured instead of published."""
    yield from captured_sends(monkeypatch, "retry")


def records() -> Records:
    return Records(components().keys)


def agent(cid: str, agent_id: str) -> dict[str, str]:
    return records().agent(cid, agent_id)


def done(run: AgentRun) -> dict[str, Any]:
    return {"summary": f"{run.agent_id} done in attempt {run.attempt}"}


def broken(run: AgentRun) -> dict[str, Any]:
    raise RuntimeError("the model timed out")


def run_agent(cid: str, agent_id: str, attempt: int, function: Any = done) -> str:
    return execute_attempt(function, cid, agent_id, attempt, task_id=f"{cid}-{agent_id}-{attempt}").status


def chain(retries: int = 0, **extra_b: Any) -> Workflow:
    """``a`` -> ``b`` -> ``c``; ``b`` has ``retries`` retries."""
    return Workflow(
        name="chain",
        agents={
            "a": {},
            "b": {"depends_on": ["a"], "resources": {"max_retry_attempts": retries}, **extra_b},
            "c": {"depends_on": ["b"]},
        },
    )


def failed_at_b(sent: Sent) -> str:
    cid = chain().submit(check_agents=False)
    assert run_agent(cid, "a", 1) == "completed"
    assert run_agent(cid, "b", 1, broken) == "failed"
    assert records().status(cid) == "failed"
    assert agent(cid, "c")["status"] == "skipped"
    return cid


def signals_of(cid: str, kind: SignalType) -> list[dict[str, str]]:
    entries = sync_client().xrange(components().keys.coordination(cid).signals)
    return [fields for _, fields in entries if fields["type"] == kind.value]


def test_a_failed_coordination_runs_again_from_its_failed_agent_with_new_attempts(sent: Sent) -> None:
    cid = failed_at_b(sent)
    result_of_a = agent(cid, "a")["result"]

    retried = retry_coordination(cid)

    assert (retried.run, retried.agents, retried.started) == (2, ["b", "c"], ["b"])
    assert sent[-1] == (cid, "b", 2)  # the attempt counter goes on
    assert records().status(cid) == "running"
    assert cid in sync_client().smembers(components().keys.active)
    assert run_agent(cid, "b", 2) == "completed"
    assert sent[-1] == (cid, "c", 1)  # c never ran: its first attempt
    assert run_agent(cid, "c", 1) == "completed"
    assert records().status(cid) == "completed"
    # The upstream agent did not run again and kept its result; both runs of b are in the history.
    assert (agent(cid, "a")["attempt"], agent(cid, "a")["result"]) == ("1", result_of_a)
    assert [s["id"] for s in signals_of(cid, SignalType.AGENT_INITIALIZED) if s["sender"] == "b"] == [
        f"{cid}.b.a1.initialized",
        f"{cid}.b.a2.initialized.r2",  # from the second run on, signal ids carry the run
    ]
    finished = [s["data"] for s in signals_of(cid, SignalType.COORDINATION_FINISHED)]
    assert len(finished) == 2 and '"failed"' in finished[0] and '"completed"' in finished[1]
    started = signals_of(cid, SignalType.COORDINATION_STARTED)
    assert len(started) == 2 and json.loads(started[1]["data"])["run"] == 2
    view = coordination_status(cid)
    assert view.status == "completed"


def test_a_message_of_the_earlier_run_is_refused_as_stale(sent: Sent) -> None:
    cid = failed_at_b(sent)
    retry_coordination(cid)

    assert run_agent(cid, "b", 1, done) == "stale"  # a redelivered message of attempt 1
    assert agent(cid, "b")["status"] == "queued"
    assert run_agent(cid, "b", 2) == "completed"


def test_a_rerun_agent_gets_its_retry_budget_afresh(sent: Sent) -> None:
    cid = chain(retries=1).submit(check_agents=False)
    run_agent(cid, "a", 1)
    assert run_agent(cid, "b", 1, broken) == "retrying"
    assert run_agent(cid, "b", 2, broken) == "failed"
    retry_coordination(cid)

    assert run_agent(cid, "b", 3, broken) == "retrying"  # one retry again, although this is its third attempt
    assert sent[-1] == (cid, "b", 4)
    assert run_agent(cid, "b", 4) == "completed"


def test_from_an_agent_reruns_it_and_everything_downstream_even_after_success(sent: Sent) -> None:
    cid = chain().submit(check_agents=False)
    for agent_id in ("a", "b", "c"):
        assert run_agent(cid, agent_id, 1) == "completed"
    assert records().status(cid) == "completed"

    retried = retry_coordination(cid, from_agent="b")

    assert (retried.agents, retried.started) == (["b", "c"], ["b"])
    assert agent(cid, "c")["status"] == "waiting" and "result" not in agent(cid, "c")
    assert run_agent(cid, "b", 2) == "completed"
    assert run_agent(cid, "c", 2) == "completed"
    assert records().status(cid) == "completed"
    assert agent(cid, "a")["attempt"] == "1"


def test_a_cancelled_coordination_runs_its_unstarted_agents(sent: Sent) -> None:
    from coordination import cancel_coordination

    cid = chain().submit(check_agents=False)
    run_agent(cid, "a", 1)
    cancel_coordination(cid, "operator went home")
    assert agent(cid, "b")["status"] == "cancelled"

    retried = retry_coordination(cid)

    assert retried.agents == ["b", "c"] and sent[-1] == (cid, "b", 2)
    assert "error" not in records().meta(cid)
    run_agent(cid, "b", 2), run_agent(cid, "c", 1)
    assert records().status(cid) == "completed"


def test_a_rejected_approval_is_asked_again_in_the_rerun(sent: Sent) -> None:
    workflow = Workflow(
        name="approved",
        agents={"a": {}, "b": {"depends_on": ["a"]}},
        dependencies=[{"id": "ok", "agent": "b", "type": "approval", "target": "release", "timeout": 60}],
    )
    cid = workflow.submit(check_agents=False)
    run_agent(cid, "a", 1)
    approve(cid, "release", by="ana", reject=True, note="not yet")
    assert records().status(cid) == "failed"

    retry_coordination(cid)

    assert agent(cid, "b")["status"] == "waiting"  # waits for a new verdict
    dependency = next(d for d in coordination_status(cid).dependencies if d.dependency_id == "ok")
    assert dependency.status == "pending"
    approve(cid, "release", by="ana")
    assert sent[-1] == (cid, "b", 1)
    assert run_agent(cid, "b", 1) == "completed"
    assert records().status(cid) == "completed"


def test_a_running_coordination_is_refused_and_nothing_changes(sent: Sent) -> None:
    cid = chain().submit(check_agents=False)
    before = records().meta(cid)

    with pytest.raises(InvalidInputError) as refused:
        retry_coordination(cid)

    assert refused.value.field == "coordination_id" and "is running" in refused.value.problem
    assert records().meta(cid) == before


def test_a_completed_coordination_without_from_has_nothing_to_retry(sent: Sent) -> None:
    cid = chain().submit(check_agents=False)
    for agent_id in ("a", "b", "c"):
        run_agent(cid, agent_id, 1)

    with pytest.raises(InvalidInputError) as refused:
        retry_coordination(cid)

    assert "nothing to retry" in refused.value.problem
    assert records().status(cid) == "completed"


def test_unknown_coordination_and_unknown_agent(sent: Sent) -> None:
    with pytest.raises(CoordinationNotFoundError):
        retry_coordination("never-submitted-here")
    cid = failed_at_b(sent)
    with pytest.raises(InvalidInputError) as refused:
        retry_coordination(cid, from_agent="nobody")
    assert refused.value.field == "from_agent" and "nobody" in refused.value.problem
    assert records().status(cid) == "failed"


# -- the archive -------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("archive")
def test_the_archive_records_the_rerun_and_its_new_end(monkeypatch: pytest.MonkeyPatch) -> None:
    from coordination.archive.reader import archived_signals, archived_status
    from coordination.archive.writer import archive_once
    from tests.integration.test_archive import start_pipeline, work

    cid, messages = start_pipeline(monkeypatch)

    def fails_in_test_gen(run: AgentRun) -> dict[str, Any]:
        if run.agent_id == "test-gen":
            raise RuntimeError("no tests today")
        return {"summary": "ok"}

    work(messages, fails_in_test_gen)  # test-gen: its first attempt and three retries fail
    assert archive_once().ok
    before = archived_status(cid)
    assert before is not None and before.status == "failed" and before.agent("test-gen").attempts == 4

    retry_coordination(cid)
    assert archive_once().ok
    during = archived_status(cid)
    assert during is not None and during.status == "running"  # archived again although it had finished
    work(messages, done)
    assert archive_once().ok

    after = archived_status(cid)
    assert after is not None and after.status == "completed" and after.finished_at is not None
    assert [(a.agent_id, a.status, a.attempts) for a in after.agents] == [
        ("model-gen", "completed", 1),
        ("test-gen", "completed", 5),
    ]
    ends = [s.event_data["status"] for s in archived_signals(cid) if s.signal_type is SignalType.COORDINATION_FINISHED]
    assert sorted(ends) == ["completed", "failed"]
    attempts = {
        s.event_data.get("attempt") for s in archived_signals(cid) if s.signal_type is SignalType.AGENT_INITIALIZED
    }
    assert {1, 2, 3, 4, 5} <= attempts  # both runs of test-gen, attempt by attempt


def test_the_example_of_docs_workflows_runs(sent: Sent) -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "workflows.md").read_text(encoding="utf-8")
    (block,) = [found for found in re.findall(r"```python\n(.*?)```", text, re.S) if "retry_coordination" in found]
    scope: dict[str, Any] = {"__name__": "docs_workflows_retry"}
    exec(compile(block, "docs/workflows.md", "exec"), scope)
    assert records().status(scope["cid"]) == "cancelled"
    assert sent[-1] == (scope["cid"], "draft", 2)  # the re-run's attempt of draft was sent


def test_a_cancelled_coordination_whose_attempt_still_runs_is_refused_until_it_ends(sent: Sent) -> None:
    from coordination import cancel_coordination

    cid = chain().submit(check_agents=False)
    refusals: list[InvalidInputError] = []

    def cancelled_meanwhile(run: AgentRun) -> dict[str, Any]:
        cancel_coordination(cid, "stop")
        before = records().meta(cid)
        with pytest.raises(InvalidInputError) as refused:
            retry_coordination(cid)
        refusals.append(refused.value)
        assert records().meta(cid) == before
        return {}

    run_agent(cid, "a", 1, cancelled_meanwhile)

    assert "'a'" in refusals[0].problem and "still running" in refusals[0].problem
    assert retry_coordination(cid).agents == ["b", "c"]  # once it ended: a completed, the rest runs


# -- with a map agent ----------------------------------------------------------------------------------------------


def test_a_map_agent_that_failed_runs_again_from_its_upstream(sent: Sent) -> None:
    from tests.integration.test_map import fan_out, planner
    from tests.integration.test_map import summarise as per_item

    cid = fan_out(max_items=2).submit(check_agents=False)
    run_agent(cid, "plan", 1, planner(["a", "b", "c"]))
    assert run_agent(cid, "summarise", 1, per_item) == "failed"  # 3 items, max_items is 2
    assert records().status(cid) == "failed"

    assert retry_coordination(cid, from_agent="plan").agents == ["plan", "summarise", "report"]
    assert run_agent(cid, "plan", 2, planner(["a", "b"])) == "completed"
    assert sent[-1] == (cid, "summarise", 2)
    assert run_agent(cid, "summarise", 2, per_item) == "mapped"
    assert sent[-2:] == [(cid, "summarise.0", 1), (cid, "summarise.1", 1)]
    for item in ("summarise.0", "summarise.1"):
        assert run_agent(cid, item, 1, per_item) == "completed"
    assert run_agent(cid, "report", 1) == "completed"
    assert records().status(cid) == "completed"


def test_a_map_agent_whose_item_failed_expands_again_in_the_rerun(sent: Sent) -> None:
    from tests.integration.test_map import fan_out, planner
    from tests.integration.test_map import summarise as per_item

    no_retries = {
        "depends_on": ["plan"],
        "map": {"over": "plan.work.files", "max_items": 5},
        "resources": {"max_retry_attempts": 0},
    }
    cid = fan_out(summarise=no_retries).submit(check_agents=False)
    run_agent(cid, "plan", 1, planner(["a", "b"]))
    assert run_agent(cid, "summarise", 1, per_item) == "mapped"
    assert run_agent(cid, "summarise.0", 1, per_item) == "completed"
    assert run_agent(cid, "summarise.1", 1, broken) == "failed"
    assert records().status(cid) == "failed"

    assert retry_coordination(cid).agents == ["summarise", "report"]
    assert run_agent(cid, "summarise", 2, per_item) == "mapped"  # its items are queued again
    for _cid, item, number in sent[-2:]:
        assert run_agent(cid, item, number, per_item) == "completed"
    assert run_agent(cid, "report", 1) == "completed"
    assert records().status(cid) == "completed"
