"""The seed guide's section "Monitoring & Metrics": its examples, verbatim, do what they say."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import eventually
from tests.integration.seed_guide.guide import (
    WAIT_S,
    assignments,
    printed,
    python_blocks,
    run_example,
    seed_scope,
    stored_metrics,
)

SECTION = "Monitoring & Metrics"

# -- the section's examples, verbatim (a comment gives each one's place in the section) --------------------

# Monitoring & Metrics › Metrics Collection › Enable Metrics
ENABLE_METRICS = """\
metrics = MetricsCollector(
    buffer_size=1000,
    kafka_enabled=True,  # Publish to Kafka
    postgres_enabled=True  # Persist to PostgreSQL
)
await metrics.start()
"""


# Monitoring & Metrics › Key Metrics to Monitor › 1. Signal Coordination Metrics
MONITOR_SIGNALS = """\
# Check signal metrics
signal_metrics = signal_coordinator.get_signal_metrics(coordination_id)

print(f"Total signals: {signal_metrics.total_signals_sent}")
print(f"Avg propagation: {signal_metrics.average_propagation_ms:.2f}ms")
print(f"Max propagation: {signal_metrics.max_propagation_ms:.2f}ms")

# Alert if avg > 50ms (still well below 100ms target)
if signal_metrics.average_propagation_ms > 50:
    logger.warning(f"Signal propagation above 50ms: {signal_metrics.average_propagation_ms:.2f}ms")
"""


# Monitoring & Metrics › Key Metrics to Monitor › 2. Routing Metrics
MONITOR_ROUTING = """\
# Check routing stats
routing_stats = routing_orchestrator.get_stats()

print(f"Total routings: {routing_stats['total_routings']}")
print(f"Avg routing time: {routing_stats['avg_routing_time_ms']:.2f}ms")
print(f"Max routing time: {routing_stats['max_routing_time_ms']:.2f}ms")

# Alert if avg > 2ms (still well below 5ms target)
if routing_stats['avg_routing_time_ms'] > 2:
    logger.warning(f"Routing time above 2ms: {routing_stats['avg_routing_time_ms']:.2f}ms")
"""


# Monitoring & Metrics › Key Metrics to Monitor › 3. Context Distribution Metrics
MONITOR_CONTEXT = """\
# Check metrics collector for context distribution times
stats = await metrics.get_stats()

context_dist_times = [
    metric['value'] for metric in stats['metrics']
    if metric['name'] == 'context_distribution_per_agent_ms'
]

if context_dist_times:
    avg_time = sum(context_dist_times) / len(context_dist_times)
    print(f"Avg context distribution: {avg_time:.2f}ms per agent")

    # Alert if avg > 100ms (still well below 200ms target)
    if avg_time > 100:
        logger.warning(f"Context distribution above 100ms: {avg_time:.2f}ms")
"""


# Monitoring & Metrics › Key Metrics to Monitor › 4. Dependency Resolution Metrics
MONITOR_DEPENDENCIES = """\
# Check metrics collector for dependency resolution times
dep_resolution_times = [
    metric['value'] for metric in stats['metrics']
    if metric['name'] == 'dependency_resolution_time_ms'
]

if dep_resolution_times:
    avg_time = sum(dep_resolution_times) / len(dep_resolution_times)
    print(f"Avg dependency resolution: {avg_time:.2f}ms")

    # Alert if avg > 1000ms (still well below 2s target)
    if avg_time > 1000:
        logger.warning(f"Dependency resolution above 1s: {avg_time:.2f}ms")
