"""The seed guide's section "Common Performance Issues": its examples, verbatim, do what they say."""

from __future__ import annotations

from datetime import datetime

import pytest

from coordination import (
    ConditionalRouter,
    Dependency,
    DependencyType,
    PriorityRouter,
    RoutingDecision,
)
from tests.integration.seed_guide.guide import (
    assignments,
    printed,
    python_blocks,
    rule,
    run_example,
    seed_scope,
)

SECTION = "Common Performance Issues"

# -- the section's examples, verbatim (a comment gives each one's place in the section) --------------------

# Common Performance Issues › Issue 1: Signal Propagation > 50ms › Diagnosis
ISSUE_SIGNAL_PROPAGATION = """\
# Check signal metrics
metrics = signal_coordinator.get_signal_metrics(coordination_id)
print(f"Avg propagation: {metrics.average_propagation_ms:.2f}ms")
print(f"Max propagation: {metrics.max_propagation_ms:.2f}ms")

# Check signal data size
history = signal_coordinator.get_signal_history(coordination_id, limit=10)
for signal in history:
    data_size = len(str(signal.event_data))
    print(f"Signal data size: {data_size} bytes")
"""


# Common Performance Issues › Issue 2: Routing Decisions > 2ms › Diagnosis
ISSUE_ROUTING_TIME = """\
# Check routing stats
stats = routing_orchestrator.get_stats()
print(f"Avg routing time: {stats['avg_routing_time_ms']:.2f}ms")
print(f"Max routing time: {stats['max_routing_time_ms']:.2f}ms")

# Check number of routers
print(f"Active routers: {len(routing_orchestrator.routers)}")
"""


# Common Performance Issues › Issue 3: Context Distribution > 100ms per agent › Diagnosis
ISSUE_CONTEXT_DISTRIBUTION = """\
# Check context size
context = context_distributor.get_agent_context(coordination_id, agent_id)
context_size = len(context.model_dump_json())
print(f"Context size: {context_size / 1024:.2f} KB")

# Check metrics
stats = await metrics.get_stats()
# Look for context_distribution_per_agent_ms metrics
"""


# Common Performance Issues › Issue 4: Dependency Resolution > 1s › Diagnosis
ISSUE_DEPENDENCY_RESOLUTION = """\
# Check pending dependencies
pending_count = dependency_resolver.get_pending_dependencies_count(coordination_id)
print(f"Pending dependencies: {pending_count}")

# Check dependency status
status = dependency_resolver.get_dependency_status(coordination_id, dependency_id)
print(f"Status: {status['status']}")
print(f"Resolved at: {status['resolved_at']}")
"""


EXAMPLES = [
    ISSUE_SIGNAL_PROPAGATION,
    ISSUE_ROUTING_TIME,
    ISSUE_CONTEXT_DISTRIBUTION,
    ISSUE_DEPENDENCY_RESOLUTION,
]


def test_the_examples_are_the_sections_own_verbatim(guide: str) -> None:
    assert python_blocks(guide, SECTION) == EXAMPLES


# -- what each example does --------------------------------------------------------------------------------


async def test_the_signal_propagation_diagnosis_prints_figures_and_data_sizes(
    namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    scope = seed_scope(namespace)
    coordinator, cid = scope["signal_coordinator"], scope["coordination_id"]
    for n in range(3):
        await coordinator.emit(cid, "inter_agent_message", {"message": "x" * n})

    await run_example(ISSUE_SIGNAL_PROPAGATION, scope)

    assert scope["metrics"].total_signals_sent == 3  # the fragment rebinds `metrics` to the SignalMetrics
    sizes = [len(str(signal.event_data)) for signal in coordinator.get_signal_history(cid)]
    assert printed(capsys)[2:] == [f"Signal data size: {size} bytes" for size in sizes]


async def test_the_routing_time_diagnosis_counts_active_routers(
    namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    scope = seed_scope(namespace)
    orchestrator = scope["routing_orchestrator"]
    orchestrator.add_router(ConditionalRouter(rules=[rule("error_handling", 100, RoutingDecision.RETRY)]))
    orchestrator.add_router(PriorityRouter())
    orchestrator.route(state={"error_count": 1}, current_task="generate")

    await run_example(ISSUE_ROUTING_TIME, scope)

    assert scope["stats"]["total_routings"] == 1
    assert printed(capsys)[-1] == "Active routers: 2"


async def test_the_context_distribution_diagnosis_reads_size_and_metrics(
    namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    scope = seed_scope(namespace, agent_id="agent-00")
    await scope["context_distributor"].distribute_agent_context(
        {"coordination_id": scope["coordination_id"], "session_id": "s"}, assignments(2)
    )

    await run_example(ISSUE_CONTEXT_DISTRIBUTION, scope)

    assert printed(capsys) == [f"Context size: {scope['context_size'] / 1024:.2f} KB"]
    names = {metric["name"] for metric in scope["stats"]["metrics"]}
    assert {"context_distribution_per_agent_ms", "context_size_bytes"} <= names


async def test_the_dependency_diagnosis_counts_pending_ones_and_reports_a_status(
    namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    scope = seed_scope(namespace, dependency_id="db_ready")
    resolver, cid = scope["dependency_resolver"], scope["coordination_id"]
    await resolver.mark_resource_available("db")
    await resolver.resolve_dependency(cid, Dependency("db_ready", DependencyType.RESOURCE_AVAILABILITY, "db"))
    resolver.register_sync(cid, Dependency("packager_done", DependencyType.AGENT_COMPLETION, "packager", timeout=60))

    await run_example(ISSUE_DEPENDENCY_RESOLUTION, scope)

    assert scope["pending_count"] == 1
    resolved_at = datetime.fromisoformat(scope["status"]["resolved_at"])
    assert resolved_at.utcoffset() is not None and resolved_at.utcoffset().total_seconds() == 0
    assert printed(capsys) == [
        "Pending dependencies: 1",
        "Status: resolved",
        f"Resolved at: {scope['status']['resolved_at']}",
    ]
