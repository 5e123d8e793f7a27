"""The pipeline end to end, through real worker and beat processes."""

from __future__ import annotations

import time

from config.celery_app import app
from coordination import Workflow, approve, cancel_coordination, coordination_status, mark_resource
from coordination.pipeline.components import components
from coordination.task_names import agent_task
from tests.e2e.agents import runs_of
from tests.e2e.conftest import wait_finished


def _signals(coordination_id: str, signal_type: str) -> list:
    return components().signals.get_signal_history(coordination_id, filters={"signal_type": signal_type})


def test_the_example_pipeline_completes_with_its_retry_gate_resource_and_approval(pipeline_services):
    workflow = Workflow.from_file("examples/codegen.yaml")
    coordination_id = workflow.submit(input={"pace": 0})
    other_run = workflow.submit(input={"pace": 0})
    time.sleep(0.5)
    assert coordination_status(coordination_id).agent("packager").status == "waiting"
    mark_resource("artifact-store", coordination_id=coordination_id)
    assert approve(coordination_id, "release-approval", by="e2e").approved
    status = wait_finished(coordination_id)

    assert status.status == "completed", status
    assert {agent.agent_id: agent.status for agent in status.agents} == dict.fromkeys(
        ["model-gen", "validator-gen", "test-gen", "packager"], "completed"
    )
    model = status.agent("model-gen")
    assert model.attempts == 2 and model.quality == 0.95  # the retry rule re-ran the 0.62 first attempt
    assert status.agent("packager").started_at >= max(
        status.agent("validator-gen").finished_at, status.agent("test-gen").finished_at
    )
    gate = next(d for d in status.dependencies if d.dependency_id == "tests-need-model-quality")
    assert gate.status == "resolved"
    assert status.routing_decisions == 5
    from coordination import SmartRoutingOrchestrator

    persisted = SmartRoutingOrchestrator(state=components().state).read_persisted_history()
    mine = [record for record in persisted if record.context.correlation_id == coordination_id]
    assert sorted(record.context.current_task for record in mine) == sorted(
        ["model-gen", "model-gen", "validator-gen", "test-gen", "packager"]
    )
    assert len(_signals(coordination_id, "agent_completed")) == 4
    assert len(_signals(coordination_id, "coordination_finished")) == 1
    # The other run of the same workflow shared nothing: its packager still waits for its own resource and approval.
    other = coordination_status(other_run)
    assert other.agent("packager").status == "waiting", other
    assert [(a.gate, a.status) for a in other.approvals] == [("release-approval", "pending")]
    cancel_coordination(other_run, "the test is over")


def test_a_failing_agent_is_retried_with_growing_back_off(pipeline_services):
    workflow = Workflow(name="flaky", agents={"worker-a": {"task": "e2e-step", "resources": {"max_retry_attempts": 3}}})
    coordination_id = workflow.submit(input={"worker-a": {"fail_attempts": 2}})
    status = wait_finished(coordination_id)

    assert status.status == "completed"
    assert status.agent("worker-a").attempts == 3
    assert runs_of(coordination_id, "worker-a") == 3
    retries = sorted(_signals(coordination_id, "agent_retrying"), key=lambda s: s.event_data["attempt"])
    starts = sorted(_signals(coordination_id, "agent_initialized"), key=lambda s: s.event_data["attempt"])
    assert [s.event_data["attempt"] for s in retries] == [1, 2]
    first_gap = (starts[1].timestamp - retries[0].timestamp).total_seconds()
    second_gap = (starts[2].timestamp - retries[1].timestamp).total_seconds()
    # base 0.4 s: the first delay is drawn from [0.2, 0.4], the second from [0.4, 0.8]
    assert 0.2 <= first_gap < 2.0
    assert 0.4 <= second_gap < 2.5
    assert retries[1].event_data["retry_in_s"] > retries[0].event_data["retry_in_s"] / 2


