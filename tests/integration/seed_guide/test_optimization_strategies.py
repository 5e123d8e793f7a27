"""The seed guide's section "Optimization Strategies": its examples, verbatim, do what they say."""

from __future__ import annotations

from collections import Counter

from coordination import (
    Dependency,
    DependencyType,
    PriorityRouter,
    SignalType,
)
from tests.integration.seed_guide.guide import (
    WAIT_S,
    python_blocks,
    run_example,
    seed_scope,
)

SECTION = "Optimization Strategies"

# -- the section's examples, verbatim (a comment gives each one's place in the section) --------------------

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


EXAMPLES = [
    STRATEGY_STATE_SIZE,
    STRATEGY_BATCH_SIGNALS,
    STRATEGY_PARALLEL_DEPENDENCIES,
    STRATEGY_CACHING,
]


def test_the_examples_are_the_sections_own_verbatim(guide: str) -> None:
    assert python_blocks(guide, SECTION) == EXAMPLES


# -- what each example does --------------------------------------------------------------------------------


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
