"""Gates, resources and approvals belong to one coordination: a value set for one run never opens another.

Integration level: real Redis, agent messages captured instead of published (``Dispatcher.publish``) and run with
``execute_attempt``; beat's poll is called "later" (``poll(now=...)``) instead of waiting for time-outs.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from coordination import (
    InvalidInputError,
    Workflow,
    approve,
    coordination_status,
    mark_resource,
    set_gate,
)
from coordination.models.signals import SignalType
from coordination.pipeline import approvals as approvals_module
from coordination.pipeline import polling
from coordination.pipeline.components import components
from coordination.pipeline.polling import poll
from coordination.pipeline.records import Records, now_ms
from coordination.pipeline.runtime import AgentRun, execute_attempt
from coordination.store.connection import sync_client
from coordination.web.app import create_app
from tests.integration.captured import Sent, captured_sends

pytestmark = pytest.mark.redis


@pytest.fixture
def sent(redis_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent]:
    """A pipeline namespace of its own; the agent messages the pipeline sends, captured instead of published."""
    yield from captured_sends(monkeypatch, "gates")


def records() -> Records:
    return Records(components().keys)


def agent_status(cid: str, agent: str) -> str:
    return records().agent(cid, agent)["status"]


def gated(**dependency: Any) -> Workflow:
    """``a`` runs at once; ``b`` waits for ``a`` and for the dependency given."""
    return Workflow(
        name="gated",
        agents={"a": {}, "b": {"depends_on": ["a"]}, "fix": {"start": "on_branch"}, "after": {"depends_on": ["b"]}},
        dependencies=[{"id": "wait", "agent": "b", **dependency}],
    )


def done(run: AgentRun) -> dict[str, Any]:
    return {"summary": f"{run.agent_id} done"}


def run_agent(cid: str, agent: str, function: Any = done) -> str:
    return execute_attempt(function, cid, agent, 1, task_id=f"{cid}-{agent}").status


# -- scoping ---------------------------------------------------------------------------------------------------


def test_a_gate_scored_for_one_run_does_not_open_another_run_of_the_same_workflow(sent: Sent) -> None:
    workflow = gated(type="quality_gate", target="editor-approval", threshold=0.9)
    first, second = workflow.submit(check_agents=False), workflow.submit(check_agents=False)
    assert run_agent(first, "a") == run_agent(second, "a") == "completed"

    change = set_gate("editor-approval", 0.95, coordination_id=first)

    assert change.started == ["b"] and sent[-1] == (first, "b", 1)
    assert agent_status(first, "b") == "queued"
    assert agent_status(second, "b") == "waiting"  # the other run still waits for its own gate
    assert (second, "b", 1) not in sent
    assert coordination_status(second).dependencies[-1].status == "pending"


def test_an_agent_reporting_quality_opens_only_its_own_coordinations_gate(sent: Sent) -> None:
    workflow = gated(type="quality_gate", target="model-quality", threshold=0.8)
    first, second = workflow.submit(check_agents=False), workflow.submit(check_agents=False)

    def scores(run: AgentRun) -> dict[str, Any]:
        run.report_quality("model-quality", 0.9)  # before it completes: b also waits for a itself
        return {"quality_score": 0.9}

    assert run_agent(first, "a", scores) == "completed"
    assert agent_status(first, "b") == "queued"
    assert run_agent(second, "a") == "completed"  # completes without scoring the gate
    assert agent_status(second, "b") == "waiting"
    wait = next(d for d in coordination_status(second).dependencies if d.dependency_id == "wait")
    assert (wait.status, wait.scope) == ("pending", "run")


def test_a_resource_marked_for_one_run_is_that_runs_only(sent: Sent) -> None:
    workflow = gated(type="resource_availability", target="artifact-store")
    first, second = workflow.submit(check_agents=False), workflow.submit(check_agents=False)
    run_agent(first, "a"), run_agent(second, "a")

    mark_resource("artifact-store", coordination_id=second)

    assert agent_status(second, "b") == "queued" and agent_status(first, "b") == "waiting"
    # Marked unavailable again it settles nothing (b already went on); marked for the first it releases that one.
    assert mark_resource("artifact-store", False, coordination_id=second).settled == []
    assert mark_resource("artifact-store", coordination_id=first).started == ["b"]


def test_a_run_scoped_value_set_before_the_agent_completed_is_kept_for_it(sent: Sent) -> None:
    cid = gated(type="resource_availability", target="slot").submit(check_agents=False)
    mark_resource("slot", coordination_id=cid)  # b still waits for a
    assert agent_status(cid, "b") == "waiting"
    run_agent(cid, "a")
    assert agent_status(cid, "b") == "queued"


def test_a_global_resource_is_shared_by_every_run_and_marked_explicitly(sent: Sent) -> None:
    resource = f"deploy-slot-{uuid.uuid4().hex[:6]}"
    workflow = gated(type="resource_availability", target=resource, scope="global")
    first, second = workflow.submit(check_agents=False), workflow.submit(check_agents=False)
    run_agent(first, "a"), run_agent(second, "a")

    change = mark_resource(resource, global_scope=True)

    assert sorted(item.coordination_id for item in change.settled) == sorted([first, second])
    assert agent_status(first, "b") == agent_status(second, "b") == "queued"
    # Today's behaviour: the value is the namespace's, and a later run finds it set at submission.
    third = workflow.submit(check_agents=False)
    assert next(d for d in coordination_status(third).dependencies if d.dependency_id == "wait").status == "resolved"
    state_key = f"resource_{resource}_available"
    assert components().state.get(state_key) is True


def test_a_resource_declared_global_cannot_be_marked_for_one_run(sent: Sent) -> None:
    resource = f"db-{uuid.uuid4().hex[:6]}"
    cid = gated(type="resource_availability", target=resource, scope="global").submit(check_agents=False)

    with pytest.raises(InvalidInputError) as refused:
        mark_resource(resource, coordination_id=cid)

    assert refused.value.field == "resource_id" and "scope: global" in refused.value.problem
    assert not sync_client().exists(components().keys.coordination(cid).conditions)


def test_a_value_without_a_coordination_or_global_scope_is_refused(sent: Sent) -> None:
    with pytest.raises(InvalidInputError) as refused:
        set_gate("editor-approval", 0.95)
    assert refused.value.field == "coordination_id"
    with pytest.raises(InvalidInputError) as both:
        mark_resource("r", coordination_id="x", global_scope=True)
    assert both.value.field == "global_scope"


def test_the_seed_component_api_stays_namespace_wide(sent: Sent) -> None:
    gate = f"seed-gate-{uuid.uuid4().hex[:6]}"
    run_scoped = gated(type="quality_gate", target=gate, threshold=0.5).submit(check_agents=False)
    run_agent(run_scoped, "a")
    resolver = components().resolver

    resolver.update_quality_gate_score_sync(gate, 0.9)

    assert components().state.get(f"quality_gate_{gate}_score") == 0.9  # the seed's state key, as documented
    assert agent_status(run_scoped, "b") == "waiting"  # a run's own gate is not the namespace's


# -- approvals -------------------------------------------------------------------------------------------------


def approval(**extra: Any) -> Workflow:
    return gated(type="approval", target="release-approval", approvers="editors", timeout=60, **extra)


def test_an_approval_starts_the_waiting_agent_and_is_shown_with_who_when_and_the_note(sent: Sent) -> None:
    cid = approval().submit(check_agents=False)
    run_agent(cid, "a")
    assert agent_status(cid, "b") == "waiting"
    pending = coordination_status(cid).approvals
    assert [(view.gate, view.status, view.agents, view.approvers) for view in pending] == [
        ("release-approval", "pending", ["b"], "editors")
    ]

    verdict = approve(cid, "release-approval", by="alice", note="looks good")

    assert verdict.approved and verdict.started == ["b"] and sent[-1] == (cid, "b", 1)
    (view,) = coordination_status(cid).approvals
    assert (view.status, view.decided_by, view.note) == ("approved", "alice", "looks good")
    assert view.decided_at is not None and abs(view.decided_at.timestamp() * 1000 - now_ms()) < 60_000
    (signal,) = components().signals.get_signal_history(cid, filters={"signal_type": "approval_verdict"})
    assert signal.event_data == {"gate": "release-approval", "verdict": "approved", "by": "alice", "note": "looks good"}
    assert run_agent(cid, "b") == "completed"


def test_an_approval_given_before_the_other_dependencies_are_met_waits_for_them(sent: Sent) -> None:
    cid = approval().submit(check_agents=False)
    assert approve(cid, "release-approval", by="alice").started == []
    assert agent_status(cid, "b") == "waiting"
    run_agent(cid, "a")
    assert agent_status(cid, "b") == "queued"


def test_a_rejection_fails_the_waiting_agent_and_the_coordination_by_default(sent: Sent) -> None:
    cid = approval().submit(check_agents=False)
    run_agent(cid, "a")

    verdict = approve(cid, "release-approval", by="bob", reject=True, note="not this week")

    assert not verdict.approved and verdict.started == []
    record = records().agent(cid, "b")
    assert record["status"] == "failed"
    assert "rejected by bob: not this week" in record["error"]
    assert records().status(cid) == "failed"
    assert (cid, "b", 1) not in sent
    (view,) = coordination_status(cid).approvals
    assert (view.status, view.decided_by) == ("rejected", "bob")
    keys = components().keys
    assert not [m for m, _ in sync_client().zscan_iter(keys.due, match=f"{cid}/*")]  # routed: nothing left due


@pytest.mark.parametrize(
    ("on_reject", "b_status", "started", "final"),
    [
        ("skip", "skipped", ["after"], "running"),  # skipped counts as done: its dependents go on
        ("continue", "queued", ["b"], "running"),  # b runs anyway
        ("branch:fix", "skipped", ["fix", "after"], "running"),
        ("fail", "failed", [], "failed"),
    ],
)
def test_a_rejection_does_what_on_reject_declares(
    sent: Sent, on_reject: str, b_status: str, started: list[str], final: str
) -> None:
    cid = approval(on_reject=on_reject).submit(check_agents=False)
    run_agent(cid, "a")

    verdict = approve(cid, "release-approval", by="bob", reject=True)

    assert agent_status(cid, "b") == b_status
    assert sorted(verdict.started) == sorted(started)
    assert records().status(cid) == final


def test_a_routing_rule_can_skip_the_agent_after_a_rejection(sent: Sent) -> None:
    workflow = Workflow(
        name="gated",
        agents={"a": {}, "b": {"depends_on": ["a"]}},
        dependencies=[{"id": "wait", "agent": "b", "type": "approval", "target": "release-approval"}],
        routing={
            "rules": [
                {
                    "rule_id": "skip-rejected",
                    "name": "Rejected releases are skipped",
                    "agents": ["b"],
                    "condition_key": "approval",
                    "condition_operator": "==",
                    "condition_value": "rejected",
                    "decision": "skip",
                }
            ]
        },
    )
    cid = workflow.submit(check_agents=False)
    run_agent(cid, "a")

    approve(cid, "release-approval", by="bob", reject=True)

    assert agent_status(cid, "b") == "skipped"
    assert records().status(cid) == "completed"  # nothing was left to run


@pytest.mark.parametrize(
    ("on_timeout", "b_status", "sent_after", "final"),
    [
        (None, "timed_out", [], "failed"),
        ("fail", "timed_out", [], "failed"),
        ("skip", "skipped", [], "running"),  # `after` is queued (sent) once b is skipped
        ("continue", "queued", ["b"], "running"),
        ("branch:fix", "skipped", ["fix"], "running"),
    ],
)
def test_an_approval_nobody_gives_in_time_does_what_on_timeout_declares(
    sent: Sent, on_timeout: str | None, b_status: str, sent_after: list[str], final: str
) -> None:
    extra = {} if on_timeout is None else {"on_timeout": on_timeout}
    cid = gated(type="approval", target="release-approval", timeout=1, **extra).submit(check_agents=False)
    run_agent(cid, "a")
    before = len(sent)

    report = poll(now=now_ms() + 2000)

    assert report.timed_out == 1
    assert agent_status(cid, "b") == b_status
    assert records().status(cid) == final
    agents_sent = [agent for (c, agent, _attempt) in sent[before:] if c == cid]
    assert [agent for agent in agents_sent if agent != "after"] == sent_after
    (view,) = coordination_status(cid).approvals
    assert view.status == "timed_out"
    with pytest.raises(InvalidInputError) as late:
        approve(cid, "release-approval", by="alice")
    assert late.value.field in ("gate", "coordination_id")


def test_a_time_out_without_routing_rules_is_recorded_as_the_cause_not_the_default_decisions_words(sent: Sent) -> None:
    cid = gated(type="approval", target="release-approval", timeout=1).submit(check_agents=False)
    run_agent(cid, "a")

    poll(now=now_ms() + 2000)

    assert records().agent(cid, "b")["error"] == "dependency 'wait' timed out"
    assert "No routers" not in (coordination_status(cid).agent("b").error or "")


def test_a_branch_target_whose_own_dependency_timed_out_while_dormant_is_routed_once_woken(sent: Sent) -> None:
    """``fix`` waits for a gate that times out before the rejection wakes it: the time-out is routed then."""
    workflow = Workflow(
        name="gated",
        agents={"a": {}, "b": {"depends_on": ["a"]}, "fix": {"start": "on_branch"}},
        dependencies=[
            {"id": "wait", "agent": "b", "type": "approval", "target": "release-approval", "on_reject": "branch:fix"},
            {
                "id": "fix-gate",
                "agent": "fix",
                "type": "quality_gate",
                "target": "fix-ok",
                "timeout": 1,
                "on_timeout": "skip",
            },
        ],
    )
    cid = workflow.submit(check_agents=False)
    run_agent(cid, "a")
    assert poll(now=now_ms() + 2000).timed_out == 1  # fix's gate times out while fix is dormant
    assert agent_status(cid, "fix") == "dormant"

    approve(cid, "release-approval", by="bob", reject=True)  # wakes fix, whose gate already timed out
    assert agent_status(cid, "fix") == "waiting"
    poll(now=now_ms() + 100)

    assert agent_status(cid, "fix") == "skipped"  # its on_timeout, instead of waiting for ever
    assert records().status(cid) == "completed"


def test_a_rejection_whose_router_stopped_is_routed_by_beat_after_the_grace(
    sent: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = approval().submit(check_agents=False)
    run_agent(cid, "a")

    # The process that recorded the verdict stops before routing it.
    monkeypatch.setattr(approvals_module, "check_dependency", lambda *args, **kwargs: [])
    approve(cid, "release-approval", by="bob", reject=True)
    assert agent_status(cid, "b") == "waiting"
    monkeypatch.undo()

    report = poll(now=now_ms() + 1000)

    assert report.timed_out == 1
    assert agent_status(cid, "b") == "failed" and records().status(cid) == "failed"


def test_a_time_out_whose_router_stopped_is_routed_by_the_next_poll_after_the_grace(
    sent: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = approval(on_timeout="skip").submit(check_agents=False)
    run_agent(cid, "a")
    deadline = int(sync_client().hget(records().coordination(cid).dependency("wait"), "deadline_ms")) + 1

    with monkeypatch.context() as dying:  # beat dies between settling the time-out and routing it
        dying.setattr(polling, "handle_dependency_timeout", lambda *args, **kwargs: [])
        assert poll(now=deadline).timed_out == 1
    assert sync_client().hget(records().coordination(cid).dependency("wait"), "status") == "timeout"
    assert agent_status(cid, "b") == "waiting"

    assert poll(now=deadline + 1000).timed_out == 0  # within the grace: its router may still be at work
    report = poll(now=deadline + 16_000)

    assert report.timed_out == 1
    assert agent_status(cid, "b") == "skipped"
    later = poll(now=deadline + 40_000)
    assert later.timed_out == 0 and later.checked == 0  # routed once, and nothing of it is left due


def test_the_verdict_signal_and_routing_are_visible_in_the_signal_history(sent: Sent) -> None:
    cid = approval().submit(check_agents=False)
    run_agent(cid, "a")
    approve(cid, "release-approval", by="bob", reject=True, note="no")
    kinds = [s.signal_type for s in reversed(components().signals.get_signal_history(cid))]
    assert SignalType.APPROVAL_VERDICT in kinds
    assert kinds.index(SignalType.APPROVAL_VERDICT) < kinds.index(SignalType.DEPENDENCY_TIMEOUT)
    assert kinds[-1] == SignalType.COORDINATION_FINISHED


# -- the web view ----------------------------------------------------------------------------------------------


def test_the_coordination_page_shows_its_approvals_pending_then_decided_with_the_note_escaped(sent: Sent) -> None:
    credentials = ("operator", "approvals-test")
    web = TestClient(create_app([credentials], queues=["gates-q"]))
    auth = {"Authorization": "Basic " + base64.b64encode(":".join(credentials).encode()).decode()}
    cid = approval().submit(check_agents=False)
    run_agent(cid, "a")

    pending = web.get(f"/c/{cid}", headers=auth).text
    assert 'data-approval="release-approval"' in pending
    assert re.search(
        r'data-approval="release-approval"><td>release-approval</td>\s*<td><span class="badge" '
        r'data-status="pending"',
        pending,
    ), pending
    assert f"coord approve {cid} GATE --by NAME" in pending

    approve(cid, "release-approval", by="bob <b>", reject=True, note="<script>no</script>")
    decided = web.get(f"/c/{cid}/live", headers=auth).text
    assert 'data-status="rejected"' in decided
    assert "bob &lt;b&gt;" in decided and "&lt;script&gt;no&lt;/script&gt;" in decided
    assert "<script>no" not in decided and "coord approve" not in decided