def test_retries_are_bounded_and_then_the_coordination_fails(pipeline_services):
    workflow = Workflow(
        name="hopeless",
        agents={
            "worker-a": {"task": "e2e-step", "resources": {"max_retry_attempts": 1}},
            "after": {"task": "e2e-step", "depends_on": ["worker-a"]},
        },
    )
    coordination_id = workflow.submit(input={"worker-a": {"fail_attempts": 99}})
    status = wait_finished(coordination_id)

    assert status.status == "failed"
    assert status.agent("worker-a").status == "failed" and status.agent("worker-a").attempts == 2
    assert "retries exhausted" in status.agent("worker-a").error
    assert status.agent("after").status == "skipped"
    assert runs_of(coordination_id, "after") == 0


def test_a_quality_gate_below_threshold_times_out_through_beat_and_routes_as_declared(pipeline_services):
    workflow = Workflow(
        name="gated",
        agents={
            "scorer": {"task": "e2e-step"},
            "checker": {"task": "e2e-step"},
            "publisher": {"task": "e2e-step", "depends_on": ["checker"]},
        },
        dependencies=[
            {
                "id": "needs-quality",
                "agent": "checker",
                "type": "quality_gate",
                "target": "gate-q",
                "threshold": 0.8,
                "timeout": 1.0,
                "check_interval_ms": 200,
            }
        ],
        routing={
            "rules": [
                {
                    "rule_id": "skip-on-timeout",
                    "name": "Skip the check when the gate times out",
                    "agents": ["checker"],
                    "condition_key": "event",
                    "condition_operator": "==",
                    "condition_value": "dependency_timeout",
                    "decision": "skip",
                }
            ]
        },
    )
    started = time.monotonic()
    coordination_id = workflow.submit(input={"scorer": {"gate": "gate-q", "quality": 0.5}})
    status = wait_finished(coordination_id)

    assert status.status == "completed"
    assert status.agent("checker").status == "skipped"
    assert runs_of(coordination_id, "checker") == 0
    assert status.agent("publisher").status == "completed"  # a skipped agent counts as done for its dependents
    dependency = next(d for d in status.dependencies if d.dependency_id == "needs-quality")
    assert dependency.status == "timeout"
    assert 1.0 <= dependency.wait_ms / 1000 < 3.0
    assert time.monotonic() - started >= 1.0
    assert len(_signals(coordination_id, "dependency_timeout")) == 1


def test_a_dependency_time_out_without_a_rule_fails_the_coordination(pipeline_services):
    workflow = Workflow(
        name="stuck",
        agents={"waiter": {"task": "e2e-step"}},
        dependencies=[
            {
                "id": "needs-db",
                "agent": "waiter",
                "type": "resource_availability",
                "target": "no-such-db",
                "timeout": 0.5,
            }
        ],
    )
    coordination_id = workflow.submit()
    status = wait_finished(coordination_id)
    assert status.status == "failed"
    assert status.agent("waiter").status == "timed_out"


def test_a_duplicate_agent_message_does_not_complete_twice_or_start_dependents_twice(pipeline_services):
    workflow = Workflow(
        name="dupes",
        agents={
            "first": {"task": "e2e-step"},
            "second": {"task": "e2e-step", "depends_on": ["first"]},
        },
    )
    coordination_id = workflow.submit(input={"first": {"sleep": 0.5}})
    # The same agent message again, as a broker redelivery or a double send would produce it.
    app.send_task(agent_task("e2e-step"), args=[coordination_id, "first", 1])
    app.send_task(agent_task("e2e-step"), args=[coordination_id, "first", 1])
    status = wait_finished(coordination_id)
    time.sleep(0.5)  # let the late duplicates arrive and be refused

    assert status.status == "completed"
    completions = [s for s in _signals(coordination_id, "agent_completed") if s.sender_agent_id == "first"]
    assert len(completions) == 1
    assert runs_of(coordination_id, "first") == 1
    assert runs_of(coordination_id, "second") == 1
    assert coordination_status(coordination_id).agent("second").attempts == 1


def test_a_branch_rule_starts_a_dormant_agent(pipeline_services):
    workflow = Workflow(
        name="branchy",
        agents={
            "triage": {"task": "e2e-step"},
            "fix-up": {"task": "e2e-step", "start": "on_branch"},
            "unused": {"task": "e2e-step", "start": "on_branch"},
        },
        routing={
            "rules": [
                {
                    "rule_id": "low",
                    "name": "Low quality goes to fix-up",
                    "agents": ["triage"],
                    "condition_key": "quality_score",
                    "condition_operator": "<",
                    "condition_value": 0.5,
                    "decision": "branch",
                    "next_task": "fix-up",
                }
            ]
        },
    )
    coordination_id = workflow.submit(input={"triage": {"quality": 0.2}})
    status = wait_finished(coordination_id)
    assert status.status == "completed"
    assert status.agent("fix-up").status == "completed"
    assert status.agent("unused").status == "dormant"
    assert runs_of(coordination_id, "unused") == 0


