"""The seed's ``pending_dependencies`` / ``resolved_dependencies``: live mappings over Redis, used as the seed's
own tests use them (the assignments below are theirs), with the same effect on the status queries."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from coordination.dependencies import DependencyResolver
from coordination.errors import InvalidIdError, InvalidInputError
from coordination.models.dependencies import Dependency, DependencyStatus, DependencyType
from coordination.signals import SignalCoordinator
from coordination.state import ThreadSafeState
from tests.conftest import keys_of

CID = "coord-123"


@pytest.fixture
def state(namespace: str) -> ThreadSafeState[Any]:
    return ThreadSafeState(namespace=namespace)


@pytest.fixture
def resolver(state: ThreadSafeState[Any]) -> DependencyResolver:
    return DependencyResolver(SignalCoordinator(state), state=state)


def completion(dep_id: str, agent: str) -> Dependency:
    return Dependency(dep_id, DependencyType.AGENT_COMPLETION, agent, metadata={"agent_id": agent})


def test_a_new_resolver_has_no_pending_or_resolved_dependencies() -> None:
    resolver = DependencyResolver(SignalCoordinator(ThreadSafeState()))  # a private state, as the seed's default

    assert len(resolver.resolved_dependencies) == 0
    assert len(resolver.pending_dependencies) == 0
    assert CID not in resolver.pending_dependencies


def test_an_assigned_dependency_marked_resolved_reports_resolved(resolver: DependencyResolver) -> None:
    # The seed's test_get_dependency_status, step by step.
    dependency = completion("model_gen_complete", "agent-model-gen")
    resolver.pending_dependencies[CID] = [dependency]
    dependency.mark_resolved()
    resolver._mark_dependency_resolved(CID, "model_gen_complete")

    status = resolver.get_dependency_status(CID, "model_gen_complete")

    assert status["dependency_id"] == "model_gen_complete"
    assert status["resolved"] is True
    assert status["status"] == "resolved"
    assert status["dependency_type"] == "agent_completion"
    assert status["resolved_at"] is not None


def test_assigned_dependencies_keep_their_status_for_the_pending_count(resolver: DependencyResolver) -> None:
    # The seed's test_get_pending_dependencies_count.
    dep1 = Dependency("dep1", DependencyType.AGENT_COMPLETION, "agent1")
    dep2 = Dependency("dep2", DependencyType.AGENT_COMPLETION, "agent2")
    dep2.mark_resolved()

    resolver.pending_dependencies[CID] = [dep1, dep2]

    assert resolver.get_pending_dependencies_count(CID) == 1
    stored = {dep.dependency_id: dep for dep in resolver.pending_dependencies[CID]}
    assert stored["dep1"].status is DependencyStatus.PENDING and stored["dep1"].target == "agent1"
    assert stored["dep2"].status is DependencyStatus.RESOLVED and stored["dep2"].resolved_at is not None
    assert dict(resolver.resolved_dependencies[CID]) == {"dep2": True}


def test_clearing_removes_what_was_assigned_to_both_mappings(resolver: DependencyResolver, namespace: str) -> None:
    # The seed's test_clear_coordination_dependencies.
    resolver.resolved_dependencies[CID] = {"dep1": True, "dep2": True}
    resolver.pending_dependencies[CID] = []
    assert CID in resolver.resolved_dependencies
    assert resolver.get_dependency_status(CID, "dep1") == {
        "dependency_id": "dep1",
        "resolved": True,  # recorded, although never registered: the seed's answer
        "status": "unknown",
        "error_message": "Dependency not found",
    }

    resolver.clear_coordination_dependencies(CID)

    assert CID not in resolver.resolved_dependencies
    assert CID not in resolver.pending_dependencies
    assert resolver.get_dependency_status(CID, "dep1")["resolved"] is False
    assert [key for key in keys_of(namespace) if CID in key and "coordinations" not in key] == []


async def test_resolving_an_agents_dependencies_fills_both_mappings(resolver: DependencyResolver) -> None:
    # The seed's test_resolve_agent_dependencies_success, with its three kinds of dependency satisfied first.
    await resolver.signal_coordinator.signal_event(CID, "agent_completed", {"agent_id": "agent-model-gen"})
    await resolver.mark_resource_available("database_connection", available=True)
    await resolver.update_quality_gate_score("coverage_gate", score=0.9)
    agent_context = {
        "agent_id": "agent-validator-gen",
        "dependencies": [
            {"id": "model", "type": "agent_completion", "target": "agent-model-gen", "timeout": 5},
            {"id": "db", "type": "resource_availability", "target": "database_connection", "timeout": 5},
            {"id": "coverage", "type": "quality_gate", "target": "coverage_gate", "timeout": 5},
        ],
    }

    assert await resolver.resolve_agent_dependencies(CID, agent_context) is True

    assert len(resolver.pending_dependencies[CID]) == 3
    assert len(resolver.resolved_dependencies[CID]) == 3
    assert list(resolver.pending_dependencies) == [CID]


def test_the_mappings_show_what_redis_holds_to_every_resolver_of_the_namespace(namespace: str) -> None:
    writer = DependencyResolver(SignalCoordinator(ThreadSafeState(namespace=namespace)))
    reader = DependencyResolver(SignalCoordinator(ThreadSafeState(namespace=namespace)))

    writer.pending_dependencies[CID] = [completion("d1", "builder")]
    writer.resolved_dependencies[CID] = {"elsewhere": True}

    assert [dep.dependency_id for dep in reader.pending_dependencies[CID]] == ["d1"]
    assert reader.resolved_dependencies[CID] == {"elsewhere": True}
    assert reader.get_pending_dependencies_count(CID) == 1


def test_assigning_a_list_replaces_the_coordinations_dependencies(resolver: DependencyResolver) -> None:
    resolver.pending_dependencies[CID] = [completion("d1", "a1"), completion("d2", "a2")]

    resolver.pending_dependencies[CID] = [completion("d2", "a2")]

    assert [dep.dependency_id for dep in resolver.pending_dependencies[CID]] == ["d2"]
    assert resolver.get_dependency_status(CID, "d1")["status"] == "unknown"
    assert resolver.get_pending_dependencies_count(CID) == 1


async def test_marking_a_registered_dependency_resolved_releases_its_waiter(resolver: DependencyResolver) -> None:
    dependency = completion("d1", "never-finishes")
    waiter = asyncio.create_task(resolver.resolve_dependency(CID, dependency))
    while CID not in resolver.pending_dependencies:
        await asyncio.sleep(0.01)

    resolver.resolved_dependencies[CID] = {}  # an empty dict is assignable, as in the seed
    resolver.resolved_dependencies[CID]["d1"] = True

    result = await asyncio.wait_for(waiter, 5)
    assert result.success is True and dependency.status is DependencyStatus.RESOLVED
    assert resolver.get_dependency_status(CID, "d1")["status"] == "resolved"
    assert resolver.get_pending_dependencies_count(CID) == 0


def test_deleting_from_the_mappings_forgets_that_part(resolver: DependencyResolver) -> None:
    resolver.pending_dependencies[CID] = [completion("d1", "a1")]
    resolver.resolved_dependencies[CID] = {"x": True}

    del resolver.resolved_dependencies[CID]["x"]
    assert CID not in resolver.resolved_dependencies
    del resolver.pending_dependencies[CID]
    assert CID not in resolver.pending_dependencies
    with pytest.raises(KeyError):
        resolver.pending_dependencies[CID]
    with pytest.raises(KeyError):
        del resolver.resolved_dependencies[CID]


@pytest.mark.parametrize(
    ("assign", "field"),
    [
        (lambda r: r.pending_dependencies.__setitem__(CID, [completion("ok", "a"), "x"]), f"[{CID!r}][1]"),
        (lambda r: r.pending_dependencies.__setitem__(CID, [completion("bad id", "a")]), "dependency_id"),
        (lambda r: r.resolved_dependencies.__setitem__(CID, {"d1": "yes"}), "['d1']"),
        (lambda r: r.resolved_dependencies.__setitem__(CID, ["d1"]), f"resolved_dependencies[{CID!r}]"),
        (lambda r: r.resolved_dependencies.__setitem__("a:b", {"d1": True}), "coordination_id"),
    ],
)
def test_bad_assignments_are_refused_naming_the_field_and_write_nothing(
    resolver: DependencyResolver, namespace: str, assign: Any, field: str
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        assign(resolver)

    assert field in raised.value.field
    assert keys_of(namespace) == []


def test_a_resolver_without_a_state_to_use_is_refused_naming_state() -> None:
    class ForeignCoordinator:  # satisfies ISignalCoordinator, but has no state
        async def signal_event(self, *args: Any, **kwargs: Any) -> None:
            pass

        async def check_agent_completion(self, *args: Any, **kwargs: Any) -> bool:
            return False

        async def get_coordination_signals(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
            return []

    with pytest.raises(InvalidInputError) as raised:
        DependencyResolver(ForeignCoordinator())
    assert raised.value.field == "state"

    resolver = DependencyResolver(ForeignCoordinator(), state=ThreadSafeState())
    with pytest.raises(InvalidIdError):
        resolver.pending_dependencies["a:b"] = []