"""


EXAMPLES = [
    ENABLE_METRICS,
    MONITOR_SIGNALS,
    MONITOR_ROUTING,
    MONITOR_CONTEXT,
    MONITOR_DEPENDENCIES,
]


def test_the_examples_are_the_sections_own_verbatim(guide: str) -> None:
    assert python_blocks(guide, SECTION) == EXAMPLES


# -- what each example does --------------------------------------------------------------------------------


async def test_enabling_kafka_warns_that_metrics_stay_in_redis_instead_of_failing(namespace: str) -> None:
    scope = seed_scope(namespace)

    with pytest.warns(UserWarning, match="kafka_enabled=True"):
        await run_example(ENABLE_METRICS, scope)

    metrics = scope["metrics"]
    try:
        assert metrics.running
        await metrics.record_counter("seed_guide_enable_metrics", 1, correlation_id=scope["coordination_id"])
    finally:
        await metrics.stop()
    # Not dropped for want of Kafka: flushed to Redis and readable back.
    assert stored_metrics(metrics, "seed_guide_enable_metrics", scope["coordination_id"]) == [1.0]


async def test_signal_metrics_report_counts_and_delivery_times(
    namespace: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    scope = seed_scope(namespace)
    coordinator, cid = scope["signal_coordinator"], scope["coordination_id"]
    stream = coordinator.subscribe_to_signals(cid, "validator-gen")
    for agent in ("model-gen", "test-gen", "packager"):
        await coordinator.emit(cid, "agent_completed", {"agent_id": agent}, sender_agent_id=agent)
    for _ in range(3):
        await asyncio.wait_for(anext(stream), WAIT_S)
    await eventually(lambda: coordinator.get_signal_metrics(cid).total_signals_received == 3, WAIT_S, "received")

    await run_example(MONITOR_SIGNALS, scope)

    figures = scope["signal_metrics"]
    assert figures.total_signals_sent == 3 and figures.signals_by_type == {"agent_completed": 3}
    assert 0 < figures.average_propagation_ms <= figures.max_propagation_ms
    assert printed(capsys) == [
        "Total signals: 3",
        f"Avg propagation: {figures.average_propagation_ms:.2f}ms",
        f"Max propagation: {figures.max_propagation_ms:.2f}ms",
    ]
    warned = any("Signal propagation above 50ms" in record.message for record in caplog.records)
    assert warned == (figures.average_propagation_ms > 50)


async def test_routing_stats_report_lifetime_figures(namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    scope = seed_scope(namespace)
    for n in range(3):
        scope["routing_orchestrator"].route(state={"task_priority": 50}, current_task=f"task-{n}")

    await run_example(MONITOR_ROUTING, scope)

    stats = scope["routing_stats"]
    assert stats["total_routings"] == 3 and stats["decisions"] == {"continue": 3}
    assert 0 <= stats["min_routing_time_ms"] <= stats["avg_routing_time_ms"] <= stats["max_routing_time_ms"]
    assert printed(capsys)[0] == "Total routings: 3"


async def test_the_metrics_snippets_read_recorded_context_and_dependency_times(
    namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    scope = seed_scope(namespace)
    metrics, cid = scope["metrics"], scope["coordination_id"]
    await scope["context_distributor"].distribute_agent_context(
        {"coordination_id": cid, "session_id": cid}, assignments(4)
    )
    await scope["dependency_resolver"].mark_resource_available("db")
    agent_context = {"agent_id": "model-gen", "dependencies": [{"type": "resource_availability", "target": "db"}]}
    assert await scope["dependency_resolver"].resolve_agent_dependencies(cid, agent_context) is True
    await metrics.flush()  # so the snippets read them back from Redis, as another process would

    # "3. Context Distribution Metrics" defines `stats`, which "4. Dependency Resolution Metrics" reuses.
    await run_example(MONITOR_CONTEXT, scope)
    await run_example(MONITOR_DEPENDENCIES, scope)

    assert scope["stats"]["buffer_size"] == 0 and scope["stats"]["buffer_capacity"] == 10000
    ours = stored_metrics(metrics, "context_distribution_per_agent_ms", cid)
    assert len(ours) == 1 and set(ours) <= set(scope["context_dist_times"])
    ours = stored_metrics(metrics, "dependency_resolution_time_ms", cid)
    assert len(ours) == 1 and set(ours) <= set(scope["dep_resolution_times"])
    for values in (scope["context_dist_times"], scope["dep_resolution_times"]):
        assert all(isinstance(value, float) and value >= 0 for value in values)
    lines = printed(capsys)
    assert any(line.startswith("Avg context distribution: ") and line.endswith("ms per agent") for line in lines)
    assert any(line.startswith("Avg dependency resolution: ") for line in lines)
