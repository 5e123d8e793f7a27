"""Every Python example of the seed guide (``COORDINATION_PERFORMANCE_TUNING.md``) runs against this project.

Each example below is copied verbatim from the guide (a comment gives its section). A test runs it as a module
body (top-level ``await`` allowed) in a namespace that provides what the fragment assumes — ``state``,
``metrics``, ``signal_coordinator``, ``routing_orchestrator``, ``context_distributor``, ``dependency_resolver``,
``coordination_id``, ``logger``, and the user-supplied helpers some fragments call (``archive_signals_to_db``,
``process_signal``, ``hash_state``, ...) — built from real components on the real Redis, isolated by namespace.
The only rewriting allowed is of import lines (``omninode_bridge.agents.coordination`` → ``coordination``,
``omninode_bridge.agents.metrics`` → ``coordination.metrics``); no example in these sections needs even that.
The guide's "Performance Benchmarking Script" is covered by ``test_seed_benchmark.py``.

Schematic, not executable: four fragments use a literal ``...`` as an argument placeholder, which cannot run in
any system. Each is run as written (to show the error it gives is clear) and then in its closest concrete form,
made by replacing only the placeholders (see ``fill``):

* 2. Routing › For High Throughput — ``ConditionalRouter(rules=[...])``;
* 2. Routing › For Complex Routing Logic — ``ConditionalRouter(rules=[...])``;
* 2. Routing › Tip 1: Optimize conditional rules — ``ConditionalRule(...)``; its "GOOD" rules also omit the
  required ``name`` and ``decision`` (required in the seed too), so the concrete form adds them;
* 4. Dependency Resolver › Tip 1: Group dependencies — ``Dependency(..., timeout=10, ...)``.

One more fragment (1. Signal Coordinator › Tip 2: Use subscription filters) holds two alternative endless loops
("BAD" then "GOOD" ``async for`` over a subscription): the second is unreachable as written, so each half runs on
its own, verbatim, and is cancelled once it has processed the signal it waits for.

Findings (see ``docs/seed-compatibility.md``): the guide's "Reuse contexts for similar agents" recipe, which fails
in the seed (frozen ``CoordinationMetadata``), runs here; the "Distribute in batches" recipe returns every context
but leaves only the last batch stored, because each distribution replaces the coordination's earlier one (as in
the seed) — an expected failure below records it.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import json
import logging
import os
import re
import textwrap
import types
from collections import Counter
from copy import deepcopy
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import coordination
from coordination import (
    AgentContext,
    ConditionalRouter,
    ConditionalRule,
    ContextDistributor,
    Dependency,
    DependencyResolutionResult,
    DependencyResolver,
    DependencyStatus,
    DependencyType,
    InvalidInputError,
    PayloadTooLargeError,
    PriorityRouter,
    RoutingDecision,
    SignalCoordinator,
    SignalType,
    SmartRoutingOrchestrator,
    ThreadSafeState,
)
from coordination.metrics import MetricsCollector
from tests.conftest import keys_of
from tests.helpers import eventually

SEED_GUIDE = Path(os.environ.get("COORD_SEED_GUIDE", "/work/shared/seed/COORDINATION_PERFORMANCE_TUNING.md"))
WAIT_S = 10.0  # bound on waits that end at once when things work; it only stops a broken test from hanging


# -- the guide's examples, verbatim ------------------------------------------------------------------------

# 1. Signal Coordinator Tuning › Configuration Parameters
SIGNAL_CONFIGURATION = """\
signal_coordinator = SignalCoordinator(
    state=state,
    metrics_collector=metrics,
    max_history_size=10000  # Tune based on signal volume
)
"""


# 1. Signal Coordinator Tuning › Tuning Recommendations › For High Signal Volume (>1000 signals/minute)
SIGNAL_HIGH_VOLUME = """\
# Reduce history size to prevent memory growth
signal_coordinator = SignalCoordinator(
    state=state,
    metrics_collector=metrics,
    max_history_size=1000  # Smaller history
)

# Periodically query and archive old signals
if signal_count > 10000:
    # Archive signals to database/file
    history = signal_coordinator.get_signal_history(
        coordination_id=coordination_id,
        limit=1000
    )
    archive_signals_to_db(history)
"""


# 1. Signal Coordinator Tuning › Tuning Recommendations › For Low Latency (<10ms requirement)
SIGNAL_LOW_LATENCY = """\
# Disable metrics collection if not needed
signal_coordinator = SignalCoordinator(
    state=state,
    metrics_collector=None,  # No metrics overhead
    max_history_size=100  # Minimal history
)
"""


# 1. Signal Coordinator Tuning › Tuning Recommendations › For Debugging
SIGNAL_DEBUGGING = """\
# Increase history size for debugging
signal_coordinator = SignalCoordinator(
    state=state,
    metrics_collector=metrics,
    max_history_size=50000  # Large history for debugging
)
"""


# 1. Signal Coordinator Tuning › Performance Tips › Tip 1: Limit signal data size
SIGNAL_TIP_EVENT_DATA = """\
# ❌ BAD: Large event data
event_data = {
    "agent_id": "model-gen",
    "full_result": large_dict_with_100kb_data  # Avoid
}

# ✅ GOOD: Minimal event data
event_data = {
    "agent_id": "model-gen",
    "result_summary": "Generated 5 models",  # Summary only
    "quality_score": 0.95,
    "result_ref": "s3://bucket/result.json"  # Reference to full result
}
"""


# 1. Signal Coordinator Tuning › Performance Tips › Tip 2: Use subscription filters
SIGNAL_TIP_FILTERS = """\
# ❌ BAD: Receive all signals
async for signal in signal_coordinator.subscribe_to_signals(
    coordination_id=coordination_id,
    agent_id="validator-gen",
    signal_types=None  # Receives ALL signal types
):
    if signal.signal_type == "agent_completed":  # Filter in code
        process_signal(signal)

# ✅ GOOD: Filter at subscription
async for signal in signal_coordinator.subscribe_to_signals(
    coordination_id=coordination_id,
    agent_id="validator-gen",
    signal_types=["agent_completed"]  # Filter at source
):
    process_signal(signal)  # No need to filter
