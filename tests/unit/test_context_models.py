"""Context models: the seed's fields and defaults, unknown fields ignored with a warning, aware UTC timestamps."""

from __future__ import annotations

from copy import deepcopy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from coordination import SeedCompatibilityWarning
from coordination.models.context import (
    SHARED_INTELLIGENCE_SECTIONS,
    AgentAssignment,
    AgentContext,
    ContextDistributionMetrics,
    ContextUpdateRequest,
    CoordinationMetadata,
    CoordinationProtocols,
    ResourceAllocation,
    SharedIntelligence,
)
from coordination.models.seed import forget_warnings


def metadata(**overrides: Any) -> CoordinationMetadata:
    fields: dict[str, Any] = {
        "session_id": "session-1",
        "coordination_id": "coord-1",
        "agent_id": "model-gen",
        "agent_role": "generator",
        **overrides,
    }
    return CoordinationMetadata(**fields)


def context(**overrides: Any) -> AgentContext:
    fields: dict[str, Any] = {
        "coordination_metadata": metadata(),
        "shared_intelligence": SharedIntelligence(),
        "agent_assignment": AgentAssignment(objective="Generate", tasks=["write"]),
        "coordination_protocols": CoordinationProtocols(),
        "resource_allocation": ResourceAllocation(),
        **overrides,
    }
    return AgentContext(**fields)


def test_defaults_are_the_seeds() -> None:
    assert ResourceAllocation().model_dump() == {
        "max_execution_time_ms": 300000,
        "max_retry_attempts": 3,
        "max_memory_mb": 512,
        "quality_threshold": 0.8,
        "timeout_ms": 30000,
        "concurrency_limit": 10,
    }
    assert CoordinationProtocols().model_dump() == {
        "update_interval_ms": 5000,
        "heartbeat_interval_ms": 10000,
        "status_update_channel": "state",
        "result_delivery_channel": "state",
        "error_reporting_channel": "state",
        "coordination_endpoint": None,
    }
    assert SharedIntelligence().model_dump() == {key: {} for key in SHARED_INTELLIGENCE_SECTIONS}
    assignment = AgentAssignment(objective="o", tasks=[])
    assert assignment.input_data == {} and assignment.dependencies == []
    assert assignment.output_requirements == {} and assignment.success_criteria == {}
    assert context().context_version == 1
    assert metadata().parent_workflow_id is None


def test_the_shared_intelligence_sections_are_exactly_its_fields() -> None:
    assert tuple(SharedIntelligence.model_fields) == SHARED_INTELLIGENCE_SECTIONS


