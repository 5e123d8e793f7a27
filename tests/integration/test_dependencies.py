"""DependencyResolver: dependencies in Redis, resolved by events (single process)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from coordination import dependencies as dependencies_module
from coordination.dependencies import DependencyResolver
from coordination.dependency_events import waiting_count
from coordination.errors import DependencyTimeoutError, InvalidIdError, InvalidInputError
from coordination.metrics.collector import MetricsCollector
from coordination.models.dependencies import (
    AgentCompletionConfig,
    Dependency,
    DependencyStatus,
    DependencyType,
    QualityGateConfig,
    ResourceAvailabilityConfig,
)
from coordination.models.seed import SeedCompatibilityWarning, forget_warnings
from coordination.signals import SignalCoordinator
from coordination.state import ThreadSafeState
from coordination.store.connection import sync_client
from coordination.store.keys import CoordinationKeys, dependency_waiters
from tests.conftest import keys_of
from tests.helpers import eventually

CID = "coord-deps"
LONG = 30.0  # a time-out that is never reached when the test passes
# How long an event may take to resolve its waiters here: far below the 5 s re-check interval the event tests
# use (so only the event can meet it), with room for a loaded machine. A correctness bound, not a benchmark.
EVENT_BOUND = 2.0


@pytest.fixture
def state(namespace: str) -> ThreadSafeState[Any]:
    return ThreadSafeState(namespace=namespace)


@pytest.fixture
def coordinator(state: ThreadSafeState[Any]) -> SignalCoordinator:
    return SignalCoordinator(state)


@pytest.fixture
def resolver(coordinator: SignalCoordinator) -> DependencyResolver:
    return DependencyResolver(coordinator)


def resource(dep_id: str, resource_id: str = "db", timeout: float = LONG, **metadata: Any) -> Dependency:
    return Dependency(dep_id, DependencyType.RESOURCE_AVAILABILITY, resource_id, timeout=timeout, metadata=metadata)


def gate(dep_id: str, gate_id: str = "coverage", timeout: float = LONG, **metadata: Any) -> Dependency:
    return Dependency(dep_id, DependencyType.QUALITY_GATE, gate_id, timeout=timeout, metadata=metadata)


def completion(dep_id: str, agent: str = "builder", timeout: float = LONG, **metadata: Any) -> Dependency:
    return Dependency(dep_id, DependencyType.AGENT_COMPLETION, agent, timeout=timeout, metadata=metadata)


async def waiting(resolver: DependencyResolver, dependency: Dependency) -> asyncio.Task[Any]:
    """Start resolving ``dependency`` and return once it is registered and waiting."""
    task = asyncio.create_task(resolver.resolve_dependency(CID, dependency))
    await eventually(
        lambda: resolver.get_dependency_status(CID, dependency.dependency_id)["status"] == "pending",
        message=f"{dependency.dependency_id} registered",
    )
    return task


# -- resolution by events ------------------------------------------------------------------------------------


async def test_marking_a_resource_available_resolves_its_waiters_at_once(resolver: DependencyResolver) -> None:
    # A long re-check interval: only the event can resolve these within the test's bound.
    first = await waiting(resolver, resource("d1", check_interval_ms=5000))
    second = await waiting(resolver, resource("d2", check_interval_ms=5000))

    marked = time.monotonic()
    await resolver.mark_resource_available("db")
    results = await asyncio.wait_for(asyncio.gather(first, second), EVENT_BOUND)

    assert time.monotonic() - marked < EVENT_BOUND
    assert [r.success for r in results] == [True, True]
    assert [r.status for r in results] == [DependencyStatus.RESOLVED] * 2
    assert resolver.get_dependency_status(CID, "d1")["status"] == "resolved"


async def test_marking_a_resource_unavailable_resolves_nothing(resolver: DependencyResolver) -> None:
    task = await waiting(resolver, resource("d1", check_interval_ms=5000))

    await resolver.mark_resource_available("db", False)
    await resolver.mark_resource_available("other-db")

    assert resolver.get_dependency_status(CID, "d1")["status"] == "pending"
    await resolver.mark_resource_available("db")
    assert (await asyncio.wait_for(task, EVENT_BOUND)).success


async def test_a_quality_gate_resolves_when_its_score_reaches_the_threshold(resolver: DependencyResolver) -> None:
    task = await waiting(resolver, gate("g1", threshold=0.9, check_interval_ms=5000))

    await resolver.update_quality_gate_score("coverage", 0.85)
    assert resolver.get_dependency_status(CID, "g1")["status"] == "pending"
    await resolver.update_quality_gate_score("coverage", 0.9)

    assert (await asyncio.wait_for(task, EVENT_BOUND)).success


async def test_the_default_quality_gate_threshold_is_0_8(resolver: DependencyResolver) -> None:
    await resolver.update_quality_gate_score("coverage", 0.79)
    task = await waiting(resolver, gate("g1"))

    await resolver.update_quality_gate_score("coverage", 0.8)

    assert (await asyncio.wait_for(task, EVENT_BOUND)).success


async def test_an_agent_completed_signal_from_the_agent_resolves_its_waiters(
    resolver: DependencyResolver, coordinator: SignalCoordinator
) -> None:
    task = await waiting(resolver, completion("c1"))

    await coordinator.signal_coordination_event(CID, "agent_completed", {}, sender_agent_id="builder")

    assert (await asyncio.wait_for(task, EVENT_BOUND)).success


async def test_an_agent_completed_signal_naming_the_agent_in_its_data_resolves_its_waiters(
    resolver: DependencyResolver, coordinator: SignalCoordinator
) -> None:
    task = await waiting(resolver, completion("c1", "tester"))
    other = await waiting(resolver, completion("c2", "builder"))

    await coordinator.signal_coordination_event(CID, "agent_completed", {"agent_id": "tester"})

    assert (await asyncio.wait_for(task, EVENT_BOUND)).success
    assert resolver.get_dependency_status(CID, "c2")["status"] == "pending"
    other.cancel()
    await asyncio.gather(other, return_exceptions=True)


async def test_metadata_agent_id_overrides_the_target_of_an_agent_completion(
    resolver: DependencyResolver, coordinator: SignalCoordinator
) -> None:
    dependency = completion("c1", "placeholder", **AgentCompletionConfig(agent_id="builder").to_metadata())
    task = await waiting(resolver, dependency)

    await coordinator.emit(CID, "agent_completed", {}, "builder")

    assert (await asyncio.wait_for(task, EVENT_BOUND)).success


async def test_a_completion_in_another_coordination_does_not_resolve(
    resolver: DependencyResolver, coordinator: SignalCoordinator
) -> None:
    task = await waiting(resolver, completion("c1"))

    await coordinator.emit("another-coordination", "agent_completed", {}, "builder")

    assert resolver.get_dependency_status(CID, "c1")["status"] == "pending"
    await coordinator.emit(CID, "agent_completed", {}, "builder")
    assert (await asyncio.wait_for(task, EVENT_BOUND)).success


async def test_a_failed_completion_fails_a_dependency_that_requires_success(
    resolver: DependencyResolver, coordinator: SignalCoordinator
) -> None:
    strict = await waiting(resolver, completion("strict"))
    lenient = await waiting(resolver, completion("lenient", require_success=False))

    await coordinator.emit(CID, "agent_completed", {"agent_id": "builder", "error": "tests failed"})

    failed, passed = await asyncio.wait_for(asyncio.gather(strict, lenient), EVENT_BOUND)
    assert (failed.success, failed.status) == (False, DependencyStatus.FAILED)
    assert failed.error_message
    assert (passed.success, passed.status) == (True, DependencyStatus.RESOLVED)
    assert resolver.get_dependency_status(CID, "strict")["status"] == "failed"


async def test_a_dependency_registered_after_its_condition_holds_resolves_immediately(
    resolver: DependencyResolver, coordinator: SignalCoordinator
) -> None:
    await resolver.mark_resource_available("db")
    await resolver.update_quality_gate_score("coverage", 0.95)
    await coordinator.emit(CID, "agent_completed", {"agent_id": "builder"})

    for dependency in (resource("r"), gate("g"), completion("c")):
        result = await asyncio.wait_for(resolver.resolve_dependency(CID, dependency), EVENT_BOUND)
        assert result.success, dependency.dependency_id
        assert dependency.status is DependencyStatus.RESOLVED
        assert dependency.resolved_at is not None


async def test_a_dependency_settled_at_registration_is_stored_as_one_settled_by_its_event(
    resolver: DependencyResolver, state: ThreadSafeState[Any]
) -> None:
    # Registered before the resource is available, then settled by the event; and registered afterwards.
    owner = {"agent_id": "consumer"}
    early = {"dependency_id": "early", "type": "resource_availability", "target": "db", "timeout": LONG}
    late = {**early, "dependency_id": "late"}
    task = asyncio.create_task(resolver.resolve_agent_dependencies(CID, {**owner, "dependencies": [early]}))
    await eventually(lambda: resolver.get_dependency_status(CID, "early")["status"] == "pending", message="early")
    await resolver.mark_resource_available("db")
    assert await asyncio.wait_for(task, EVENT_BOUND) is True
    assert await resolver.resolve_agent_dependencies(CID, {**owner, "dependencies": [late]}) is True

    client, keys = sync_client(), state.store_keys
    records = [client.hgetall(keys.coordination(CID).dependency(name)) for name in ("early", "late")]
    varying = {"id", "registered_ms", "deadline_ms", "resolved_ms", "resolved_by"}
    assert [list(record) for record in records] == [list(records[0])] * 2  # the same fields, in the same order
    assert [{k: v for k, v in r.items() if k not in varying} for r in records] == [
        {k: v for k, v in records[0].items() if k not in varying}
    ] * 2
    assert records[1]["status"] == "resolved" and records[1]["resolved_by"] == "registration"
    assert int(records[1]["deadline_ms"]) - int(records[1]["registered_ms"]) == int(LONG * 1000)
    waiters, _ = dependency_waiters(keys, CID, "late", "resource_availability", "db", None)
    assert client.scard(waiters) == 0 and client.zcard(keys.due) == 0  # neither set was entered
    assert resolver.get_pending_dependencies_count(CID) == 0
    assert client.hgetall(keys.coordination(CID).agent_pending) == {"consumer": "0"}

    # A caller that counted the dependency already (as a pipeline counts an agent's list first): counted down.
    client.hset(keys.coordination(CID).agent_pending, "counted", 1)
    settled = resolver.register_sync(CID, resource("pre", "db"), owner="counted", precounted=True)
    assert settled is not None and (settled.status, settled.ready_agent) == ("resolved", "counted")
    assert client.hget(keys.coordination(CID).agent_pending, "counted") == "0"


def waiting_pipeline_agent(state: ThreadSafeState[Any], agent_id: str) -> CoordinationKeys:
    """Make ``agent_id`` a pipeline agent waiting in a running coordination CID (made ready, it is queued to run)."""
    ck = state.store_keys.coordination(CID)
    sync_client().hset(ck.meta, "status", "running")
    sync_client().hset(ck.agent(agent_id), mapping={"status": "waiting", "attempt": 0})
    return ck


async def test_an_owner_is_not_made_ready_while_a_later_dependency_of_its_list_is_pending(
    resolver: DependencyResolver, state: ThreadSafeState[Any]
) -> None:
    client, ck = sync_client(), waiting_pipeline_agent(state, "consumer")
    await resolver.mark_resource_available("db")
    ready_first = {"dependency_id": "ready", "type": "resource_availability", "target": "db", "timeout": LONG}
    pending_second = {**ready_first, "dependency_id": "pending", "target": "cache"}

    task = asyncio.create_task(
        resolver.resolve_agent_dependencies(
            CID, {"agent_id": "consumer", "dependencies": [ready_first, pending_second]}
        )
    )
    await eventually(lambda: resolver.get_dependency_status(CID, "pending")["status"] == "pending", message="pending")

    assert client.hget(ck.agent("consumer"), "status") == "waiting"  # not queued half-way through its list
    assert client.hget(ck.agent_pending, "consumer") == "1"
    assert client.zscore(state.store_keys.agents_due, f"{CID}/consumer") is None

    await resolver.mark_resource_available("cache")
    assert await asyncio.wait_for(task, EVENT_BOUND) is True
    assert client.hget(ck.agent_pending, "consumer") == "0"
    assert client.hget(ck.agent("consumer"), "status") == "queued"  # ready once the last one is met


async def test_an_owner_whose_whole_list_holds_is_made_ready_once(
    resolver: DependencyResolver, state: ThreadSafeState[Any]
) -> None:
    client, ck = sync_client(), waiting_pipeline_agent(state, "consumer")
    for name in ("db", "cache"):
        await resolver.mark_resource_available(name)
    specs = [
        {"dependency_id": name, "type": "resource_availability", "target": name, "timeout": LONG}
        for name in ("db", "cache", "db")  # the last repeats the first: registered once
    ]

    assert await resolver.resolve_agent_dependencies(CID, {"agent_id": "consumer", "dependencies": specs}) is True

    assert client.hget(ck.agent_pending, "consumer") == "0"
    assert client.hget(ck.agent("consumer"), "status") == "queued"
    assert client.hget(ck.agent("consumer"), "attempt") == "1"  # one attempt queued, not one per dependency
    assert client.smembers(ck.dependencies) == {"db", "cache"}


async def test_a_condition_changed_without_an_event_is_seen_at_the_next_check(
    resolver: DependencyResolver, state: ThreadSafeState[Any]
) -> None:
    # Seed weakness 22: the resolver's own cache hid external writes. Here Redis is the only truth.
    await resolver.mark_resource_available("db", False)
    task = await waiting(resolver, resource("d1", **ResourceAvailabilityConfig("db", "database", 50).to_metadata()))

    state.set("resource_db_available", True)

    assert (await asyncio.wait_for(task, 2.0)).success


async def test_a_gate_score_written_directly_is_seen_at_the_next_check(
    resolver: DependencyResolver, state: ThreadSafeState[Any]
) -> None:
    task = await waiting(resolver, gate("g1", **QualityGateConfig("coverage", "tests", 0.5, 50).to_metadata()))

    state.set("quality_gate_coverage_score", 0.7)

    assert (await asyncio.wait_for(task, 2.0)).success


async def test_resources_belong_to_the_namespace_of_the_state(resolver: DependencyResolver, namespace: str) -> None:
    other = DependencyResolver(SignalCoordinator(ThreadSafeState(namespace=f"{namespace}-other")))
    task = await waiting(resolver, resource("d1", check_interval_ms=5000))

    await other.mark_resource_available("db")

    assert resolver.get_dependency_status(CID, "d1")["status"] == "pending"
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


# -- time-outs -----------------------------------------------------------------------------------------------


async def test_a_fractional_timeout_is_honoured_and_recorded_as_timeout(
    resolver: DependencyResolver, coordinator: SignalCoordinator
) -> None:
    dependency = resource("d1", timeout=0.3, check_interval_ms=5000)
    started = time.monotonic()

    with pytest.raises(DependencyTimeoutError) as raised:
        await resolver.resolve_dependency(CID, dependency)

    assert 0.3 <= time.monotonic() - started < 0.6
    assert raised.value.timeout_seconds == 0.3
    assert (raised.value.coordination_id, raised.value.dependency_id) == (CID, "d1")
    assert "Timeout after 0.3s" in str(raised.value)
    assert dependency.status is DependencyStatus.TIMEOUT
    fresh = DependencyResolver(SignalCoordinator(ThreadSafeState(namespace=coordinator.state.namespace)))
    status = fresh.get_dependency_status(CID, "d1")
    assert status["status"] == "timeout"
    assert status["resolved"] is False
    assert "timed out after 0.3s" in status["error_message"]


async def test_a_timed_out_dependency_stays_timed_out(resolver: DependencyResolver) -> None:
    with pytest.raises(DependencyTimeoutError):
        await resolver.resolve_dependency(CID, resource("d1", timeout=0.1))

    await resolver.mark_resource_available("db")

    assert resolver.get_dependency_status(CID, "d1")["status"] == "timeout"
    with pytest.raises(DependencyTimeoutError):
        await resolver.resolve_dependency(CID, resource("d1", timeout=0.1))


async def test_resolve_agent_dependencies_returns_false_when_one_times_out(resolver: DependencyResolver) -> None:
    await resolver.mark_resource_available("db")
    context = {
        "agent_id": "packager",
        "dependencies": [
            {"id": "ready", "type": "resource_availability", "target": "db"},
            {"id": "late", "type": "agent_completion", "target": "builder", "timeout": 0.2},
        ],
    }

    assert await resolver.resolve_agent_dependencies(CID, context) is False
    assert resolver.get_dependency_status(CID, "late")["status"] == "timeout"
    assert resolver.get_dependency_status(CID, "ready")["status"] == "resolved"
    assert resolver.get_pending_dependencies_count(CID) == 0


# -- resolve_agent_dependencies ------------------------------------------------------------------------------


async def test_resolve_agent_dependencies_waits_for_all_and_announces_it(
    resolver: DependencyResolver, coordinator: SignalCoordinator
) -> None:
    context = {
        "agent_id": "packager",
        "dependencies": [
            {"id": "models", "type": "agent_completion", "target": "model-gen"},
            {
                "dependency_id": "db",
                "dependency_type": "resource_availability",
                "target": "db",
                "metadata": {"check_interval_ms": 5000},
            },
            {"type": "quality_gate", "target": "coverage", "metadata": {"threshold": 0.5}},
        ],
    }
    task = asyncio.create_task(resolver.resolve_agent_dependencies(CID, context))
    await eventually(lambda: resolver.get_pending_dependencies_count(CID) == 3, message="three registered")

    await coordinator.emit(CID, "agent_completed", {}, "model-gen")
    await resolver.mark_resource_available("db")
    await resolver.update_quality_gate_score("coverage", 0.6)

    assert await asyncio.wait_for(task, 2.0) is True
    assert resolver.list_dependencies(CID) == {"models": "resolved", "db": "resolved", "dep_2": "resolved"}
    (announcement,) = coordinator.get_signal_history(CID, {"signal_type": "dependency_resolved"})
    assert announcement.event_data["resolver_agent"] == "packager"
    assert announcement.event_data["dependency_count"] == 3


async def test_an_agent_without_dependencies_is_resolved_at_once(resolver: DependencyResolver, namespace: str) -> None:
    assert await resolver.resolve_agent_dependencies(CID, {"agent_id": "a"}) is True
    assert await resolver.resolve_agent_dependencies(CID, {"dependencies": []}) is True
    assert keys_of(namespace) == []


async def test_a_metrics_collector_is_optional_and_receives_the_resolution_time(namespace: str) -> None:
    collector = MetricsCollector(kafka_enabled=False, postgres_enabled=False)
    coordinator = SignalCoordinator(ThreadSafeState(namespace=namespace))
    resolver = DependencyResolver(coordinator, collector)
    await resolver.mark_resource_available("db")

    context = {"dependencies": [{"type": "resource_availability", "target": "db"}]}
    assert await resolver.resolve_agent_dependencies(namespace, context) is True

    timings = [
        m for m in collector.read_metrics("dependency_resolution_time_ms") if m.tags.get("coordination_id") == namespace
    ]
    # The seed's name, tags (string values) and correlation id.
    assert [m.tags for m in timings] == [{"coordination_id": namespace, "dependency_count": "1"}]
    assert timings[0].correlation_id == namespace and timings[0].unit == "ms"


async def test_satisfied_dependencies_are_registered_in_one_round_trip_and_open_no_subscription(
    namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given ten resources that are already available (the seed benchmark's dependency figure)
    state: ThreadSafeState[Any] = ThreadSafeState(namespace=namespace)
    resolver = DependencyResolver(SignalCoordinator(state), state=state)
    for n in range(10):
        await resolver.mark_resource_available(f"resource-{n}")
    batches: list[int] = []
    single_registrations: list[Any] = []
    original_batch = dependencies_module.run_atomically_async

    async def counted_batch(client: Any, calls: list[Any], preload: Any = ()) -> list[Any]:
        batches.append(len(calls))
        return await original_batch(client, calls, preload)

    monkeypatch.setattr(dependencies_module, "run_atomically_async", counted_batch)
    monkeypatch.setattr(
        dependencies_module.DependencyResolver, "_wait", lambda *args: single_registrations.append(args)
    )
    separate_emits: list[Any] = []
    monkeypatch.setattr(SignalCoordinator, "_store", lambda *args: separate_emits.append(args))
    context = {
        "agent_id": "test-agent",
        "dependencies": [
            {"dependency_id": f"dep-{n}", "type": "resource_availability", "target": f"resource-{n}", "timeout": 10}
            for n in range(10)
        ],
    }

    # When the agent's dependencies are resolved
    assert await resolver.resolve_agent_dependencies(CID, context) is True

    # Then the ten registrations (each also checks its condition) and the dependency_resolved announcement went
    # in one script run, nothing waited, nothing was emitted on its own, and no wake-up subscription was opened in
    # this event loop.
    assert batches == [1]
    assert single_registrations == []
    assert separate_emits == []
    assert waiting_count() == {}
    assert resolver.get_pending_dependencies_count(CID) == 0
    assert len(resolver.resolved_dependencies[CID]) == 10
    [announced] = resolver.signal_coordinator.get_signal_history(CID)  # type: ignore[attr-defined]
    assert announced.signal_type.value == "dependency_resolved" and announced.event_data["dependency_count"] == 10


async def test_a_batch_with_a_pending_dependency_is_announced_once_after_the_wait(namespace: str) -> None:
    state: ThreadSafeState[Any] = ThreadSafeState(namespace=namespace)
    resolver = DependencyResolver(SignalCoordinator(state), state=state)
    await resolver.mark_resource_available("ready")
    context = {
        "agent_id": "late-agent",
        "dependencies": [
            {"id": "now", "type": "resource_availability", "target": "ready", "timeout": LONG},
            {"id": "later", "type": "resource_availability", "target": "soon", "timeout": LONG},
        ],
    }
    resolving = asyncio.ensure_future(resolver.resolve_agent_dependencies(CID, context))
    await asyncio.sleep(0.2)
    assert resolver.signal_coordinator.get_signal_history(CID) == []  # type: ignore[attr-defined]
    await resolver.mark_resource_available("soon")
    assert await asyncio.wait_for(resolving, 5.0) is True
    [announced] = resolver.signal_coordinator.get_signal_history(CID)  # type: ignore[attr-defined]
    assert announced.event_data["resolver_agent"] == "late-agent" and announced.event_data["dependency_count"] == 2
    assert announced.metadata == {"priority": 5} and announced.sender_agent_id == "system"


async def test_the_one_trip_announcement_is_the_signal_the_separate_emit_stores(namespace: str) -> None:
    """Same sender, metadata, data and seed metrics whether it rode with the registrations or came after a wait."""
    state: ThreadSafeState[Any] = ThreadSafeState(namespace=namespace)
    metrics = MetricsCollector(kafka_enabled=False, postgres_enabled=False)
    resolver = DependencyResolver(SignalCoordinator(state, metrics_collector=metrics), state=state)
    await resolver.mark_resource_available("ready")
    cid = f"announce-{namespace}"  # flushed metrics go to one stream shared by the test session
    context = {"agent_id": "quick", "dependencies": [{"id": "now", "type": "resource_availability", "target": "ready"}]}
    assert await resolver.resolve_agent_dependencies(cid, context) is True
    [announced] = resolver.signal_coordinator.get_signal_history(cid)  # type: ignore[attr-defined]
    assert announced.sender_agent_id == "system" and announced.metadata == {"priority": 5}
    assert announced.event_data["resolver_agent"] == "quick" and announced.event_data["dependency_count"] == 1
    sent = [m for m in metrics.read_metrics("signals_sent") if m.tags.get("coordination_id") == cid]
    assert [m.tags.get("signal_type") for m in sent] == ["dependency_resolved"]


async def test_only_the_pending_dependencies_of_a_batch_wait(resolver: DependencyResolver) -> None:
    await resolver.mark_resource_available("ready")
    context = {
        "dependencies": [
            {"id": "now", "type": "resource_availability", "target": "ready", "timeout": LONG},
            {"id": "later", "type": "resource_availability", "target": "soon", "timeout": LONG},
        ]
    }
    task = asyncio.create_task(resolver.resolve_agent_dependencies(CID, context))
    await eventually(lambda: resolver.get_dependency_status(CID, "later")["status"] == "pending")
    assert resolver.get_dependency_status(CID, "now")["status"] == "resolved"

    await resolver.mark_resource_available("soon")

    assert await asyncio.wait_for(task, EVENT_BOUND) is True


async def test_unknown_keys_of_a_dependency_spec_are_ignored_as_in_the_seed_with_a_warning(
    resolver: DependencyResolver,
) -> None:
    await resolver.mark_resource_available("db")
    forget_warnings()
    context = {"dependencies": [{"type": "resource_availability", "target": "db", "description": "the database"}]}

    with pytest.warns(SeedCompatibilityWarning, match="dependency spec: unknown field 'description'"):
        assert await resolver.resolve_agent_dependencies(CID, context) is True
    [stored] = resolver.pending_dependencies[CID]
    assert stored.metadata == {} and "description" not in str(sync_client().hgetall(resolver_record_key(resolver)))


def resolver_record_key(resolver: DependencyResolver) -> str:
    return resolver.state.store_keys.coordination(CID).dependency("dep_0")


async def test_satisfied_dependencies_never_wait_behind_pending_ones(coordinator: SignalCoordinator) -> None:
    resolver = DependencyResolver(coordinator, max_concurrent_resolutions=1)
    pending = [await waiting(resolver, resource(f"never-{n}", f"never-{n}")) for n in range(3)]
    await resolver.mark_resource_available("db")

    result = await asyncio.wait_for(resolver.resolve_dependency(CID, resource("now")), EVENT_BOUND)

    assert result.success
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


# -- status queries ------------------------------------------------------------------------------------------


async def test_get_dependency_status_knows_dependencies_resolved_through_resolve_dependency_alone(
    resolver: DependencyResolver,
) -> None:
    await resolver.mark_resource_available("db")
    await resolver.resolve_dependency(CID, resource("d1"))

    status = resolver.get_dependency_status(CID, "d1")

    assert status["status"] == "resolved"
    assert status["resolved"] is True
    assert status["dependency_type"] == "resource_availability"
    assert status["target"] == "db"
    assert status["resolved_at"] is not None
    assert resolver.get_dependency_status(CID, "never-registered") == {
        "dependency_id": "never-registered",
        "resolved": False,
        "status": "unknown",
        "error_message": "Dependency not found",
    }


async def test_clearing_a_coordination_forgets_its_dependencies(resolver: DependencyResolver) -> None:
    task = await waiting(resolver, resource("d1", check_interval_ms=5000))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    resolver.clear_coordination_dependencies(CID)

    assert resolver.get_dependency_status(CID, "d1")["status"] == "unknown"
    assert resolver.get_pending_dependencies_count(CID) == 0
    keys = resolver.state.store_keys
    assert not sync_client().exists(keys.resource_waiters("db"), keys.due)


async def test_repr_counts_coordination_sessions(resolver: DependencyResolver) -> None:
    await resolver.mark_resource_available("db")
    await resolver.resolve_dependency(CID, resource("d1"))

    assert repr(resolver) == "DependencyResolver(coordination_sessions=1, state_version=1)"


async def test_a_private_state_gives_every_dependency_key_a_ttl(redis_server: str) -> None:
    state: ThreadSafeState[Any] = ThreadSafeState()
    coordinator = SignalCoordinator(state)
    resolver = DependencyResolver(coordinator)
    await coordinator.emit(CID, "agent_completed", {}, "builder")
    await resolver.mark_resource_available("db")
    context = {
        "agent_id": "packager",
        "dependencies": [
            {"id": "built", "type": "agent_completion", "target": "builder"},
            {"id": "db", "type": "resource_availability", "target": "db"},
            {"id": "late", "type": "quality_gate", "target": "coverage", "timeout": 0.1},
        ],
    }
    await resolver.resolve_agent_dependencies(CID, context)
    task = await waiting(resolver, completion("waiting", "tester", check_interval_ms=5000))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    keys = keys_of(state.namespace)
    assert keys
    for key in keys:
        assert sync_client().pttl(key) > 0, key


async def test_a_private_state_keeps_the_due_set_expiring_when_a_time_out_is_routed(redis_server: str) -> None:
    # The owner waits in a running coordination: its timed-out dependency is put back in the due set to be routed
    # (dep_route_later), after the settlement took it out; the set, emptied in between, is made again.
    state: ThreadSafeState[Any] = ThreadSafeState()
    resolver = DependencyResolver(SignalCoordinator(state))
    ck = waiting_pipeline_agent(state, "consumer")
    for made_here in (ck.meta, ck.agent("consumer")):  # what a pipeline submission would have given a TTL
        sync_client().pexpire(made_here, 60_000)
    context = {
        "agent_id": "consumer",
        "dependencies": [{"id": "late", "type": "resource_availability", "target": "never", "timeout": 0.1}],
    }
    assert await resolver.resolve_agent_dependencies(CID, context) is False

    client = sync_client()
    assert client.zscore(state.store_keys.due, f"{CID}/late") is not None  # kept for routing
    for key in keys_of(state.namespace):
        assert client.pttl(key) > 0, key


# -- bad input -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [0, -1, -0.5, True, "10"])
def test_a_dependency_timeout_must_be_a_positive_number(timeout: Any) -> None:
    with pytest.raises(InvalidInputError) as raised:
        Dependency("d1", "resource_availability", "db", timeout=timeout)

    assert raised.value.field == "timeout"


@pytest.mark.parametrize("score", [-0.1, 1.01, float("nan"), "0.9", None, True])
async def test_a_quality_score_outside_zero_to_one_is_refused_and_nothing_is_written(
    resolver: DependencyResolver, namespace: str, score: Any
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        await resolver.update_quality_gate_score("coverage", score)
    assert raised.value.field == "score"
    with pytest.raises(InvalidInputError):
        resolver.update_quality_gate_score_sync("coverage", score)

    assert keys_of(namespace) == []


@pytest.mark.parametrize("threshold", [1.5, -1, "high"])
async def test_a_gate_threshold_outside_zero_to_one_is_refused_and_nothing_is_written(
    resolver: DependencyResolver, namespace: str, threshold: Any
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        await resolver.resolve_dependency(CID, gate("g1", threshold=threshold))

    assert raised.value.field == "metadata.threshold"
    assert keys_of(namespace) == []


@pytest.mark.parametrize("bad", ["a:b", "a{b}", "has space", "x" * 129, ""])
@pytest.mark.parametrize(
    ("field", "call"),
    [
        ("coordination_id", lambda r, bad: r.resolve_dependency(bad, resource("d1"))),
        ("dependency_id", lambda r, bad: r.resolve_dependency(CID, resource(bad))),
        ("target", lambda r, bad: r.resolve_dependency(CID, resource("d1", bad))),
        # An empty owner means "no owner", so a space stands in for the empty id here.
        ("owner", lambda r, bad: r.resolve_dependency(CID, resource("d1"), owner=bad or " ")),
        (
            "metadata.agent_id",
            lambda r, bad: r.resolve_dependency(
                CID, Dependency("d1", DependencyType.AGENT_COMPLETION, "builder", metadata={"agent_id": bad})
            ),
        ),
        ("resource_id", lambda r, bad: r.mark_resource_available(bad)),
        ("gate_id", lambda r, bad: r.update_quality_gate_score(bad, 0.5)),
        (
            "agent_context.agent_id",
            lambda r, bad: r.resolve_agent_dependencies(
                CID, {"agent_id": bad, "dependencies": [{"type": "resource_availability", "target": "db"}]}
            ),
        ),
    ],
)
async def test_a_bad_id_is_refused_naming_the_field_and_nothing_is_written(
    resolver: DependencyResolver, namespace: str, field: str, call: Any, bad: str
) -> None:
    with pytest.raises(InvalidIdError) as raised:
        await asyncio.wait_for(call(resolver, bad), 2.0)

    assert raised.value.field == field
    assert keys_of(namespace) == []


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"type": "telepathy", "target": "x"}, "dependencies[1].dependency_type"),
        ({"target": "x"}, "dependencies[1].type"),
        ({"type": "resource_availability"}, "dependencies[1].target"),
        ({"type": "resource_availability", "target": "x", "timeout": 0}, "dependencies[1].timeout"),
        ({"type": "resource_availability", "target": "x", "max_retries": -1}, "dependencies[1].max_retries"),
        ("not a dict", "dependencies[1]"),
    ],
)
async def test_a_bad_dependency_spec_is_refused_naming_the_field_and_nothing_is_written(
    resolver: DependencyResolver, namespace: str, spec: Any, field: str
) -> None:
    context = {"dependencies": [{"type": "resource_availability", "target": "db"}, spec]}

    with pytest.raises(InvalidInputError) as raised:
        await asyncio.wait_for(resolver.resolve_agent_dependencies(CID, context), 2.0)

    assert raised.value.field == field
    assert keys_of(namespace) == []


async def test_a_bad_id_in_a_later_spec_is_refused_before_any_dependency_is_registered(
    resolver: DependencyResolver, namespace: str
) -> None:
    context = {
        "dependencies": [
            {"id": "fine", "type": "resource_availability", "target": "db"},
            {"id": "broken", "type": "resource_availability", "target": "not:valid"},
        ]
    }

    with pytest.raises(InvalidIdError) as raised:
        await asyncio.wait_for(resolver.resolve_agent_dependencies(CID, context), 2.0)

    assert raised.value.field == "dependencies[1].target"
    assert keys_of(namespace) == []


def test_an_unknown_dependency_type_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInputError) as raised:
        Dependency("d1", "telepathy", "x")  # type: ignore[arg-type]

    assert raised.value.field == "dependency_type"


@pytest.mark.parametrize("interval", [-1, "fast", True])
async def test_a_bad_check_interval_is_refused_and_nothing_is_written(
    resolver: DependencyResolver, namespace: str, interval: Any
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        await resolver.resolve_dependency(CID, resource("d1", check_interval_ms=interval))

    assert raised.value.field == "metadata.check_interval_ms"
    assert keys_of(namespace) == []


def test_max_concurrent_resolutions_must_be_positive(coordinator: SignalCoordinator) -> None:
    with pytest.raises(InvalidInputError) as raised:
        DependencyResolver(coordinator, max_concurrent_resolutions=0)

    assert raised.value.field == "max_concurrent_resolutions"


async def test_cancelling_a_waiter_stops_it_at_once(resolver: DependencyResolver) -> None:
    # Cancel at various points of the wait (right after registration, mid-command, while listening): on
    # Python 3.11 a cancellation arriving as a Redis write completes used to be swallowed, and the waiter
    # then waited out its whole time-out.
    for attempt in range(20):
        task = await waiting(resolver, resource(f"d{attempt}", check_interval_ms=5000))
        for _ in range(attempt % 4):
            await asyncio.sleep(0)
        task.cancel()
        (outcome,) = await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 2.0)
        assert isinstance(outcome, asyncio.CancelledError), attempt


async def test_an_overdue_dependency_nobody_waits_for_reads_as_timed_out_not_pending(namespace):
    from coordination import Dependency, DependencyResolver, SignalCoordinator, ThreadSafeState
    from coordination.models.dependencies import DependencyType

    state = ThreadSafeState(namespace=namespace)
    resolver = DependencyResolver(SignalCoordinator(state), state=state)
    resolver.register_sync(
        "c-overdue", Dependency("late", DependencyType.RESOURCE_AVAILABILITY, "nothing", timeout=0.2)
    )
    assert resolver.get_pending_dependencies_count("c-overdue") == 1
    await asyncio.sleep(0.3)
    assert resolver.get_pending_dependencies_count("c-overdue") == 0
    assert resolver.get_dependency_status("c-overdue", "late")["status"] == "timeout"