"""


# 2. Routing Orchestrator Tuning › Configuration Parameters
ROUTING_CONFIGURATION = """\
routing_orchestrator = SmartRoutingOrchestrator(
    metrics_collector=metrics,
    state=state,
    max_history_size=1000  # Tune based on tracking needs
)
"""


# 2. Routing Orchestrator Tuning › Tuning Recommendations › For High Throughput (>1000 routings/minute)
ROUTING_HIGH_THROUGHPUT = """\
# Minimize routers
routing_orchestrator.add_router(ConditionalRouter(rules=[...]))  # Only essential routers
# Don't add: StateAnalysisRouter, ParallelRouter if not needed

# Reduce history size
routing_orchestrator = SmartRoutingOrchestrator(
    metrics_collector=None,  # Disable metrics
    max_history_size=100  # Minimal history
)

# Periodically clear history
if routing_count > 10000:
    routing_orchestrator.clear_history()
"""


# 2. Routing Orchestrator Tuning › Tuning Recommendations › For Complex Routing Logic
ROUTING_COMPLEX_LOGIC = """\
# Add all routers but tune priorities
routing_orchestrator.add_router(ConditionalRouter(rules=[...]))  # Priority: 100
routing_orchestrator.add_router(StateAnalysisRouter())  # Priority: 80
routing_orchestrator.add_router(ParallelRouter())  # Priority: 60
routing_orchestrator.add_router(PriorityRouter())  # Priority: 40

# Sort rules by priority (highest first) for short-circuit evaluation
rules = sorted(rules, key=lambda r: r.priority, reverse=True)
"""


# 2. Routing Orchestrator Tuning › Performance Tips › Tip 1: Optimize conditional rules
ROUTING_TIP_RULES = """\
# ❌ BAD: Too many rules
rules = [
    ConditionalRule(...) for i in range(100)  # 100 rules!
]

# ✅ GOOD: Consolidate rules
rules = [
    ConditionalRule(
        rule_id="error_handling",
        condition_key="error_count",
        condition_operator=">",
        condition_value=0,
        priority=100
    ),
    ConditionalRule(
        rule_id="high_priority",
        condition_key="priority",
        condition_operator=">=",
        condition_value=80,
        priority=90
    )
]  # Only essential rules
"""


# 2. Routing Orchestrator Tuning › Performance Tips › Tip 2: Cache routing decisions for identical states
ROUTING_TIP_CACHE = '''\
from functools import lru_cache

@lru_cache(maxsize=1000)
def cached_route(state_hash: str, current_task: str) -> dict:
    """Cache routing decisions for identical states."""
    state = deserialize_state(state_hash)
    return routing_orchestrator.route(state=state, current_task=current_task)

# Usage
state_hash = hash_state(state)  # Create hash of state
result = cached_route(state_hash, current_task)
'''


# 3. Context Distributor Tuning › Configuration Parameters
CONTEXT_CONFIGURATION = """\
context_distributor = ContextDistributor(
    state=state,
    metrics_collector=metrics,
    default_resource_allocation=ResourceAllocation(
        max_execution_time_ms=300000,
        max_retry_attempts=3,
        quality_threshold=0.8
    )
)
"""


# 3. Context Distributor Tuning › Tuning Recommendations › For Large Agent Count (>50 agents)
CONTEXT_BATCHES = """\
# Distribute in batches
async def distribute_in_batches(agent_assignments, batch_size=10):
    agent_ids = list(agent_assignments.keys())
    results = {}

    for i in range(0, len(agent_ids), batch_size):
        batch = {
            agent_id: agent_assignments[agent_id]
            for agent_id in agent_ids[i:i+batch_size]
        }

        batch_results = await context_distributor.distribute_agent_context(
            coordination_state=coordination_state,
            agent_assignments=batch
        )

        results.update(batch_results)

    return results
"""


# 3. Context Distributor Tuning › Tuning Recommendations › For Large Shared Intelligence
CONTEXT_SHARED_INTELLIGENCE = """\
# ❌ BAD: Include everything in shared intelligence
shared_intel = SharedIntelligence(
    type_registry=all_types,  # 1000+ types
    pattern_library=all_patterns,  # 500+ patterns
    validation_rules=all_rules,  # 300+ rules
)

# ✅ GOOD: Include only necessary intelligence
shared_intel = SharedIntelligence(
    type_registry=essential_types,  # 10-20 types
    pattern_library={"validation": ["email_validator"]},  # Only needed patterns
    validation_rules=essential_rules  # Only needed rules
)
"""


# 3. Context Distributor Tuning › Performance Tips › Tip 1: Minimize context size
CONTEXT_TIP_SIZE = """\
# Check context size
context = distributor.get_agent_context(coordination_id, agent_id)
context_size = len(context.model_dump_json())
print(f"Context size: {context_size / 1024:.2f} KB")

# If > 100KB, reduce shared intelligence
if context_size > 100 * 1024:
    # Reduce type registry, pattern library, etc.
    pass
"""


# 3. Context Distributor Tuning › Performance Tips › Tip 2: Reuse contexts for similar agents
CONTEXT_TIP_TEMPLATE = """\
# Create template context
template_context = await distributor.distribute_agent_context(
    coordination_state=coordination_state,
    agent_assignments={"template": template_assignment}
)

# Reuse for similar agents (modify only necessary fields)
for agent_id in similar_agent_ids:
    agent_context = deepcopy(template_context["template"])
    agent_context.coordination_metadata.agent_id = agent_id
    # Store context manually
"""


# 4. Dependency Resolver Tuning › Configuration Parameters
DEPENDENCY_CONFIGURATION = """\
dependency_resolver = DependencyResolver(
    signal_coordinator=signal_coordinator,
    metrics_collector=metrics,
    state=state,
    max_concurrent_resolutions=10  # Tune based on concurrency needs
)
"""


# 4. Dependency Resolver Tuning › Tuning Recommendations › For High Concurrency (>20 concurrent dependencies)
DEPENDENCY_HIGH_CONCURRENCY = """\
# Increase concurrency limit
dependency_resolver = DependencyResolver(
    signal_coordinator=signal_coordinator,
    metrics_collector=metrics,
    state=state,
    max_concurrent_resolutions=50  # Higher concurrency
)
"""


# 4. Dependency Resolver Tuning › Tuning Recommendations › For Fast Dependencies (expected <1s)
DEPENDENCY_FAST = """\
# Reduce check intervals for faster detection
dependency = Dependency(
    dependency_id="fast_resource",
    dependency_type=DependencyType.RESOURCE_AVAILABILITY,
    target="resource-1",
    timeout=5,
    metadata={"check_interval_ms": 50}  # Check every 50ms (default: 100ms)
)
"""


# 4. Dependency Resolver Tuning › Tuning Recommendations › For Slow Dependencies (expected >10s)
DEPENDENCY_SLOW = """\
# Increase check intervals to reduce CPU usage
dependency = Dependency(
    dependency_id="slow_quality_gate",
    dependency_type=DependencyType.QUALITY_GATE,
    target="gate-1",
    timeout=300,
    metadata={"check_interval_ms": 2000}  # Check every 2s (default: 500ms)
)
"""


# 4. Dependency Resolver Tuning › Performance Tips › Tip 1: Group dependencies by expected resolution time
DEPENDENCY_TIP_GROUPS = """\
# Fast dependencies (check often)
fast_deps = [
    Dependency(..., timeout=10, metadata={"check_interval_ms": 50})
    for dep_id in fast_dep_ids
]

