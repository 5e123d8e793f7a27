"""Dependency models (pure): validation, status transitions and round trips."""

from __future__ import annotations

from typing import Any

import pytest

from coordination.errors import InvalidInputError
from coordination.models.dependencies import (
    AgentCompletionConfig,
    Dependency,
    DependencyResolutionResult,
    DependencyStatus,
    DependencyType,
    QualityGateConfig,
    ResourceAvailabilityConfig,
)


def test_a_dependency_has_the_seed_defaults() -> None:
    dependency = Dependency("d1", DependencyType.AGENT_COMPLETION, "builder")

    assert dependency.timeout == 120
    assert (dependency.retry_count, dependency.max_retries) == (0, 3)
    assert dependency.metadata == {}
    assert dependency.status is DependencyStatus.PENDING
    assert dependency.resolved_at is None
    assert dependency.error_message is None


def test_type_and_status_given_as_strings_become_enums() -> None:
    dependency = Dependency("d1", "quality_gate", "coverage", status="in_progress")  # type: ignore[arg-type]

    assert dependency.dependency_type is DependencyType.QUALITY_GATE
    assert dependency.status is DependencyStatus.IN_PROGRESS


@pytest.mark.parametrize("timeout", [0.001, 0.3, 1, 120, 3600.5])
def test_a_positive_timeout_is_accepted_including_fractions(timeout: float) -> None:
    assert Dependency("d1", "agent_completion", "a", timeout=timeout).timeout == timeout


@pytest.mark.parametrize("timeout", [0, -1, -0.1, True, None, "5"])
def test_a_timeout_that_is_not_a_positive_number_is_refused_naming_timeout(timeout: Any) -> None:
    with pytest.raises(InvalidInputError) as raised:
        Dependency("d1", "agent_completion", "a", timeout=timeout)

    assert raised.value.field == "timeout"
    assert "timeout" in str(raised.value)


@pytest.mark.parametrize("max_retries", [-1, 1.5, "3"])
def test_a_negative_or_non_integer_max_retries_is_refused(max_retries: Any) -> None:
    with pytest.raises(InvalidInputError) as raised:
        Dependency("d1", "agent_completion", "a", max_retries=max_retries)

    assert raised.value.field == "max_retries"


def test_an_unknown_dependency_type_is_refused_listing_the_known_ones() -> None:
    with pytest.raises(InvalidInputError) as raised:
        Dependency("d1", "telepathy", "a")  # type: ignore[arg-type]

    assert raised.value.field == "dependency_type"
    for known in ("agent_completion", "resource_availability", "quality_gate"):
        assert known in raised.value.problem


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(InvalidInputError) as raised:
        Dependency("d1", "agent_completion", "a", status="done")  # type: ignore[arg-type]

    assert raised.value.field == "status"


def test_metadata_must_be_a_dict() -> None:
    with pytest.raises(InvalidInputError) as raised:
        Dependency("d1", "agent_completion", "a", metadata=["x"])  # type: ignore[arg-type]

    assert raised.value.field == "metadata"


def test_mark_resolved_records_an_aware_time() -> None:
    dependency = Dependency("d1", "agent_completion", "a")

    dependency.mark_resolved()

    assert dependency.status is DependencyStatus.RESOLVED
    assert dependency.resolved_at is not None
    assert dependency.resolved_at.tzinfo is not None


def test_mark_failed_keeps_the_message() -> None:
    dependency = Dependency("d1", "agent_completion", "a")

    dependency.mark_failed("agent a completed with an error")

    assert dependency.status is DependencyStatus.FAILED
    assert dependency.error_message == "agent a completed with an error"


def test_mark_timeout_says_how_long_it_waited() -> None:
    dependency = Dependency("d1", "agent_completion", "a", timeout=0.5)

    dependency.mark_timeout()

    assert dependency.status is DependencyStatus.TIMEOUT
    assert dependency.error_message == "Dependency 'd1' timed out after 0.5s"


def test_increment_retry_allows_up_to_max_retries() -> None:
    dependency = Dependency("d1", "agent_completion", "a", max_retries=2)

    assert [dependency.increment_retry() for _ in range(3)] == [True, True, False]
    assert dependency.retry_count == 3


def test_to_dict_is_json_ready_and_from_dict_round_trips() -> None:
    dependency = Dependency("d1", "resource_availability", "db", timeout=1.5, metadata={"check_interval_ms": 50})
    dependency.mark_resolved()

    data = dependency.to_dict()

    assert data["dependency_type"] == "resource_availability"
    assert data["status"] == "resolved"
    assert isinstance(data["resolved_at"], str)
    assert Dependency.from_dict(data) == dependency


def test_from_dict_validates_like_the_constructor() -> None:
    data = Dependency("d1", "agent_completion", "a").to_dict()
    data["timeout"] = 0

    with pytest.raises(InvalidInputError) as raised:
        Dependency.from_dict(data)

    assert raised.value.field == "timeout"


def test_a_resolution_result_serialises_its_status() -> None:
    result = DependencyResolutionResult("c1", "d1", False, DependencyStatus.FAILED, 12.5, error_message="boom")

    assert result.attempts == 1
    assert result.to_dict() == {
        "coordination_id": "c1",
        "dependency_id": "d1",
        "success": False,
        "status": "failed",
        "duration_ms": 12.5,
        "attempts": 1,
        "error_message": "boom",
        "metadata": {},
    }


def test_configs_turn_into_dependency_metadata() -> None:
    assert AgentCompletionConfig("builder").to_metadata() == {
        "agent_id": "builder",
        "completion_event": "completion",
        "require_success": True,
    }
    assert ResourceAvailabilityConfig("db", "database").to_metadata() == {
        "resource_id": "db",
        "resource_type": "database",
        "check_interval_ms": 100,
        "availability_threshold": 1.0,
    }
    assert QualityGateConfig("coverage", "tests", 0.9).to_metadata() == {
        "gate_id": "coverage",
        "gate_type": "tests",
        "threshold": 0.9,
        "check_interval_ms": 500,
    }


def test_the_enums_keep_the_seed_values() -> None:
    # The seed's three types, unchanged and first; the pipeline adds approvals after them.
    assert [member.value for member in DependencyType] == [
        "agent_completion",
        "resource_availability",
        "quality_gate",
        "approval",
    ]
    assert [member.value for member in DependencyStatus] == [
        "pending",
        "in_progress",
        "resolved",
        "failed",
        "timeout",
    ]
