"""CoordinationOrchestrator.coordinate_workflow works end to end (it was broken in the seed)."""

from __future__ import annotations

import asyncio

import pytest

from coordination import CoordinationOrchestrator, ThreadSafeState, WorkflowError
from coordination.errors import InvalidIdError
from coordination.metrics import MetricsCollector
from tests.conftest import keys_of

ASSIGNMENTS = {
    "model-gen": {"objective": "models", "tasks": ["models"]},
    "validator-gen": {"objective": "validators", "tasks": ["validators"], "dependencies": ["model-gen"]},
    "test-gen": {"objective": "tests", "tasks": ["tests"], "dependencies": ["model-gen"]},
    "packager": {"objective": "package", "tasks": ["zip"], "dependencies": ["validator-gen", "test-gen"]},
}


async def _run_agents(orchestrator, order, completed):
    """Play the agents: each completes once its upstream agents completed (as workers would)."""
    signals = orchestrator.signal_coordinator
    coordination_id = None
    while coordination_id is None:
        await asyncio.sleep(0.01)
        coordination_id = next(iter(_started(signals)), None)
    for agent in order:
        await orchestrator.signal_agent_completion(coordination_id, agent, {"quality_score": 0.9})
        completed.append(agent)
        await asyncio.sleep(0.02)
    return coordination_id


def _started(signals):
    from coordination.store.connection import sync_client

    return list(sync_client().smembers(signals.state.store_keys.coordinations))


async def test_a_four_agent_workflow_is_coordinated_in_dependency_order(namespace):
    state = ThreadSafeState(namespace=namespace)
    metrics = MetricsCollector(kafka_enabled=False)
    orchestrator = CoordinationOrchestrator(state, metrics, dependency_timeout=10)
    completed: list[str] = []
    player = asyncio.create_task(
        _run_agents(orchestrator, ["model-gen", "validator-gen", "test-gen", "packager"], completed)
    )
    result = await orchestrator.coordinate_workflow("codegen", ASSIGNMENTS, {"type_registry": {"User": "model"}})
    coordination_id = await player

    assert "error" not in result
    assert result["coordination_id"] == coordination_id
    assert result["coordination_id"].startswith("codegen-")
    assert result["contexts_distributed"] == 4
    assert result["dependencies_resolved"] == 4  # validator<-model, test<-model, packager<-validator, <-test
    assert result["routing_decisions"] == 4
    assert result["signals_sent"] == 2  # coordination_started and coordination_finished
    assert result["duration_ms"] > 0
    routed = [detail["agent_id"] for detail in result["routing_details"]]
    assert routed.index("model-gen") < routed.index("validator-gen") < routed.index("packager")
    assert {detail["dependency_id"] for detail in result["dependency_details"]} == {
        "validator-gen_waits_for_model-gen",
        "test-gen_waits_for_model-gen",
        "packager_waits_for_validator-gen",
        "packager_waits_for_test-gen",
    }
    assert await orchestrator.check_dependency_status(coordination_id, "packager_waits_for_test-gen")
    context = await orchestrator.get_agent_context(coordination_id, "packager")
    assert context is not None and context.shared_intelligence.type_registry == {"User": "model"}
    figures = orchestrator.get_coordination_metrics(coordination_id)
    assert figures["signal_metrics"]["total_signals_sent"] == 6  # 2 lifecycle + 4 completions
    assert figures["context_metrics"]["contexts_distributed"] == 4
    assert figures["routing_metrics"]["total_routings"] == 4


async def test_a_dependency_that_never_completes_ends_the_coordination_with_an_error(namespace):
    orchestrator = CoordinationOrchestrator(ThreadSafeState(namespace=namespace), dependency_timeout=0.3)
    result = await orchestrator.coordinate_workflow(
        "stuck",
        {"a": {"objective": "a", "tasks": []}, "b": {"objective": "b", "tasks": [], "dependencies": ["a"]}},
    )
    assert "Timeout after 0.3s" in result["error"]
    assert result["dependencies_resolved"] == 0
    status = orchestrator.dependency_resolver.get_dependency_status(result["coordination_id"], "b_waits_for_a")
    assert status["status"] == "timeout"


@pytest.mark.parametrize(
    ("assignments", "error", "field"),
    [
        ({"a": {"tasks": [], "dependencies": ["ghost"]}}, WorkflowError, "agent_assignments['a']"),
        (
            {"a": {"tasks": [], "dependencies": ["b"]}, "b": {"tasks": [], "dependencies": ["a"]}},
            WorkflowError,
            "agent_assignments",
        ),
        ({"bad id": {"tasks": []}}, InvalidIdError, "agent_assignments"),
    ],
)
async def test_an_invalid_workflow_is_refused_before_anything_is_written(namespace, assignments, error, field):
    orchestrator = CoordinationOrchestrator(ThreadSafeState(namespace=namespace))
    with pytest.raises(error) as raised:
        await orchestrator.coordinate_workflow("wf", assignments)
    assert raised.value.field == field
    assert keys_of(namespace) == []


async def test_unknown_shared_intelligence_sections_are_ignored_as_in_the_seed_with_a_warning(namespace):
    # The seed's orchestrator docs pass shared_intelligence={"patterns": ..., "conventions": ...}: the seed ignored
    # both sections silently; here they are ignored too, and reported.
    from coordination import SeedCompatibilityWarning
    from coordination.models.seed import forget_warnings

    forget_warnings()
    orchestrator = CoordinationOrchestrator(ThreadSafeState(namespace=namespace))
    with pytest.warns(SeedCompatibilityWarning, match="SharedIntelligence: unknown field 'patterns'"):
        result = await orchestrator.coordinate_workflow("wf", {"a": {"tasks": []}}, {"patterns": {}})
    context = await orchestrator.get_agent_context(result["coordination_id"], "a")
    assert context is not None and "patterns" not in context.shared_intelligence.model_dump()