# Slow dependencies (check less often)
slow_deps = [
    Dependency(..., timeout=300, metadata={"check_interval_ms": 2000})
    for dep_id in slow_dep_ids
]
"""


# 4. Dependency Resolver Tuning › Performance Tips › Tip 2: Use resource/quality gate caches
DEPENDENCY_TIP_PREMARK = """\
# Pre-mark resources as available before resolution
await dependency_resolver.mark_resource_available("resource-1", available=True)

# Pre-update quality gate scores
await dependency_resolver.update_quality_gate_score("coverage_gate", 0.85)

# Dependencies resolve immediately (no waiting)
"""


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


# Optimization Strategies › Strategy 1: Reduce State Size › Solution
STRATEGY_STATE_SIZE = """\
# ❌ BAD: Include everything in state
state = {
    "full_contract": large_contract_dict,  # 500KB
    "all_models": all_models_dict,  # 1MB
    "all_validators": all_validators_dict,  # 500KB
}

# ✅ GOOD: Include only summary in state
state = {
    "contract_summary": {"field_count": 10, "complexity": 0.5},
    "models_count": 5,
    "validators_count": 5,
    "completed_tasks": ["parse_contract", "generate_models"],
    "error_count": 0
}

# Store full data in ThreadSafeState separately
state_manager.set("full_contract", large_contract_dict, changed_by="agent")
"""


# Optimization Strategies › Strategy 2: Batch Operations › Solution
STRATEGY_BATCH_SIGNALS = """\
# ❌ BAD: Send signals one by one
for agent_id in agent_ids:
    await signal_coordinator.signal_coordination_event(
        coordination_id=coordination_id,
        event_type="agent_initialized",
        event_data={"agent_id": agent_id}
    )

# ✅ GOOD: Batch signal sending
await asyncio.gather(*[
    signal_coordinator.signal_coordination_event(
        coordination_id=coordination_id,
        event_type="agent_initialized",
        event_data={"agent_id": agent_id}
    )
    for agent_id in agent_ids
])
"""


# Optimization Strategies › Strategy 3: Parallel Dependency Resolution › Solution
STRATEGY_PARALLEL_DEPENDENCIES = """\
# For independent dependencies, resolve in parallel
independent_deps = [dep for dep in dependencies if not has_shared_resources(dep)]

# Resolve in parallel
results = await asyncio.gather(*[
    dependency_resolver.resolve_dependency(coordination_id, dep)
    for dep in independent_deps
])
"""


# Optimization Strategies › Strategy 4: Caching › Solution
STRATEGY_CACHING = """\
from functools import lru_cache

# Cache routing decisions
routing_cache = {}

def get_cached_routing(state_hash, current_task):
    cache_key = f"{state_hash}:{current_task}"

    if cache_key not in routing_cache:
        result = routing_orchestrator.route(state=state, current_task=current_task)
        routing_cache[cache_key] = result

    return routing_cache[cache_key]

# Clear cache periodically
if len(routing_cache) > 10000:
    routing_cache.clear()