def test_an_end_rule_finishes_the_coordination_and_skips_what_has_not_started(pipeline_services):
    workflow = Workflow(
        name="ending",
        agents={"gate-keeper": {"task": "e2e-step"}, "later": {"task": "e2e-step", "depends_on": ["gate-keeper"]}},
        routing={
            "rules": [
                {
                    "rule_id": "done",
                    "name": "Perfect result ends early",
                    "agents": ["gate-keeper"],
                    "condition_key": "quality_score",
                    "condition_operator": ">=",
                    "condition_value": 0.99,
                    "decision": "end",
                }
            ]
        },
    )
    coordination_id = workflow.submit(input={"gate-keeper": {"quality": 1.0}})
    status = wait_finished(coordination_id)
    assert status.status == "completed"
    assert status.agent("gate-keeper").status == "completed"
    assert status.agent("later").status == "skipped"
    assert runs_of(coordination_id, "later") == 0


def test_an_error_rule_fails_the_coordination(pipeline_services):
    workflow = Workflow(
        name="erroring",
        agents={"inspector": {"task": "e2e-step"}, "later": {"task": "e2e-step", "depends_on": ["inspector"]}},
        routing={
            "rules": [
                {
                    "rule_id": "bad",
                    "name": "Garbage stops everything",
                    "agents": ["inspector"],
                    "condition_key": "quality_score",
                    "condition_operator": "<",
                    "condition_value": 0.1,
                    "decision": "error",
                }
            ]
        },
    )
    coordination_id = workflow.submit(input={"inspector": {"quality": 0.0}})
    status = wait_finished(coordination_id)
    assert status.status == "failed"
    assert status.agent("inspector").status == "failed"
    assert status.agent("later").status == "skipped"


def test_a_parallel_hint_fans_out_its_group_and_the_join_waits_for_all(pipeline_services):
    workflow = Workflow(
        name="fanout",
        agents={
            "plan": {"task": "e2e-step"},
            "left": {"task": "e2e-step", "depends_on": ["plan"]},
            "right": {"task": "e2e-step", "depends_on": ["plan"]},
            "join": {"task": "e2e-step", "depends_on": ["left", "right"]},
        },
        routing={"parallel": [{"task_group": ["plan", "left", "right"]}]},
    )
    coordination_id = workflow.submit(input={"left": {"sleep": 0.3}, "right": {"sleep": 0.3}})
    status = wait_finished(coordination_id)
    assert status.status == "completed"
    assert status.agent("plan").decision == "parallel"
    left, right, join = status.agent("left"), status.agent("right"), status.agent("join")
    assert left.started_at < right.finished_at and right.started_at < left.finished_at  # they overlapped
    assert join.started_at >= max(left.finished_at, right.finished_at)
    assert runs_of(coordination_id, "join") == 1


def test_an_external_producer_completes_an_agent_with_a_plain_celery_message(pipeline_services):
    workflow = Workflow(
        name="external",
        agents={"human-review": {"task": "e2e-step", "start": "on_branch"}, "publish": {"task": "e2e-step"}},
        dependencies=[
            {"id": "reviewed", "agent": "publish", "type": "agent_completion", "target": "human-review", "timeout": 30}
        ],
    )
    coordination_id = workflow.submit()
    time.sleep(0.3)
    assert coordination_status(coordination_id).agent("publish").status == "waiting"
    # What a producer in any language sends: task name and JSON arguments only.
    app.send_task(
        "coordination.signals.emit",
        args=[coordination_id, "agent_completed", {"agent_id": "human-review", "verdict": "ok"}],
        kwargs={"sender_agent_id": "review-tool"},
    )
    status = wait_finished(coordination_id)
    assert status.agent("publish").status == "completed"
    dependency = next(d for d in status.dependencies if d.dependency_id == "reviewed")
    assert dependency.status == "resolved"
