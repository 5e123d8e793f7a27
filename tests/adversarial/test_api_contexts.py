"""ContextDistributor: bad ids, assignments and values are refused before the transaction; nothing is stored.

Contexts follow the same JSON rule as state and signals (one encoder): sets and datetimes are refused, not turned
into lists and text.
"""

from __future__ import annotations

import pytest

from coordination.errors import InvalidIdError, InvalidInputError, PayloadTooLargeError
from coordination.models.context import ContextUpdateRequest
from tests.adversarial.conftest import BAD_ID_VALUES, BAD_IDS, BAD_JSON_IDS, BAD_JSON_VALUES

pytestmark = pytest.mark.redis


def distribute(seeded, coordination_state=None, assignments=None, **extra):
    return seeded["contexts"].distribute_agent_context_sync(
        coordination_state or {"coordination_id": "c1", "session_id": "s1"},
        assignments or {"a1": {"objective": "new"}},
        **extra,
    )


@pytest.mark.parametrize("bad", [value for value in BAD_ID_VALUES if value not in ("", None)], ids=repr)
def test_a_bad_coordination_id_is_refused(bad, seeded, refused):
    refused(
        lambda: distribute(seeded, {"coordination_id": bad, "session_id": "s1"}), InvalidIdError, "coordination_state"
    )


def test_a_session_id_json_cannot_carry_is_refused_naming_it(seeded, refused):
    # Was a UnicodeEncodeError from the Redis client.
    state = {"coordination_id": "c1", "session_id": "session \ud800"}
    refused(lambda: distribute(seeded, state), InvalidInputError, "coordination_state['session_id']", "lone surrogate")


@pytest.mark.parametrize("bad", BAD_IDS[1:], ids=repr)
def test_a_bad_agent_id_is_refused_and_the_good_agents_are_not_written_either(bad, seeded, refused):
    refused(lambda: distribute(seeded, assignments={"a1": {}, bad: {}}), InvalidIdError, "agent_assignments")


@pytest.mark.parametrize(("case", "value", "error", "words"), BAD_JSON_VALUES, ids=BAD_JSON_IDS)
def test_input_data_outside_the_json_rule_is_refused(case, value, error, words, seeded, refused):
    assignments = {"a1": {}, "a2": {"input_data": {"x": value}}}
    refused(lambda: distribute(seeded, assignments=assignments), error, "agent_assignments['a2'].input_data.x", words)


@pytest.mark.parametrize(("case", "value", "error", "words"), BAD_JSON_VALUES, ids=BAD_JSON_IDS)
def test_shared_intelligence_outside_the_json_rule_is_refused(case, value, error, words, seeded, refused):
    shared = {"type_registry": {"x": value}}
    refused(lambda: distribute(seeded, shared_intelligence=shared), error, "shared_intelligence.type_registry.x", words)


@pytest.mark.parametrize(
    ("assignment", "field", "words"),
    [
        ({"objective": 3}, "agent_assignments['a1'].objective", "valid string"),
        ({"tasks": "one"}, "agent_assignments['a1'].tasks", "valid list"),
        # (An unknown assignment field is accepted with a SeedCompatibilityWarning: the seed ignored them.)
        ({"agent_role": ""}, "agent_assignments['a1'].agent_role", "non-empty"),
        ({"agent_role": "writer \ud800"}, "agent_assignments['a1'].agent_role", "lone surrogate"),
        ({"tasks": ["ok", "\udfff"]}, "agent_assignments['a1'].tasks[1]", "lone surrogate"),
        ({"objective": "\ud800"}, "agent_assignments['a1'].objective", "lone surrogate"),
        ({"input_data": "text"}, "agent_assignments['a1'].input_data", "valid dictionary"),
        ("not a dict", "agent_assignments['a1']", "must be a dict"),
    ],
)
def test_malformed_assignments_are_refused(assignment, field, words, seeded, refused):
    refused(lambda: distribute(seeded, assignments={"a1": assignment}), InvalidInputError, field, words)


@pytest.mark.parametrize(
    ("allocation", "field"),
    [
        ({"max_retry_attempts": 100_000_000}, "resource_allocations['a1'].max_retry_attempts"),
        ({"max_execution_time_ms": 10**15}, "resource_allocations['a1'].max_execution_time_ms"),
        ({"quality_threshold": float("nan")}, "resource_allocations['a1'].quality_threshold"),
        ({"quality_threshold": "Infinity"}, "resource_allocations['a1'].quality_threshold"),
        ({"concurrency_limit": 0}, "resource_allocations['a1'].concurrency_limit"),
        # (An unknown allocation field such as max_cpu_cores is accepted with a SeedCompatibilityWarning.)
    ],
)
def test_resource_allocations_out_of_bounds_are_refused(allocation, field, seeded, refused):
    refused(lambda: distribute(seeded, resource_allocations={"a1": allocation}), InvalidInputError, field)


def test_an_oversized_context_is_refused_naming_the_agent(seeded, refused):
    assignments = {"a1": {"input_data": {"blob": "x" * 2_000_000}}}
    refused(lambda: distribute(seeded, assignments=assignments), PayloadTooLargeError, "context of agent 'a1'")


@pytest.mark.parametrize("bad", BAD_IDS[1:], ids=repr)
def test_reading_with_a_bad_agent_id_is_refused(bad, seeded, refused):
    refused(lambda: seeded["contexts"].get_agent_context("c1", bad), InvalidIdError, "agent_id")


@pytest.mark.parametrize(
    ("update", "field"),
    [
        ({"update_type": "type_registry", "update_data": {"T": {1, 2}}}, "update_data.T"),
        ({"update_type": "type_registry", "update_data": {"T": float("inf")}}, "update_data.T"),
        ({"update_type": "naming_conventions", "update_data": {"model": 3}}, "update_data.model"),
        ({"update_type": "dependency_graph", "update_data": {"a": "b"}}, "update_data.a"),
    ],
)
def test_shared_intelligence_updates_are_checked_before_any_context_changes(update, field, seeded, refused):
    request = ContextUpdateRequest(coordination_id="c1", **update)
    refused(lambda: seeded["contexts"].update_shared_intelligence(request), InvalidInputError, field)


def test_an_update_naming_a_bad_target_agent_is_refused(seeded, refused):
    request = ContextUpdateRequest.model_construct(
        coordination_id="c1",
        update_type="type_registry",
        update_data={"T": 1},
        target_agents=["a1", "bad agent"],
        increment_version=True,
    )
    refused(lambda: seeded["contexts"].update_shared_intelligence(request), InvalidIdError, "target_agents")
