"""ContextDistributor against a real Redis: seed behaviour, cross-process reads and updates, bad input.

Every test works in a namespace of its own; "nothing written" is checked with ``keys_of(namespace)``.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from coordination.context import ContextDistributor
from coordination.errors import (
    ContextDistributionError,
    InvalidIdError,
    InvalidInputError,
    NotSerializableError,
    PayloadTooLargeError,
)
from coordination.metrics import MetricsCollector
from coordination.models.base import prevalidated as _prevalidated
from coordination.models.context import (
    AgentContext,
    ContextUpdateRequest,
    CoordinationProtocols,
    ResourceAllocation,
    SharedIntelligence,
)
from coordination.models.seed import SeedCompatibilityWarning, forget_warnings
from coordination.state import ThreadSafeState
from tests.conftest import keys_of
from tests.integration import _context_child
from tests.seed_collector import SeedStyleCollector

pytestmark = pytest.mark.redis

CID = "coord-1"
STATE = {"coordination_id": CID, "session_id": "session-1"}
ASSIGNMENTS: dict[str, dict[str, Any]] = {
    "model-gen": {
        "objective": "Generate models",
        "tasks": ["parse contract", "write models"],
        "input_data": {"contract": "user.yaml"},
        "agent_role": "generator",
    },
    "validator-gen": {
        "objective": "Generate validators",
        "tasks": ["write validators"],
        "dependencies": ["model-gen"],
    },
    "test-gen": {},
}


@pytest.fixture
def state(namespace: str) -> ThreadSafeState[Any]:
    return ThreadSafeState(namespace=namespace)


@pytest.fixture
def distributor(state: ThreadSafeState[Any]) -> ContextDistributor:
    return ContextDistributor(state)


def stored_hash(state: ThreadSafeState[Any], redis_client: Any, cid: str = CID) -> dict[str, str]:
    result: dict[str, str] = redis_client.hgetall(state.store_keys.coordination(cid).contexts)
    return result


def spawn() -> Any:
    return multiprocessing.get_context("spawn")


# -- seed behaviour ---------------------------------------------------------------------------------------


async def test_distribution_builds_one_context_per_agent_with_the_seed_defaults(
    distributor: ContextDistributor,
) -> None:
    contexts = await distributor.distribute_agent_context(STATE, ASSIGNMENTS)

    assert list(contexts) == ["model-gen", "validator-gen", "test-gen"]
    model_gen = contexts["model-gen"]
    assert model_gen.coordination_metadata.coordination_id == CID
    assert model_gen.coordination_metadata.session_id == "session-1"
    assert model_gen.coordination_metadata.agent_role == "generator"
    assert model_gen.agent_assignment.tasks == ["parse contract", "write models"]
    assert model_gen.agent_assignment.input_data == {"contract": "user.yaml"}
    assert model_gen.context_version == 1
    assert model_gen.resource_allocation == ResourceAllocation()
    assert model_gen.coordination_protocols == CoordinationProtocols()
    assert model_gen.shared_intelligence == SharedIntelligence()
    test_gen = contexts["test-gen"]
    assert test_gen.coordination_metadata.agent_role == "test-gen"
    assert test_gen.agent_assignment.objective == ""
    assert test_gen.agent_assignment.tasks == []
    assert contexts["validator-gen"].agent_assignment.dependencies == ["model-gen"]


async def test_a_stored_context_reads_back_equal_to_the_returned_one(distributor: ContextDistributor) -> None:
    shared = SharedIntelligence(type_registry={"User": "class User"}, pattern_library={"validation": ["email"]})
    contexts = await distributor.distribute_agent_context(STATE, ASSIGNMENTS, shared_intelligence=shared)

    for agent_id, context in contexts.items():
        fetched = distributor.get_agent_context(CID, agent_id)
        assert fetched == context
        assert fetched is not None
        assert fetched.model_dump_json() == context.model_dump_json()
        assert fetched.coordination_metadata.created_at.utcoffset() is not None


async def test_the_returned_models_behave_like_validated_ones(distributor: ContextDistributor) -> None:
    contexts = await distributor.distribute_agent_context(STATE, ASSIGNMENTS)
    context = contexts["model-gen"]

    rebuilt = AgentContext.model_validate_json(context.model_dump_json())
    assert context == rebuilt
    assert context.model_fields_set == rebuilt.model_fields_set
    context.coordination_metadata.agent_role = "renamed"  # assignment validation still works
    with pytest.raises(ValidationError, match="agent_id"):
        context.coordination_metadata.agent_id = "not an id"
    plain = _prevalidated(ResourceAllocation, ResourceAllocation().model_dump())
    assert plain == ResourceAllocation() and hash(plain) == hash(ResourceAllocation())


async def test_shared_intelligence_may_be_given_as_a_dict_of_its_sections(
    distributor: ContextDistributor,
) -> None:
    contexts = await distributor.distribute_agent_context(
        STATE, {"a1": {}}, shared_intelligence={"naming_conventions": {"class": "PascalCase"}}
    )

    assert contexts["a1"].shared_intelligence.naming_conventions == {"class": "PascalCase"}


async def test_per_agent_allocations_and_protocols_override_the_defaults(state: ThreadSafeState[Any]) -> None:
    default = ResourceAllocation(max_execution_time_ms=60000)
    distributor = ContextDistributor(state, default_resource_allocation=default)
    special = ResourceAllocation(max_memory_mb=2048, quality_threshold=0.95)
    protocols = CoordinationProtocols(heartbeat_interval_ms=500)

    await distributor.distribute_agent_context(
        STATE,
        ASSIGNMENTS,
        resource_allocations={"model-gen": special},
        coordination_protocols={"test-gen": protocols},
    )

    assert distributor.get_agent_context(CID, "model-gen").resource_allocation == special  # type: ignore[union-attr]
    assert distributor.get_agent_context(CID, "test-gen").resource_allocation == default  # type: ignore[union-attr]
    test_gen = distributor.get_agent_context(CID, "test-gen")
    assert test_gen is not None and test_gen.coordination_protocols == protocols


@pytest.mark.parametrize("coordination_state", [{"coordination_id": CID}, {"coordination_id": CID, "session_id": ""}])
async def test_a_missing_session_id_is_refused_as_in_the_seed(
    distributor: ContextDistributor, namespace: str, coordination_state: dict[str, Any]
) -> None:
    with pytest.raises(
        ValueError, match="coordination_state must contain 'coordination_id' and 'session_id'"
    ) as raised:
        await distributor.distribute_agent_context(coordination_state, {"a1": {}})

    assert isinstance(raised.value, InvalidInputError)
    assert raised.value.field == "coordination_state['session_id']"
    assert keys_of(namespace) == []


async def test_an_agents_invalid_assignment_is_the_seeds_runtime_error_naming_the_field(
    distributor: ContextDistributor, namespace: str
) -> None:
    # The seed's guide catches RuntimeError for a failed distribution; callers matching InvalidInputError work too.
    with pytest.raises(RuntimeError, match="Context distribution failed for agent 'a2'") as raised:
        await distributor.distribute_agent_context(STATE, {"a1": {}, "a2": {"tasks": "not a list"}})

    assert isinstance(raised.value, ContextDistributionError) and isinstance(raised.value, InvalidInputError)
    assert raised.value.field == "agent_assignments['a2'].tasks" and raised.value.agent_id == "a2"
    assert keys_of(namespace) == []


async def test_unknown_fields_of_seed_inputs_are_ignored_with_a_warning_and_never_stored(
    distributor: ContextDistributor, state: ThreadSafeState[Any], redis_client: Any
) -> None:
    forget_warnings()
    with pytest.warns(SeedCompatibilityWarning) as warned:
        contexts = await distributor.distribute_agent_context(
            STATE,
            {"a1": {"objective": "x", "priority": 1, "agent_type": "generator"}},
            shared_intelligence={"patterns": ["singleton"], "conventions": {}},
            # The seed's own integration example.
            resource_allocations={"a1": ResourceAllocation(max_cpu_cores=2, max_execution_time_sec=300)},  # type: ignore[call-arg]
        )

    reported = " ".join(str(warning.message) for warning in warned)
    for name in (
        "'priority'",
        "'agent_type'",
        "'patterns'",
        "'conventions'",
        "'max_cpu_cores'",
        "'max_execution_time_sec'",
    ):
        assert name in reported
    stored = redis_client.hget(state.store_keys.coordination(CID).contexts, "a1")
    for name in ("priority", "agent_type", "patterns", "conventions", "max_cpu_cores", "max_execution_time_sec"):
        assert f'"{name}"' not in stored
    assert contexts["a1"].agent_assignment.objective == "x"
    assert distributor.get_agent_context(CID, "a1") == contexts["a1"]


async def test_listing_follows_distribution_order(distributor: ContextDistributor) -> None:
    await distributor.distribute_agent_context(STATE, ASSIGNMENTS)

    assert distributor.list_coordination_contexts(CID) == ["model-gen", "validator-gen", "test-gen"]
    assert distributor.list_coordination_contexts("other") == []


async def test_a_later_distribution_adds_agents_and_replaces_only_the_ones_it_names(
    distributor: ContextDistributor,
) -> None:
    await distributor.distribute_agent_context(STATE, ASSIGNMENTS)
    first = list(ASSIGNMENTS)

    await distributor.distribute_agent_context(
        STATE, {"packager": {"objective": "Package"}, first[0]: {"objective": "Again"}}
    )

    assert distributor.list_coordination_contexts(CID) == [*first, "packager"]
    again = distributor.get_agent_context(CID, first[0])
    assert again is not None and again.agent_assignment.objective == "Again"
    assert distributor.get_agent_context(CID, first[1]) is not None


async def test_absent_agents_and_coordinations_read_as_none(distributor: ContextDistributor) -> None:
    await distributor.distribute_agent_context(STATE, ASSIGNMENTS)

    assert distributor.get_agent_context(CID, "nobody") is None
    assert distributor.get_agent_context("never-distributed", "model-gen") is None


async def test_storage_is_one_hash_and_one_order_list_per_coordination(
    distributor: ContextDistributor, state: ThreadSafeState[Any], namespace: str, redis_client: Any
) -> None:
    await distributor.distribute_agent_context(STATE, ASSIGNMENTS)

    keys = state.store_keys
    ck = keys.coordination(CID)
    assert keys_of(namespace) == sorted([ck.contexts, ck.context_order, keys.coordinations])
    assert sorted(stored_hash(state, redis_client)) == sorted(ASSIGNMENTS)
    assert redis_client.smembers(keys.coordinations) == {CID}
    assert redis_client.ttl(ck.contexts) == -1  # a shared namespace does not expire


async def test_the_keys_of_a_private_state_expire_when_idle(redis_client: Any) -> None:
    private = ThreadSafeState()
    distributor = ContextDistributor(private)

    await distributor.distribute_agent_context(STATE, ASSIGNMENTS)

    written = keys_of(private.namespace)
    assert len(written) == 3
    assert all(0 < redis_client.pttl(key) <= private.ttl_ms for key in written)
    distributor.clear_coordination_contexts(CID)


async def test_an_empty_assignment_set_returns_nothing_and_writes_nothing(
    distributor: ContextDistributor, namespace: str
) -> None:
    # The seed raised ZeroDivisionError here, after writing an empty aggregate key.
    assert await distributor.distribute_agent_context(STATE, {}) == {}
    assert keys_of(namespace) == []


async def test_distribution_records_size_and_timing_metrics(state: ThreadSafeState[Any]) -> None:
    collector = MetricsCollector(kafka_enabled=False, postgres_enabled=False)
    distributor = ContextDistributor(state, metrics_collector=collector)
    cid = f"metrics-{uuid.uuid4().hex[:8]}"

    await distributor.distribute_agent_context({"coordination_id": cid, "session_id": "s"}, ASSIGNMENTS)

    def mine(name: str) -> list[Any]:
        return [m for m in collector.read_metrics(name) if m.tags.get("coordination_id") == cid]

    # The seed's names, kinds, units, tags (string values) and correlation ids, exactly.
    sizes = mine("context_size_bytes")
    assert sorted(m.tags["agent_id"] for m in sizes) == sorted(ASSIGNMENTS)
    assert all(m.metric_type == "gauge" and m.unit == "bytes" and m.correlation_id == cid for m in sizes)
    assert all(set(m.tags) == {"agent_id", "coordination_id"} for m in sizes)
    stored = distributor.get_agent_context(cid, "model-gen")
    assert stored is not None
    size = next(m.value for m in sizes if m.tags["agent_id"] == "model-gen")
    assert size == len(stored.model_dump_json().encode())
    [total] = mine("context_distribution_time_ms")
    assert total.tags == {"coordination_id": cid, "agent_count": "3"}
    assert total.metric_type == "timing" and total.unit == "ms" and total.correlation_id == cid
    [per_agent] = mine("context_distribution_per_agent_ms")
    assert per_agent.tags == {"coordination_id": cid} and per_agent.correlation_id == cid
    assert math.isclose(per_agent.value, total.value / 3)


async def test_a_collector_of_ones_own_gets_the_same_metrics_through_the_seeds_methods(
    state: ThreadSafeState[Any],
) -> None:
    collector = SeedStyleCollector()
    distributor = ContextDistributor(state, metrics_collector=collector)  # type: ignore[arg-type]

    await distributor.distribute_agent_context(STATE, ASSIGNMENTS)

    kinds = [(kind, name, tags, correlation) for kind, name, _value, tags, correlation in collector.recorded]
    assert kinds == [
        *(("gauge", "context_size_bytes", {"agent_id": agent, "coordination_id": CID}, CID) for agent in ASSIGNMENTS),
        ("timing", "context_distribution_time_ms", {"coordination_id": CID, "agent_count": "3"}, CID),
        ("timing", "context_distribution_per_agent_ms", {"coordination_id": CID}, CID),
    ]


# -- across processes -------------------------------------------------------------------------------------


async def test_another_process_reads_the_same_context(distributor: ContextDistributor, namespace: str) -> None:
    contexts = await distributor.distribute_agent_context(STATE, ASSIGNMENTS)

    with spawn().Pool(1) as pool:
        text = pool.apply(_context_child.fetch_context, (namespace, CID, "validator-gen"))
        missing = pool.apply(_context_child.fetch_context, (namespace, CID, "nobody"))

    assert AgentContext.model_validate_json(text) == contexts["validator-gen"]
    assert missing is None


async def test_concurrent_updates_from_two_processes_lose_nothing(
    distributor: ContextDistributor, namespace: str
) -> None:
    await distributor.distribute_agent_context(STATE, ASSIGNMENTS)
    context = spawn()
    barrier = context.Barrier(2)
    results = context.Queue()
    writers = [
        context.Process(target=_context_child.add_type_entries, args=(namespace, CID, prefix, 50, barrier, results))
        for prefix in ("p1", "p2")
    ]
    for writer in writers:
        writer.start()
    outcomes = dict(results.get(timeout=90) for _ in writers)
    for writer in writers:
        writer.join(timeout=30)

    assert outcomes == {"p1": 50, "p2": 50}
    expected = {f"{prefix}-{index}": index for prefix in ("p1", "p2") for index in range(50)}
    for agent_id in ASSIGNMENTS:
        stored = distributor.get_agent_context(CID, agent_id)
        assert stored is not None
        assert stored.shared_intelligence.type_registry == expected
        assert stored.context_version == 101


# -- update_shared_intelligence ---------------------------------------------------------------------------


async def test_an_update_reaches_every_agent_when_no_target_is_given(distributor: ContextDistributor) -> None:
    await distributor.distribute_agent_context(STATE, ASSIGNMENTS)

    for targets in (None, []):
        result = distributor.update_shared_intelligence(
            ContextUpdateRequest(
                coordination_id=CID,
                update_type="pattern_library",
                update_data={"validation": ["email"]},
                target_agents=targets,
            )
        )
        assert result == dict.fromkeys(ASSIGNMENTS, True)

    for agent_id in ASSIGNMENTS:
        stored = distributor.get_agent_context(CID, agent_id)
        assert stored is not None
        assert stored.shared_intelligence.pattern_library == {"validation": ["email"]}
        assert stored.context_version == 3


async def test_an_update_of_named_agents_reports_unknown_ones_as_false(
    distributor: ContextDistributor,
) -> None:
    await distributor.distribute_agent_context(STATE, ASSIGNMENTS)

    result = distributor.update_shared_intelligence(
        ContextUpdateRequest(
            coordination_id=CID,
            update_type="naming_conventions",
            update_data={"class": "PascalCase"},
            target_agents=["test-gen", "ghost"],
            increment_version=False,
        )
    )

    assert result == {"test-gen": True, "ghost": False}
    test_gen = distributor.get_agent_context(CID, "test-gen")
    model_gen = distributor.get_agent_context(CID, "model-gen")
    assert test_gen is not None and model_gen is not None
    assert test_gen.shared_intelligence.naming_conventions == {"class": "PascalCase"}
    assert test_gen.context_version == 1
    assert model_gen.shared_intelligence.naming_conventions == {}


@pytest.mark.parametrize(
    ("section", "data"),
    [
        ("type_registry", {"User": {"fields": ["id"]}}),
        ("pattern_library", {"p": ["a", "b"]}),
        ("validation_rules", {"email": {"required": True}}),
        ("naming_conventions", {"file": "snake_case"}),
        ("dependency_graph", {"validator-gen": ["model-gen"]}),
    ],
)
async def test_every_section_can_be_updated(distributor: ContextDistributor, section: str, data: Any) -> None:
    await distributor.distribute_agent_context(STATE, {"a1": {}})
    request = ContextUpdateRequest(coordination_id=CID, update_type=section, update_data=data)

    assert distributor.update_shared_intelligence(request) == {"a1": True}

    stored = distributor.get_agent_context(CID, "a1")
    assert stored is not None and getattr(stored.shared_intelligence, section) == data


def test_an_update_of_a_coordination_without_contexts_returns_nothing(
    distributor: ContextDistributor, namespace: str
) -> None:
    request = ContextUpdateRequest(coordination_id=CID, update_type="type_registry", update_data={"a": 1})

    assert distributor.update_shared_intelligence(request) == {}
    assert keys_of(namespace) == []


# -- clear ------------------------------------------------------------------------------------------------


async def test_clearing_leaves_no_key_behind(distributor: ContextDistributor, namespace: str) -> None:
    await distributor.distribute_agent_context(STATE, ASSIGNMENTS)

    assert distributor.clear_coordination_contexts(CID) is True

    assert keys_of(namespace) == []
    assert distributor.get_agent_context(CID, "model-gen") is None
    assert distributor.list_coordination_contexts(CID) == []
    assert distributor.clear_coordination_contexts(CID) is False


async def test_clearing_keeps_the_registry_entry_while_other_keys_of_the_coordination_exist(
    distributor: ContextDistributor, state: ThreadSafeState[Any], namespace: str, redis_client: Any
) -> None:
    await distributor.distribute_agent_context(STATE, ASSIGNMENTS)
    completed = state.store_keys.coordination(CID).completed
    redis_client.sadd(completed, "model-gen")  # as if signals/dependencies of the coordination were live

    assert distributor.clear_coordination_contexts(CID) is True

    assert keys_of(namespace) == sorted([completed, state.store_keys.coordinations])
    redis_client.delete(completed, state.store_keys.coordinations)


# -- the seed guide's recipes -----------------------------------------------------------------------------


async def test_the_template_reuse_recipe_runs_and_its_contexts_can_be_stored(
    distributor: ContextDistributor,
) -> None:
    # COORDINATION_PERFORMANCE_TUNING.md, "Reuse contexts for similar agents": the seed's frozen metadata
    # made it fail.
    from copy import deepcopy

    template_context = await distributor.distribute_agent_context(
        coordination_state=STATE, agent_assignments={"template": {"objective": "Generate", "tasks": ["t"]}}
    )
    for agent_id in ("similar-1", "similar-2"):
        agent_context = deepcopy(template_context["template"])
        agent_context.coordination_metadata.agent_id = agent_id
        distributor.store_agent_context(agent_context)

    assert distributor.list_coordination_contexts(CID) == ["template", "similar-1", "similar-2"]
    stored = distributor.get_agent_context(CID, "similar-2")
    assert stored is not None and stored.agent_assignment.objective == "Generate"
    with pytest.raises(ValidationError, match="frozen"):
        agent_context.coordination_metadata.coordination_id = "elsewhere"


async def test_the_context_size_check_of_the_guide_runs(distributor: ContextDistributor) -> None:
    await distributor.distribute_agent_context(STATE, ASSIGNMENTS)

    context = distributor.get_agent_context(CID, "model-gen")
    assert context is not None
    context_size = len(context.model_dump_json())
    assert 0 < context_size < 100 * 1024


# -- bad input: a clear error naming the field, and nothing written ---------------------------------------

BadCall = Callable[[ContextDistributor], Any]


def _mutated_shared_intelligence(key: str, value: Any) -> SharedIntelligence:
    shared = SharedIntelligence()
    shared.type_registry[key] = value  # sections are plain dicts: callers can change them after validation
    return shared


BAD_DISTRIBUTIONS: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    (
        "no coordination id",
        {"coordination_state": {"session_id": "s"}},
        InvalidInputError,
        "coordination_state",
    ),
    ("state not a dict", {"coordination_state": ["coord-1"]}, InvalidInputError, "coordination_state"),
    (
        "no session id",
        {"coordination_state": {"coordination_id": CID}},
        InvalidInputError,
        "coordination_state['session_id']",
    ),
    (
        "bad coordination id",
        {"coordination_state": {"coordination_id": "a b", "session_id": "s"}},
        InvalidIdError,
        "coordination_id",
    ),
    (
        "session id not a string",
        {"coordination_state": {"coordination_id": CID, "session_id": 7}},
        InvalidInputError,
        "session_id",
    ),
    (
        "bad agent id",
        {"agent_assignments": {"ok": {}, "bad agent": {}}},
        InvalidIdError,
        "agent_assignments key",
    ),
    (
        "wrong assignment type",
        {"agent_assignments": {"a1": {"tasks": "not a list"}}},
        InvalidInputError,
        "agent_assignments['a1'].tasks",
    ),
    (
        "assignment not a dict",
        {"agent_assignments": {"a1": ["objective"]}},
        InvalidInputError,
        "agent_assignments['a1']",
    ),
    (
        "empty agent role",
        {"agent_assignments": {"a1": {"agent_role": ""}}},
        InvalidInputError,
        "agent_assignments['a1'].agent_role",
    ),
    (
        "bad resource allocation value",
        {"resource_allocations": {"a1": {"max_memory_mb": 0}}},
        ContextDistributionError,
        "resource_allocations['a1'].max_memory_mb",
    ),
    (
        "allocation for an agent without assignment",
        {"resource_allocations": {"ghost": ResourceAllocation()}},
        InvalidInputError,
        "resource_allocations['ghost']",
    ),
    (
        "protocols of the wrong type",
        {"coordination_protocols": {"a1": "fast"}},
        InvalidInputError,
        "coordination_protocols['a1']",
    ),
    (
        "object in input_data",
        {"agent_assignments": {"a1": {}, "a2": {"input_data": {"handle": object()}}}},
        NotSerializableError,
        "agent_assignments['a2'].input_data",
    ),
    (
        "NaN in input_data",
        {"agent_assignments": {"a1": {"input_data": {"score": math.nan}}}},
        NotSerializableError,
        "agent_assignments['a1'].input_data",
    ),
    (
        "object put into shared intelligence after it was built",
        {"shared_intelligence": _mutated_shared_intelligence("T", object())},
        NotSerializableError,
        "shared_intelligence.type_registry.T",
    ),
    (
        "object in shared intelligence given as a dict",
        {"shared_intelligence": {"type_registry": {"T": object()}}},
        NotSerializableError,
        "shared_intelligence.type_registry.T",
    ),
    (
        "set in input_data (contexts refuse sets like state and signals)",
        {"agent_assignments": {"a1": {"input_data": {"ids": {1, 2}}}}},
        NotSerializableError,
        "agent_assignments['a1'].input_data.ids",
    ),
    (
        "datetime in input_data (contexts refuse datetimes like state and signals)",
        {"agent_assignments": {"a1": {"input_data": {"when": datetime(2024, 1, 1, tzinfo=UTC)}}}},
        NotSerializableError,
        "agent_assignments['a1'].input_data.when",
    ),
    (
        "integer beyond 2**53 - 1 in input_data",
        {"agent_assignments": {"a1": {"input_data": {"id": 2**63}}}},
        NotSerializableError,
        "agent_assignments['a1'].input_data.id",
    ),
    (
        "oversized context",
        {"agent_assignments": {"a1": {}, "big-agent": {"input_data": {"blob": "x" * 300_000}}}},
        PayloadTooLargeError,
        "big-agent",
    ),
]


@pytest.mark.parametrize(
    ("arguments", "error", "field"),
    [case[1:] for case in BAD_DISTRIBUTIONS],
    ids=[case[0] for case in BAD_DISTRIBUTIONS],
)
async def test_a_bad_distribution_is_refused_and_writes_nothing(
    distributor: ContextDistributor,
    namespace: str,
    arguments: dict[str, Any],
    error: type[Exception],
    field: str,
) -> None:
    call = {"coordination_state": STATE, "agent_assignments": {"a1": {}}, **arguments}

    with pytest.raises(error) as raised:
        await distributor.distribute_agent_context(**call)

    assert field in str(raised.value)
    assert keys_of(namespace) == []


async def test_a_bad_redistribution_leaves_the_previous_one_intact(
    distributor: ContextDistributor, state: ThreadSafeState[Any], redis_client: Any
) -> None:
    await distributor.distribute_agent_context(STATE, ASSIGNMENTS)
    before = stored_hash(state, redis_client)

    with pytest.raises(InvalidInputError):
        await distributor.distribute_agent_context(STATE, {"a1": {}, "a2": {"tasks": "not a list"}})

    assert stored_hash(state, redis_client) == before
    assert distributor.list_coordination_contexts(CID) == list(ASSIGNMENTS)


@pytest.mark.parametrize(
    ("coordination_id", "agent_id", "field"),
    [
        ("a b", "a1", "coordination_id"),
        (CID, "a/1", "agent_id"),
        (CID, "", "agent_id"),
        (None, "a1", "coordination_id"),
    ],
)
def test_reading_with_a_bad_id_is_refused(
    distributor: ContextDistributor, coordination_id: Any, agent_id: str, field: str
) -> None:
    with pytest.raises(InvalidIdError, match=field):
        distributor.get_agent_context(coordination_id, agent_id)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda d: d.list_coordination_contexts("a:b"), "coordination_id"),
        (lambda d: d.clear_coordination_contexts("{x}"), "coordination_id"),
    ],
)
def test_listing_and_clearing_refuse_bad_ids(
    distributor: ContextDistributor, namespace: str, call: BadCall, field: str
) -> None:
    with pytest.raises(InvalidIdError, match=field):
        call(distributor)
    assert keys_of(namespace) == []


BAD_UPDATES: list[tuple[str, Callable[[], ContextUpdateRequest], type[Exception], str]] = [
    (
        "unknown update_type",
        lambda: ContextUpdateRequest.model_construct(
            coordination_id=CID,
            update_type="patterns",
            update_data={"a": 1},
            target_agents=None,
            increment_version=True,
        ),
        InvalidInputError,
        "update_type",
    ),
    (
        "update_data of the wrong shape",
        lambda: ContextUpdateRequest(coordination_id=CID, update_type="naming_conventions", update_data={"x": 1}),
        InvalidInputError,
        "update_data.x",
    ),
    (
        "object in update_data",
        lambda: ContextUpdateRequest(coordination_id=CID, update_type="type_registry", update_data={"x": object()}),
        NotSerializableError,
        "update_data",
    ),
    (
        "bad target agent id",
        lambda: ContextUpdateRequest(
            coordination_id=CID, update_type="type_registry", update_data={}, target_agents=["a b"]
        ),
        InvalidIdError,
        "target_agents",
    ),
    (
        "bad coordination id",
        lambda: ContextUpdateRequest(coordination_id="a b", update_type="type_registry", update_data={}),
        InvalidIdError,
        "coordination_id",
    ),
    (
        "context grows over the limit",
        lambda: ContextUpdateRequest(
            coordination_id=CID, update_type="type_registry", update_data={"blob": "x" * 300_000}
        ),
        PayloadTooLargeError,
        "context of agent",
    ),
]


@pytest.mark.parametrize(
    ("make_request", "error", "field"),
    [case[1:] for case in BAD_UPDATES],
    ids=[case[0] for case in BAD_UPDATES],
)
async def test_a_bad_update_is_refused_and_changes_nothing(
    distributor: ContextDistributor,
    state: ThreadSafeState[Any],
    redis_client: Any,
    make_request: Callable[[], ContextUpdateRequest],
    error: type[Exception],
    field: str,
) -> None:
    await distributor.distribute_agent_context(STATE, ASSIGNMENTS)
    before = stored_hash(state, redis_client)

    with pytest.raises(error) as raised:
        distributor.update_shared_intelligence(make_request())

    assert field in str(raised.value)
    assert stored_hash(state, redis_client) == before


def test_an_unknown_update_type_is_refused_when_the_request_is_built() -> None:
    # The seed accepted it and then reported False for every agent.
    with pytest.raises(ValidationError, match="update_type"):
        ContextUpdateRequest(coordination_id=CID, update_type="patterns", update_data={})


def test_storing_a_context_that_is_not_one_is_refused(distributor: ContextDistributor, namespace: str) -> None:
    with pytest.raises(InvalidInputError, match="context"):
        distributor.store_agent_context(json.loads('{"coordination_metadata": {}}'))
    assert keys_of(namespace) == []