@pytest.mark.parametrize(
    ("build", "field"),
    [
        # The seed's own integration example: both fields vanished silently there.
        (lambda: ResourceAllocation(max_cpu_cores=2, max_execution_time_sec=300), "max_cpu_cores"),
        # The seed's orchestrator docs.
        (lambda: SharedIntelligence(patterns={"a": ["b"]}, conventions={}), "patterns"),
        (lambda: CoordinationProtocols(retry_channel="x"), "retry_channel"),
        (lambda: AgentAssignment(objective="o", tasks=[], priority=1), "priority"),
        (lambda: metadata(team="a"), "team"),
        (lambda: context(assignment={}), "assignment"),
        (
            lambda: ContextUpdateRequest(coordination_id="c", update_type="type_registry", update_data={}, x=1),
            "x",
        ),
        (
            lambda: ContextDistributionMetrics(
                distribution_time_ms=1,
                context_size_bytes=1,
                agent_count=1,
                shared_intelligence_size_bytes=1,
                success=True,
                extra=1,
            ),
            "extra",
        ),
    ],
)
def test_unknown_fields_are_ignored_as_in_the_seed_with_a_warning_naming_them(build: Any, field: str) -> None:
    forget_warnings()
    with pytest.warns(SeedCompatibilityWarning) as warned:
        built = build()
    assert any(f"unknown field '{field}'" in str(warning.message) for warning in warned)
    assert field not in built.model_dump()  # kept out of what is stored


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: CoordinationProtocols(update_interval_ms=99), "update_interval_ms"),
        (lambda: CoordinationProtocols(heartbeat_interval_ms=0), "heartbeat_interval_ms"),
        (lambda: ResourceAllocation(max_execution_time_ms=999), "max_execution_time_ms"),
        (lambda: ResourceAllocation(max_retry_attempts=-1), "max_retry_attempts"),
        (lambda: ResourceAllocation(max_memory_mb=0), "max_memory_mb"),
        (lambda: ResourceAllocation(quality_threshold=1.5), "quality_threshold"),
        (lambda: ResourceAllocation(timeout_ms=99), "timeout_ms"),
        (lambda: ResourceAllocation(concurrency_limit=0), "concurrency_limit"),
        (lambda: context(context_version=0), "context_version"),
        (lambda: AgentAssignment(objective="o"), "tasks"),
        (lambda: AgentAssignment(objective="o", tasks="not a list"), "tasks"),
        (lambda: SharedIntelligence(naming_conventions={"class": 1}), "naming_conventions"),
        (
            lambda: ContextDistributionMetrics(
                distribution_time_ms=1,
                context_size_bytes=1,
                agent_count=0,
                shared_intelligence_size_bytes=1,
                success=True,
            ),
            "agent_count",
        ),
    ],
)
def test_constraints_are_the_seeds(build: Any, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        build()


@pytest.mark.parametrize("model", [ResourceAllocation, CoordinationProtocols])
def test_allocations_and_protocols_are_frozen(model: Any) -> None:
    instance = model()
    name = next(iter(model.model_fields))
    with pytest.raises(ValidationError, match="frozen"):
        setattr(instance, name, getattr(instance, name))
    assert hash(instance) == hash(model())


@pytest.mark.parametrize("field", ["session_id", "coordination_id", "parent_workflow_id", "created_at"])
def test_the_coordination_identity_of_metadata_is_frozen(field: str) -> None:
    with pytest.raises(ValidationError, match="frozen"):
        setattr(metadata(), field, "other")


def test_the_template_reuse_recipe_of_the_seed_guide_works() -> None:
    # The seed guide's "Reuse contexts for similar agents": the seed's frozen model broke it.
    template = context()

    agent_context = deepcopy(template)
    agent_context.coordination_metadata.agent_id = "similar-1"
    agent_context.coordination_metadata.agent_role = "helper"

    assert agent_context.coordination_metadata.agent_id == "similar-1"
    assert template.coordination_metadata.agent_id == "model-gen"


@pytest.mark.parametrize("bad", ["", "has space", "a/b", "x" * 129, "{tag}"])
def test_metadata_ids_must_be_usable_as_keys(bad: str) -> None:
    with pytest.raises(ValidationError, match="agent_id"):
        metadata(agent_id=bad)
    with pytest.raises(ValidationError, match="coordination_id"):
        metadata(coordination_id=bad)
    with pytest.raises(ValidationError, match="agent_id"):
        metadata().agent_id = bad


def test_timestamps_are_aware_utc() -> None:
    assert metadata().created_at.tzinfo is UTC
    naive = metadata(created_at=datetime(2024, 1, 2, 3, 4, 5))
    assert naive.created_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    shifted = metadata(created_at=datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))))
    assert shifted.created_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert shifted.created_at.tzinfo is UTC
    assert '"created_at":"2024-01-02T03:04:05Z"' in shifted.model_dump_json()


def test_a_context_survives_a_json_round_trip() -> None:
    original = context(
        shared_intelligence=SharedIntelligence(type_registry={"User": {"fields": ["id"]}}),
        context_version=4,
    )

    assert AgentContext.model_validate_json(original.model_dump_json()) == original


@pytest.mark.parametrize("section", SHARED_INTELLIGENCE_SECTIONS)
def test_an_update_request_accepts_every_shared_intelligence_section(section: str) -> None:
    request = ContextUpdateRequest(coordination_id="c", update_type=section, update_data={})

    assert request.update_type == section
    assert request.target_agents is None and request.increment_version is True


@pytest.mark.parametrize("update_type", ["patterns", "conventions", "", "Type_Registry"])
def test_an_update_request_refuses_an_unknown_section_naming_update_type(update_type: str) -> None:
    # The seed accepted it and then reported False for every agent.
    with pytest.raises(ValidationError, match="update_type") as raised:
        ContextUpdateRequest(coordination_id="c", update_type=update_type, update_data={})
    assert "type_registry" in str(raised.value)
