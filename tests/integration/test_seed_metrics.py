"""Every metric the seed's coordination code records (SEED_API.md §1.10) is recorded here under the same name, kind,
unit, tags (string values) and correlation id, so code and dashboards that look for them find them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from coordination import (
    ContextDistributor,
    CoordinationOrchestrator,
    DependencyResolutionError,
    DependencyResolver,
    SignalCoordinator,
    SmartRoutingOrchestrator,
    ThreadSafeState,
)
from coordination import dependencies as dependencies_module
from coordination.metrics import Metric, MetricsCollector
from tests.helpers import take


@pytest.fixture
def cid(namespace: str) -> str:
    # Unique per test: flushed metrics go to one stream shared by the whole test session.
    return f"metrics-{namespace}"


@pytest.fixture
def collector() -> MetricsCollector:
    return MetricsCollector(kafka_enabled=False, postgres_enabled=False)


@pytest.fixture
def state(namespace: str) -> ThreadSafeState[Any]:
    return ThreadSafeState(namespace=namespace)


def recorded(collector: MetricsCollector, name: str, cid: str) -> list[Metric]:
    """The metrics called ``name`` recorded for coordination ``cid`` (by tag or correlation id)."""
    return [m for m in collector.read_metrics(name) if cid in (m.tags.get("coordination_id"), m.correlation_id)]


def only(collector: MetricsCollector, name: str, cid: str) -> Metric:
    [metric] = recorded(collector, name, cid)
    return metric


async def test_the_signal_metrics(collector: MetricsCollector, state: ThreadSafeState[Any], cid: str) -> None:
    coordinator = SignalCoordinator(state, metrics_collector=collector)
    receiver = f"validator-{cid}"  # signals_received carries no coordination id: a unique agent finds ours
    stream = coordinator.subscribe_to_signals(cid, receiver)

    assert await coordinator.signal_coordination_event(cid, "agent_completed", {"agent_id": "model-gen"}) is True
    await take(stream, 1)

    propagation = only(collector, "signal_propagation_time_ms", cid)
    assert (propagation.metric_type, propagation.unit) == ("timing", "ms")
    assert propagation.tags == {"signal_type": "agent_completed", "coordination_id": cid}
    assert propagation.correlation_id == cid
    sent = only(collector, "signals_sent", cid)
    assert (sent.metric_type, sent.unit, sent.value) == ("counter", "count", 1.0)
    assert sent.tags == {"signal_type": "agent_completed", "coordination_id": cid}
    [received] = [m for m in collector.read_metrics("signals_received") if m.tags.get("agent_id") == receiver]
    assert (received.metric_type, received.value) == ("counter", 1.0)
    assert received.tags == {"signal_type": "agent_completed", "agent_id": receiver}


def test_the_routing_metrics(collector: MetricsCollector, cid: str) -> None:
    orchestrator = SmartRoutingOrchestrator(metrics_collector=collector)

    decision = orchestrator.route({"completed_tasks": []}, current_task="validate", correlation_id=cid)

    timing = only(collector, "routing_decision_time_ms", cid)
    assert (timing.metric_type, timing.unit, timing.correlation_id) == ("timing", "ms", cid)
    assert timing.tags == {"decision": decision["decision"], "strategy": decision["strategy"]}
    count = only(collector, "routing_decisions_count", cid)
    assert (count.metric_type, count.value, count.correlation_id) == ("counter", 1.0, cid)
    assert count.tags == {"decision": decision["decision"]}


async def test_the_context_metrics(collector: MetricsCollector, state: ThreadSafeState[Any], cid: str) -> None:
    distributor = ContextDistributor(state, metrics_collector=collector)

    await distributor.distribute_agent_context(
        {"coordination_id": cid, "session_id": "session-1"}, {"a1": {"tasks": ["t"]}, "a2": {"tasks": ["t"]}}
    )

    sizes = recorded(collector, "context_size_bytes", cid)
    assert sorted(m.tags["agent_id"] for m in sizes) == ["a1", "a2"]
    for size in sizes:
        assert (size.metric_type, size.unit, size.correlation_id) == ("gauge", "bytes", cid)
        assert size.tags == {"agent_id": size.tags["agent_id"], "coordination_id": cid}
    total = only(collector, "context_distribution_time_ms", cid)
    assert (total.metric_type, total.unit, total.correlation_id) == ("timing", "ms", cid)
    assert total.tags == {"coordination_id": cid, "agent_count": "2"}
    per_agent = only(collector, "context_distribution_per_agent_ms", cid)
    assert per_agent.tags == {"coordination_id": cid} and per_agent.correlation_id == cid


async def test_the_dependency_metric_on_success_and_on_failure(
    collector: MetricsCollector, state: ThreadSafeState[Any], monkeypatch: pytest.MonkeyPatch, cid: str
) -> None:
    resolver = DependencyResolver(SignalCoordinator(state), collector, state)
    await resolver.mark_resource_available("db")
    context = {"dependencies": [{"type": "resource_availability", "target": "db"}]}

    assert await resolver.resolve_agent_dependencies(cid, context) is True
    success = only(collector, "dependency_resolution_time_ms", cid)
    assert (success.metric_type, success.unit, success.correlation_id) == ("timing", "ms", cid)
    assert success.tags == {"coordination_id": cid, "dependency_count": "1"}

    async def broken(*_args: Any) -> list[Any]:
        raise RuntimeError("the store went away")

    monkeypatch.setattr(dependencies_module, "run_atomically_async", broken)
    with pytest.raises(DependencyResolutionError, match="the store went away"):
        await resolver.resolve_agent_dependencies(cid, context)
    failure = [m for m in recorded(collector, "dependency_resolution_time_ms", cid) if m.metric_id != success.metric_id]
    assert [m.tags for m in failure] == [{"coordination_id": cid, "success": "false"}]
    assert failure[0].correlation_id == cid


async def test_the_workflow_metric(collector: MetricsCollector, state: ThreadSafeState[Any]) -> None:
    orchestrator = CoordinationOrchestrator(state, collector, dependency_timeout=5)

    async def complete_the_agent() -> None:  # as a worker would, once the coordination exists
        await orchestrator.signal_agent_completion(await started(orchestrator), "solo", {"quality_score": 1.0})

    player = asyncio.create_task(complete_the_agent())
    result = await orchestrator.coordinate_workflow("wf", {"solo": {"objective": "o", "tasks": ["t"]}})
    await player

    metric = only(collector, "workflow_coordination_time_ms", result["coordination_id"])
    assert (metric.metric_type, metric.unit) == ("timing", "ms")
    assert metric.tags == {"workflow_id": "wf", "agent_count": "1"}  # strings (the seed's int tag could not work)
    assert metric.correlation_id == result["coordination_id"]


async def started(orchestrator: CoordinationOrchestrator) -> str:
    from coordination.store.connection import sync_client

    keys = orchestrator.signal_coordinator.state.store_keys
    while not (ids := sync_client().smembers(keys.coordinations)):
        await asyncio.sleep(0.01)
    return str(next(iter(ids)))
