"""The seed guide's section "4. Dependency Resolver Tuning": its examples, verbatim, do what they say."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from coordination import (
    Dependency,
    DependencyResolutionResult,
    DependencyStatus,
    DependencyType,
)
from tests.helpers import eventually
from tests.integration.seed_guide.guide import (
    WAIT_S,
    fill,
    python_blocks,
    run_example,
    seed_scope,
)

SECTION = "4. Dependency Resolver Tuning"

# -- the section's examples, verbatim (a comment gives each one's place in the section) --------------------

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


EXAMPLES = [
    DEPENDENCY_CONFIGURATION,
    DEPENDENCY_HIGH_CONCURRENCY,
    DEPENDENCY_FAST,
    DEPENDENCY_SLOW,
    DEPENDENCY_TIP_GROUPS,
    DEPENDENCY_TIP_PREMARK,
]


def test_the_examples_are_the_sections_own_verbatim(guide: str) -> None:
    assert python_blocks(guide, SECTION) == EXAMPLES


# -- what each example does --------------------------------------------------------------------------------


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


async def test_the_schematic_group_example_run_as_written_fails_with_an_error_naming_the_missing_arguments(
    namespace: str,
) -> None:
    scope = seed_scope(namespace, fast_dep_ids=["fast-1"], slow_dep_ids=["slow-1"])

    with pytest.raises(TypeError, match=r"dependency_type.*target"):
        await run_example(DEPENDENCY_TIP_GROUPS, scope)


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