"""


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


ALL_EXAMPLES = [
    SIGNAL_CONFIGURATION,
    SIGNAL_HIGH_VOLUME,
    SIGNAL_LOW_LATENCY,
    SIGNAL_DEBUGGING,
    SIGNAL_TIP_EVENT_DATA,
    SIGNAL_TIP_FILTERS,
    ROUTING_CONFIGURATION,
    ROUTING_HIGH_THROUGHPUT,
    ROUTING_COMPLEX_LOGIC,
    ROUTING_TIP_RULES,
    ROUTING_TIP_CACHE,
    CONTEXT_CONFIGURATION,
    CONTEXT_BATCHES,
    CONTEXT_SHARED_INTELLIGENCE,
    CONTEXT_TIP_SIZE,
    CONTEXT_TIP_TEMPLATE,
    DEPENDENCY_CONFIGURATION,
    DEPENDENCY_HIGH_CONCURRENCY,
    DEPENDENCY_FAST,
    DEPENDENCY_SLOW,
    DEPENDENCY_TIP_GROUPS,
    DEPENDENCY_TIP_PREMARK,
    ENABLE_METRICS,
    MONITOR_SIGNALS,
    MONITOR_ROUTING,
    MONITOR_CONTEXT,
    MONITOR_DEPENDENCIES,
    STRATEGY_STATE_SIZE,
    STRATEGY_BATCH_SIGNALS,
    STRATEGY_PARALLEL_DEPENDENCIES,
    STRATEGY_CACHING,
    ISSUE_SIGNAL_PROPAGATION,
    ISSUE_ROUTING_TIME,
    ISSUE_CONTEXT_DISTRIBUTION,
    ISSUE_DEPENDENCY_RESOLUTION,
]


# -- running an example ---------------------------------------------------------------------------------------

_IMPORT_RENAMES = (
    ("omninode_bridge.agents.coordination", "coordination"),
    ("omninode_bridge.agents.metrics", "coordination.metrics"),
)


def port_imports(code: str) -> str:
    """Rewrite the seed's import paths to this project's; no other line is touched."""
    lines = []
    for line in code.splitlines(keepends=True):
        if line.lstrip().startswith(("from ", "import ")):
            for old, new in _IMPORT_RENAMES:
                line = line.replace(old, new)
        lines.append(line)
    return "".join(lines)


async def run_example(code: str, scope: dict[str, Any]) -> dict[str, Any]:
    """Run ``code`` as a module body in ``scope`` (top-level ``await`` allowed) and return the scope.

    Module semantics, not a function body: names the fragment assigns are globals of ``scope``, as in the
    script or notebook the guide's fragments are written for (this is how the asyncio REPL runs its input).
    """
    compiled = compile(port_imports(code), "<seed guide example>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    outcome = types.FunctionType(compiled, scope)()
    if inspect.iscoroutine(outcome):
        await outcome
    return scope


def fill(code: str, placeholders: dict[str, str]) -> str:
    """The concrete form of a schematic example: each placeholder (which must occur) replaced, nothing else."""
    for placeholder, concrete in placeholders.items():
        assert placeholder in code, f"{placeholder!r} is not in the example"
        code = code.replace(placeholder, concrete)
    return code


def halves(code: str, marker: str = "# ✅ GOOD") -> tuple[str, str]:
    """Split an example at its "GOOD" comment into its two verbatim parts."""
    position = code.index(marker)
    return code[:position], code[position:]


def seed_scope(namespace: str, **names: Any) -> dict[str, Any]:
    """What the guide's fragments assume exists, built from real components sharing one namespace.

    Also every name ``coordination`` exports (the guide's fragments use them without importing), plus
    ``asyncio``, ``deepcopy`` and a ``logger``.
    """
    state: ThreadSafeState[Any] = ThreadSafeState(namespace=namespace)
    metrics = MetricsCollector(kafka_enabled=False, postgres_enabled=False)
    signal_coordinator = SignalCoordinator(state=state, metrics_collector=metrics)
    context_distributor = ContextDistributor(state=state, metrics_collector=metrics)
    scope: dict[str, Any] = {name: getattr(coordination, name) for name in coordination.__all__}
    scope.update(
        MetricsCollector=MetricsCollector,
        asyncio=asyncio,
        deepcopy=deepcopy,
        logger=logging.getLogger("seed_guide_example"),
        state=state,
        state_manager=state,
        metrics=metrics,
        signal_coordinator=signal_coordinator,
        routing_orchestrator=SmartRoutingOrchestrator(metrics_collector=metrics, state=state),
        context_distributor=context_distributor,
        distributor=context_distributor,
        dependency_resolver=DependencyResolver(
            signal_coordinator=signal_coordinator, metrics_collector=metrics, state=state
        ),
        # Unique per test: the metrics stream is shared by the whole test session.
        coordination_id=f"seed-{namespace}",
        agent_id="model-gen",
    )
    scope.update(names)
    return scope


def stored_metrics(metrics: MetricsCollector, name: str, coordination_id: str) -> list[float]:
    """Values of the metrics called ``name`` recorded for ``coordination_id`` (flushed or not)."""
    return [
        metric.value
        for metric in metrics.read_metrics(name)
        if coordination_id in (metric.tags.get("coordination_id"), metric.correlation_id)
    ]


def printed(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()


async def cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


# -- the examples are the guide's -----------------------------------------------------------------------------


def test_every_python_example_of_the_guide_but_the_benchmark_is_here_verbatim() -> None:
    if not SEED_GUIDE.exists():
        pytest.skip(f"the seed guide is not at {SEED_GUIDE} (set COORD_SEED_GUIDE)")
    blocks = re.findall(r"^```python\n(.*?)^```$", SEED_GUIDE.read_text(encoding="utf-8"), re.M | re.S)
    benchmark = [block for block in blocks if "async def benchmark_coordination" in block]
    assert len(benchmark) == 1
    assert [block for block in blocks if block not in benchmark] == ALL_EXAMPLES


def test_no_example_needs_any_line_changed_to_run_here() -> None:
    # None of these sections imports from omninode_bridge; `from functools import lru_cache` stays as it is.
    assert all(port_imports(example) == example for example in ALL_EXAMPLES)
    assert port_imports("from omninode_bridge.agents.metrics import MetricsCollector\nx = 1\n") == (
        "from coordination.metrics import MetricsCollector\nx = 1\n"
    )


# -- 1. Signal Coordinator Tuning -----------------------------------------------------------------------------


async def test_signal_configuration_gives_a_coordinator_that_stores_signals_and_counts_them(namespace: str) -> None:
    scope = await run_example(SIGNAL_CONFIGURATION, seed_scope(namespace))
    coordinator, cid = scope["signal_coordinator"], scope["coordination_id"]

    sent = await coordinator.signal_coordination_event(cid, "agent_initialized", {"agent_id": "model-gen"})

    assert sent is True
    [signal] = coordinator.get_signal_history(cid)
    assert signal.signal_type is SignalType.AGENT_INITIALIZED and signal.event_data == {"agent_id": "model-gen"}
    assert stored_metrics(scope["metrics"], "signals_sent", cid) == [1.0]


async def test_high_signal_volume_archives_the_newest_signals_of_the_history(namespace: str) -> None:
    archived: list[Any] = []
    scope = seed_scope(namespace, signal_count=10_001, archive_signals_to_db=archived.extend)
    cid = scope["coordination_id"]
    await scope["signal_coordinator"].emit_many(
        cid, [{"event_type": "agent_completed", "event_data": {"agent_id": f"agent-{n}"}} for n in range(5)]
    )

    await run_example(SIGNAL_HIGH_VOLUME, scope)

    # The fragment's own coordinator (history 1000) reads what the earlier one stored: the history is in Redis.
    assert [signal.event_data["agent_id"] for signal in archived] == [f"agent-{n}" for n in reversed(range(5))]
    assert scope["history"] == archived


async def test_low_latency_keeps_the_last_100_signals_and_records_no_metrics(namespace: str) -> None:
    scope = await run_example(SIGNAL_LOW_LATENCY, seed_scope(namespace))
    coordinator, cid = scope["signal_coordinator"], scope["coordination_id"]

    await coordinator.emit_many(
        cid, [{"event_type": "inter_agent_message", "event_data": {"n": n}} for n in range(150)]
    )

    history = coordinator.get_signal_history(cid)
    assert [signal.event_data["n"] for signal in history] == list(range(149, 49, -1))
    assert coordinator.metrics is None
    assert stored_metrics(scope["metrics"], "signals_sent", cid) == []


async def test_debugging_keeps_every_signal(namespace: str) -> None:
    scope = await run_example(SIGNAL_DEBUGGING, seed_scope(namespace))
    coordinator, cid = scope["signal_coordinator"], scope["coordination_id"]

    await coordinator.emit_many(
        cid, [{"event_type": "inter_agent_message", "event_data": {"n": n}} for n in range(150)]
    )

    assert len(coordinator.get_signal_history(cid)) == 150


async def test_minimal_event_data_is_stored_and_100kb_of_event_data_is_refused(namespace: str) -> None:
    big = {"rows": ["x" * 1000 for _ in range(100)]}  # about 100 KB of JSON
    bad, _good = halves(SIGNAL_TIP_EVENT_DATA)
    scope = seed_scope(namespace, large_dict_with_100kb_data=big)
    coordinator, cid = scope["signal_coordinator"], scope["coordination_id"]

    # The whole example runs; its last binding is the GOOD event data, which is stored as it is.
    await run_example(SIGNAL_TIP_EVENT_DATA, scope)
    assert await coordinator.signal_coordination_event(cid, "agent_completed", scope["event_data"]) is True
    assert coordinator.get_signal_history(cid)[0].event_data == {
        "agent_id": "model-gen",
        "result_summary": "Generated 5 models",
        "quality_score": 0.95,
        "result_ref": "s3://bucket/result.json",
    }

    # The BAD event data is over the signal size limit (64 KB by default): refused, as the seed's contract has it
    # (False, logged); emit() is the variant that raises, naming the field.
    other = f"{cid}-bad"
    await run_example(bad, scope)
    assert await coordinator.signal_coordination_event(other, "agent_completed", scope["event_data"]) is False
    with pytest.raises(PayloadTooLargeError, match="event_data"):
        await coordinator.emit(other, "agent_completed", scope["event_data"])
    assert not [key for key in keys_of(namespace) if other in key]


@pytest.mark.parametrize(("half", "delivered"), [(0, 2), (1, 1)], ids=["filter-in-code", "filter-at-source"])
async def test_subscription_filters_hand_only_completions_to_process_signal(
    namespace: str, half: int, delivered: int
) -> None:
    # The example is two alternative endless loops: each half runs on its own and is cancelled once done.
    fragment = halves(SIGNAL_TIP_FILTERS)[half]
    processed: list[Any] = []
    done = asyncio.Event()

    def process_signal(signal: Any) -> None:
        processed.append(signal)
        done.set()

    scope = seed_scope(namespace, process_signal=process_signal)
    coordinator, cid = scope["signal_coordinator"], scope["coordination_id"]
    task = asyncio.create_task(run_example(fragment, scope))
    await asyncio.sleep(0)  # the task runs up to its first read: the subscription's position is taken
    try:
        await coordinator.emit(cid, "agent_initialized", {"agent_id": "model-gen"}, sender_agent_id="model-gen")
        await coordinator.emit(cid, "inter_agent_message", {"n": 1}, recipient_agents=["packager"])
        await coordinator.emit(cid, "agent_completed", {"agent_id": "model-gen"}, sender_agent_id="model-gen")
        await asyncio.wait_for(done.wait(), WAIT_S)
    finally:
        await cancel(task)

    assert [(s.signal_type, s.sender_agent_id) for s in processed] == [(SignalType.AGENT_COMPLETED, "model-gen")]
    # Filtering in code still receives the initialisation signal; filtering at the source does not. The message
    # addressed to another agent reaches neither.
    await eventually(
        lambda: coordinator.get_signal_metrics(cid).total_signals_received == delivered, WAIT_S, "deliveries counted"
    )


# -- 2. Routing Orchestrator Tuning ---------------------------------------------------------------------------


async def test_routing_configuration_routes_and_records_decision_metrics(namespace: str) -> None:
    scope = await run_example(ROUTING_CONFIGURATION, seed_scope(namespace))
    orchestrator, cid = scope["routing_orchestrator"], scope["coordination_id"]

    decision = orchestrator.route(state={"completed_tasks": []}, current_task="generate", correlation_id=cid)

    assert decision["decision"] == "continue"
    assert orchestrator.get_stats()["total_routings"] == 1
    assert stored_metrics(scope["metrics"], "routing_decisions_count", cid) == [1.0]
    assert len(stored_metrics(scope["metrics"], "routing_decision_time_ms", cid)) == 1


def _rule(rule_id: str, priority: int, decision: RoutingDecision, key: str = "error_count") -> ConditionalRule:
    return ConditionalRule(
        rule_id=rule_id,
        name=rule_id.replace("_", " "),
        condition_key=key,
        condition_operator=">",
        condition_value=0,
        decision=decision,
        priority=priority,
    )


@pytest.mark.parametrize(
    ("example", "error", "message"),
    [
        ("ROUTING_HIGH_THROUGHPUT", InvalidInputError, r"rules\[0\].*ellipsis"),
        ("ROUTING_COMPLEX_LOGIC", InvalidInputError, r"rules\[0\].*ellipsis"),
        ("ROUTING_TIP_RULES", TypeError, "positional argument"),
        ("DEPENDENCY_TIP_GROUPS", TypeError, "dependency_type.*target"),
    ],
)
async def test_a_schematic_example_run_as_written_fails_with_an_error_that_points_at_the_placeholder(
    namespace: str, example: str, error: type[Exception], message: str
) -> None:
    scope = seed_scope(namespace, routing_count=0, fast_dep_ids=["fast-1"], slow_dep_ids=["slow-1"])

    with pytest.raises(error, match=message):
        await run_example(globals()[example], scope)


async def test_high_throughput_keeps_a_short_history_and_lifetime_statistics(namespace: str) -> None:
    # Concrete form: the placeholder `[...]` becomes a list of rules.
    scope = seed_scope(namespace, routing_count=10_001, rules=[_rule("error_handling", 100, RoutingDecision.RETRY)])
    configured = scope["routing_orchestrator"]

    await run_example(fill(ROUTING_HIGH_THROUGHPUT, {"rules=[...]": "rules=rules"}), scope)

    assert [type(router) for router in configured.router_list] == [ConditionalRouter]
    lean = scope["routing_orchestrator"]
    assert lean is not configured and lean.metrics is None and lean.router_list == []
    for n in range(150):
        lean.route(state={"step": n}, current_task=f"task-{n}")
    assert lean.get_stats()["total_routings"] == 150 and lean.get_stats()["history_size"] == 100
    lean.clear_history()
    assert lean.get_history() == [] and lean.get_stats()["total_routings"] == 150


async def test_complex_routing_uses_the_commented_priorities_and_every_router_can_win(namespace: str) -> None:
    rules = [
        _rule("slow_task", 10, RoutingDecision.BRANCH, key="execution_ms"),
        _rule("error_handling", 100, RoutingDecision.ERROR),
        _rule("retries", 50, RoutingDecision.RETRY, key="retry_count"),
    ]
    # Concrete form: the placeholder `[...]` becomes the rules that the fragment's last line sorts.
    scope = seed_scope(namespace, rules=rules)
    orchestrator = scope["routing_orchestrator"]

    await run_example(fill(ROUTING_COMPLEX_LOGIC, {"rules=[...]": "rules=rules"}), scope)

    assert [rule.priority for rule in scope["rules"]] == [100, 50, 10]
    assert {strategy.value: weight for strategy, weight in orchestrator.strategy_priority.items()} == {
        "conditional": 100,
        "state_analysis": 80,
        "parallel": 60,
        "priority": 40,
    }
    assert len(orchestrator.routers) == 4
    errors = orchestrator.route(state={"error_count": 2}, current_task="generate")
    assert (errors["decision"], errors["strategy"]) == ("error", "conditional")
    # Unlike the seed, a state analysis that found nothing does not outweigh a low priority (weakness 16).
    low = orchestrator.route(state={"task_priority": 10}, current_task="generate")
    assert (low["decision"], low["strategy"]) == ("skip", "priority")


async def test_consolidated_conditional_rules_route_by_priority(namespace: str) -> None:
    # Concrete form: `ConditionalRule(...)` gets its fields, and the GOOD rules get the two fields they omit
    # (`name` and `decision` are required here as in the seed; the example fails there too).
    concrete = fill(
        ROUTING_TIP_RULES,
        {
            "ConditionalRule(...)": (
                'ConditionalRule(rule_id=f"rule_{i}", name=f"rule {i}", condition_key="step",'
                ' condition_operator="==", condition_value=i, decision="continue")'
            ),
            'rule_id="error_handling",': 'rule_id="error_handling", name="errors", decision=RoutingDecision.RETRY,',
            'rule_id="high_priority",': 'rule_id="high_priority", name="urgent", decision=RoutingDecision.END,',
        },
    )
    scope = await run_example(concrete, seed_scope(namespace))

    assert [rule.rule_id for rule in scope["rules"]] == ["error_handling", "high_priority"]
    orchestrator = scope["routing_orchestrator"]
    orchestrator.add_router(ConditionalRouter(rules=scope["rules"]))
    assert orchestrator.route(state={"error_count": 1, "priority": 95}, current_task="t")["decision"] == "retry"
    assert orchestrator.route(state={"error_count": 0, "priority": 95}, current_task="t")["decision"] == "end"


async def test_the_good_rules_as_written_name_the_fields_they_miss(namespace: str) -> None:
    _bad, good = halves(ROUTING_TIP_RULES)

    with pytest.raises(ValidationError) as raised:
        await run_example(good, seed_scope(namespace))

    assert {error["loc"][0] for error in raised.value.errors()} == {"name", "decision"}


async def test_cached_routing_decides_once_per_state_hash(namespace: str) -> None:
    routing_state = {"completed_tasks": ["parse_contract"], "task_priority": 90}
    scope = seed_scope(
        namespace,
        state=routing_state,
        current_task="generate_models",
        hash_state=lambda value: json.dumps(value, sort_keys=True),
        deserialize_state=json.loads,
    )
    orchestrator = scope["routing_orchestrator"]
    orchestrator.add_router(PriorityRouter())

    await run_example(ROUTING_TIP_CACHE, scope)
    again = scope["cached_route"](scope["state_hash"], "generate_models")

    assert scope["result"]["decision"] == "continue" and scope["result"]["metadata"]["priority"] == 90
    assert again is scope["result"]
    assert scope["cached_route"].cache_info().hits == 1
    assert orchestrator.get_stats()["total_routings"] == 1


# -- 3. Context Distributor Tuning ----------------------------------------------------------------------------

COORDINATION_STATE = {"session_id": "session-1"}


def _assignments(count: int) -> dict[str, dict[str, Any]]:
    return {f"agent-{n:02d}": {"objective": f"Execute task {n}", "tasks": ["task1"]} for n in range(count)}


async def test_context_configuration_gives_every_agent_the_default_allocation(namespace: str) -> None:
    scope = await run_example(CONTEXT_CONFIGURATION, seed_scope(namespace))
    distributor, cid = scope["context_distributor"], scope["coordination_id"]

    contexts = await distributor.distribute_agent_context({"coordination_id": cid, "session_id": cid}, _assignments(2))

    for context in contexts.values():
        allocation = context.resource_allocation
        assert (allocation.max_execution_time_ms, allocation.max_retry_attempts) == (300000, 3)
        assert allocation.quality_threshold == 0.8
    assert distributor.get_agent_context(cid, "agent-01") == contexts["agent-01"]


async def test_distributing_in_batches_returns_every_agents_context(namespace: str) -> None:
    scope = seed_scope(namespace)
    scope["coordination_state"] = {**COORDINATION_STATE, "coordination_id": scope["coordination_id"]}
    await run_example(CONTEXT_BATCHES, scope)

    results = await scope["distribute_in_batches"](_assignments(25), batch_size=10)

    assert list(results) == list(_assignments(25))
    assert all(isinstance(context, AgentContext) for context in results.values())


async def test_distributing_in_batches_leaves_every_agents_context_retrievable(namespace: str) -> None:
    scope = seed_scope(namespace)
    cid = scope["coordination_id"]
    scope["coordination_state"] = {**COORDINATION_STATE, "coordination_id": cid}
    await run_example(CONTEXT_BATCHES, scope)

    await scope["distribute_in_batches"](_assignments(25), batch_size=10)

    assert scope["distributor"].list_coordination_contexts(cid) == list(_assignments(25))


async def test_essential_shared_intelligence_makes_a_much_smaller_context(namespace: str) -> None:
    scope = seed_scope(
        namespace,
        all_types={f"Type{n}": f"models.Type{n}" for n in range(1000)},
        all_patterns={f"pattern{n}": [f"validator_{n}"] for n in range(500)},
        all_rules={f"rule{n}": {"min_length": n} for n in range(300)},
        essential_types={f"Type{n}": f"models.Type{n}" for n in range(15)},
        essential_rules={"email": {"format": "email"}},
    )
    bad, _good = halves(CONTEXT_SHARED_INTELLIGENCE)
    distributor, cid = scope["distributor"], scope["coordination_id"]

    sizes = []
    for fragment in (bad, CONTEXT_SHARED_INTELLIGENCE):
        await run_example(fragment, scope)
        contexts = await distributor.distribute_agent_context(
            {"coordination_id": cid, "session_id": cid}, _assignments(1), shared_intelligence=scope["shared_intel"]
        )
        sizes.append(len(contexts["agent-00"].model_dump_json()))

    assert scope["shared_intel"].pattern_library == {"validation": ["email_validator"]}
    assert sizes[1] * 20 < sizes[0]


async def test_the_context_size_check_reports_kilobytes(namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    scope = seed_scope(namespace, agent_id="agent-00")
    await scope["distributor"].distribute_agent_context(
        {"coordination_id": scope["coordination_id"], "session_id": "s"}, _assignments(1)
    )

    await run_example(CONTEXT_TIP_SIZE, scope)

    assert scope["context_size"] == len(scope["context"].model_dump_json()) > 0
    assert printed(capsys) == [f"Context size: {scope['context_size'] / 1024:.2f} KB"]


async def test_reusing_a_template_context_changes_only_the_agent_id(namespace: str) -> None:
    # The seed froze CoordinationMetadata, so its own recipe failed at the assignment (SEED_API §2 item 26).
    # Here agent_id and agent_role may be reassigned (validated); the coordination identity stays frozen.
    scope = seed_scope(
        namespace,
        template_assignment={"objective": "Generate a model", "tasks": ["generate"]},
        similar_agent_ids=["model-gen-2", "model-gen-3"],
    )
    cid = scope["coordination_id"]
    scope["coordination_state"] = {**COORDINATION_STATE, "coordination_id": cid}

    await run_example(CONTEXT_TIP_TEMPLATE, scope)

    template, copy = scope["template_context"]["template"], scope["agent_context"]
    assert copy.coordination_metadata.agent_id == "model-gen-3"
    assert template.coordination_metadata.agent_id == "template"  # deepcopy: the template is untouched
    assert copy.agent_assignment == template.agent_assignment
    assert copy.coordination_metadata.coordination_id == cid
    # "Store context manually":
    scope["distributor"].store_agent_context(copy)
    assert scope["distributor"].list_coordination_contexts(cid) == ["template", "model-gen-3"]
    with pytest.raises(ValidationError, match="agent_id"):
        copy.coordination_metadata.agent_id = "not a valid id!"
    with pytest.raises(ValidationError, match="frozen"):
        copy.coordination_metadata.coordination_id = "elsewhere"


# -- 4. Dependency Resolver Tuning ----------------------------------------------------------------------------


async def _resolves_once_marked(scope: dict[str, Any], dependency: Dependency) -> DependencyResolutionResult:
    """Start waiting on a resource dependency, then make the resource available; return the result."""
    resolver, cid = scope["dependency_resolver"], scope["coordination_id"]
    waiting = asyncio.create_task(resolver.resolve_dependency(cid, dependency))
    await eventually(lambda: resolver.get_pending_dependencies_count(cid) >= 1, WAIT_S, "registered")
    await resolver.mark_resource_available(dependency.target, available=True)
    return await asyncio.wait_for(waiting, WAIT_S)


@pytest.mark.parametrize(("example", "limit"), [("DEPENDENCY_CONFIGURATION", 10), ("DEPENDENCY_HIGH_CONCURRENCY", 50)])
async def test_a_configured_resolver_resolves_on_the_event(namespace: str, example: str, limit: int) -> None:
    scope = await run_example(globals()[example], seed_scope(namespace))

    result = await _resolves_once_marked(
        scope, Dependency("db_ready", DependencyType.RESOURCE_AVAILABILITY, "db", timeout=WAIT_S)
    )

    assert scope["dependency_resolver"].max_concurrent_resolutions == limit
    assert (result.success, result.status) == (True, DependencyStatus.RESOLVED)
    assert scope["dependency_resolver"].state is scope["state"]


async def test_a_fast_resource_dependency_resolves_when_the_resource_is_marked(namespace: str) -> None:
    scope = await run_example(DEPENDENCY_FAST, seed_scope(namespace))
    dependency = scope["dependency"]
    assert (dependency.timeout, dependency.metadata) == (5, {"check_interval_ms": 50})

    result = await _resolves_once_marked(scope, dependency)

    assert result.success and dependency.status is DependencyStatus.RESOLVED
    status = scope["dependency_resolver"].get_dependency_status(scope["coordination_id"], "fast_resource")
    assert status["resolved"] is True and status["target"] == "resource-1"


async def test_a_slow_quality_gate_resolves_when_its_score_is_updated(namespace: str) -> None:
    scope = await run_example(DEPENDENCY_SLOW, seed_scope(namespace))
    resolver, cid, dependency = scope["dependency_resolver"], scope["coordination_id"], scope["dependency"]
    assert (dependency.timeout, dependency.metadata) == (300, {"check_interval_ms": 2000})

    waiting = asyncio.create_task(resolver.resolve_dependency(cid, dependency))
    await eventually(lambda: resolver.get_pending_dependencies_count(cid) == 1, WAIT_S, "registered")
    await resolver.update_quality_gate_score("gate-1", 0.79)  # below the default threshold 0.8
    assert resolver.get_dependency_status(cid, "slow_quality_gate")["status"] == "pending"
    await resolver.update_quality_gate_score("gate-1", 0.9)
    result = await asyncio.wait_for(waiting, WAIT_S)

    # Resolved by the score update itself (an event), not by the next 2 s check.
    assert result.success and resolver.get_dependency_status(cid, "slow_quality_gate")["resolved"] is True


async def test_grouped_dependencies_resolve_together(namespace: str) -> None:
    # Concrete form: the `...` placeholders become an id, a type and a target.
    concrete = fill(
        DEPENDENCY_TIP_GROUPS,
        {
            "Dependency(...,": (
                "Dependency(dependency_id=dep_id, dependency_type=DependencyType.RESOURCE_AVAILABILITY, target=dep_id,"
            )
        },
    )
    scope = seed_scope(namespace, fast_dep_ids=["fast-1", "fast-2"], slow_dep_ids=["slow-1"])
    await run_example(concrete, scope)
    resolver, cid = scope["dependency_resolver"], scope["coordination_id"]
    dependencies = scope["fast_deps"] + scope["slow_deps"]
    assert [(dep.timeout, dep.metadata["check_interval_ms"]) for dep in dependencies] == [
        (10, 50),
        (10, 50),
        (300, 2000),
    ]

    waiting = asyncio.gather(*(resolver.resolve_dependency(cid, dep) for dep in dependencies))
    await eventually(lambda: resolver.get_pending_dependencies_count(cid) == 3, WAIT_S, "registered")
    for dep in dependencies:
        await resolver.mark_resource_available(dep.target)
    results = await asyncio.wait_for(waiting, WAIT_S)

    assert [(result.dependency_id, result.success) for result in results] == [
        ("fast-1", True),
        ("fast-2", True),
        ("slow-1", True),
    ]


async def test_pre_marked_resources_and_gates_resolve_dependencies_at_registration(namespace: str) -> None:
    scope = await run_example(DEPENDENCY_TIP_PREMARK, seed_scope(namespace))
    resolver, cid, state = scope["dependency_resolver"], scope["coordination_id"], scope["state"]
    # The seed's state keys hold the marks, so any process sees them.
    assert state.get("resource_resource-1_available") is True
    assert state.get("quality_gate_coverage_gate_score") == 0.85

    resource = await resolver.resolve_dependency(
        cid, Dependency("needs_resource", DependencyType.RESOURCE_AVAILABILITY, "resource-1")
    )
    gate = await resolver.resolve_dependency(
        cid, Dependency("needs_coverage", DependencyType.QUALITY_GATE, "coverage_gate")
    )

    assert resource.success and gate.success
    for dependency_id in ("needs_resource", "needs_coverage"):
        status = resolver.get_dependency_status(cid, dependency_id)
        # "Dependencies resolve immediately (no waiting)": resolved in the registration itself.
        assert status["status"] == "resolved" and status["wait_ms"] == 0


# -- Monitoring & Metrics -------------------------------------------------------------------------------------


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
        {"coordination_id": cid, "session_id": cid}, _assignments(4)
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


# -- Optimization Strategies ----------------------------------------------------------------------------------


async def test_a_summary_state_routes_and_the_full_data_is_kept_in_the_shared_state(namespace: str) -> None:
    contract = {"fields": {f"field_{n}": {"type": "str", "max_length": n} for n in range(2000)}}
    scope = seed_scope(
        namespace,
        large_contract_dict=contract,
        all_models_dict={"User": "class User: ..."},
        all_validators_dict={"User": "def validate_user(): ..."},
    )
    state_manager = scope["state_manager"]

    await run_example(STRATEGY_STATE_SIZE, scope)

    assert state_manager.get("full_contract") == contract
    [change] = state_manager.get_history("full_contract")
    assert (change.operation, change.changed_by, change.version) == ("set", "agent", 1)
    decision = scope["routing_orchestrator"].route(state=scope["state"], current_task="generate_validators")
    assert decision["decision"] == "continue"
    assert scope["routing_orchestrator"].get_history()[0].context.state_summary["key_count"] == 5


async def test_sequential_and_gathered_signals_are_all_stored(namespace: str) -> None:
    agent_ids = ["model-gen", "validator-gen", "test-gen", "packager"]
    scope = seed_scope(namespace, agent_ids=agent_ids)
    coordinator, cid = scope["signal_coordinator"], scope["coordination_id"]

    await run_example(STRATEGY_BATCH_SIGNALS, scope)

    history = coordinator.get_signal_history(cid)
    assert {signal.signal_type for signal in history} == {SignalType.AGENT_INITIALIZED}
    assert Counter(signal.event_data["agent_id"] for signal in history) == dict.fromkeys(agent_ids, 2)
    assert coordinator.get_signal_metrics(cid).total_signals_sent == 8


async def test_independent_dependencies_resolve_in_parallel(namespace: str) -> None:
    dependencies = [
        Dependency(f"needs_{name}", DependencyType.RESOURCE_AVAILABILITY, name, timeout=WAIT_S)
        for name in ("db", "cache", "queue", "shared-db")
    ]
    scope = seed_scope(namespace, dependencies=dependencies, has_shared_resources=lambda dep: dep.target == "shared-db")
    resolver, cid = scope["dependency_resolver"], scope["coordination_id"]
    for name in ("db", "cache", "queue"):
        await resolver.mark_resource_available(name)

    await run_example(STRATEGY_PARALLEL_DEPENDENCIES, scope)

    assert [(result.dependency_id, result.success) for result in scope["results"]] == [
        ("needs_db", True),
        ("needs_cache", True),
        ("needs_queue", True),
    ]
    assert resolver.list_dependencies(cid) == dict.fromkeys(["needs_cache", "needs_db", "needs_queue"], "resolved")


async def test_the_routing_cache_routes_once_per_state_hash_and_task(namespace: str) -> None:
    scope = seed_scope(namespace, state={"completed_tasks": [], "task_priority": 10})
    orchestrator = scope["routing_orchestrator"]
    orchestrator.add_router(PriorityRouter())

    await run_example(STRATEGY_CACHING, scope)
    first = scope["get_cached_routing"]("hash-1", "generate")
    second = scope["get_cached_routing"]("hash-1", "generate")

    assert first is second and first["decision"] == "skip"
    assert list(scope["routing_cache"]) == ["hash-1:generate"]
    assert orchestrator.get_stats()["total_routings"] == 1


# -- Common Performance Issues --------------------------------------------------------------------------------


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
    orchestrator.add_router(ConditionalRouter(rules=[_rule("error_handling", 100, RoutingDecision.RETRY)]))
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
        {"coordination_id": scope["coordination_id"], "session_id": "s"}, _assignments(2)
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


# -- docs/seed-compatibility.md -------------------------------------------------------------------------------

COMPATIBILITY_DOC = Path(__file__).resolve().parents[2] / "docs" / "seed-compatibility.md"


async def test_the_python_examples_of_the_compatibility_doc_run(namespace: str) -> None:
    imports, template_copy = re.findall(
        r"^ *```python\n(.*?)^ *```$", COMPATIBILITY_DOC.read_text(encoding="utf-8"), re.M | re.S
    )
    scope = seed_scope(namespace, agent_id="model-gen-2")
    distributor, cid = scope["distributor"], scope["coordination_id"]
    contexts = await distributor.distribute_agent_context(
        {"coordination_id": cid, "session_id": cid}, {"template": {"objective": "Generate", "tasks": ["generate"]}}
    )
    scope["template"] = contexts["template"]

    await run_example(imports, {})
    await run_example(textwrap.dedent(template_copy), scope)

    stored = distributor.get_agent_context(cid, "model-gen-2")
    assert stored is not None
    assert (stored.coordination_metadata.agent_id, stored.coordination_metadata.agent_role) == ("model-gen-2",) * 2
    assert stored.agent_assignment == scope["template"].agent_assignment
    assert scope["template"].coordination_metadata.agent_id == "template"
