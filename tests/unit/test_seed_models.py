"""The seed's own models accept unknown fields (warned once per model and field, never kept); workflows do not."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import pytest

import coordination
from coordination import (
    AgentAssignment,
    AgentCoordinationState,
    ConditionalRule,
    CoordinationSignal,
    Dependency,
    ResourceAllocation,
    RoutingContext,
    SeedCompatibilityWarning,
    StateChangeRecord,
    Workflow,
    WorkflowError,
)
from coordination.errors import (
    ContextDistributionError,
    InvalidInputError,
    StateKeyError,
    StateLockTimeoutError,
)
from coordination.metrics import AlertRule, Metric, MetricType
from coordination.metrics.ring_buffer import RingBuffer
from coordination.models.seed import forget_warnings


@pytest.fixture(autouse=True)
def fresh_warnings() -> None:
    forget_warnings()


def seed_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, SeedCompatibilityWarning)]


def test_the_warning_is_a_user_warning_exported_by_the_package() -> None:
    assert issubclass(SeedCompatibilityWarning, UserWarning)
    assert "SeedCompatibilityWarning" in coordination.__all__


def test_an_unknown_field_is_warned_once_per_model_and_field_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")  # even so, each (model, field) is reported once
        for _ in range(3):
            ResourceAllocation(max_cpu_cores=2)  # type: ignore[call-arg]
        ResourceAllocation(max_execution_time_sec=300)  # type: ignore[call-arg]
        AgentAssignment(objective="o", tasks=[], max_cpu_cores=2)  # type: ignore[call-arg]

    reported = seed_warnings(caught)
    assert len(reported) == 3
    assert reported[0].startswith("ResourceAllocation: unknown field 'max_cpu_cores' is ignored and not stored")
    assert "max_memory_mb" in reported[0]  # the accepted fields are listed, so a misspelling is easy to see
    assert "ResourceAllocation: unknown field 'max_execution_time_sec'" in reported[1]
    assert "AgentAssignment: unknown field 'max_cpu_cores'" in reported[2]
    assert caplog.text.count("unknown field") == 3


def test_the_warning_points_at_the_callers_line() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ResourceAllocation(gpu=1)  # type: ignore[call-arg]

    [warning] = [w for w in caught if issubclass(w.category, SeedCompatibilityWarning)]
    assert warning.filename == __file__


SEED_MODELS: list[tuple[str, Any]] = [
    # The seed's own integration example.
    ("ResourceAllocation", lambda: ResourceAllocation(max_memory_mb=512, max_cpu_cores=2, max_execution_time_sec=300)),
    ("AgentAssignment", lambda: AgentAssignment(objective="o", tasks=["t"], priority=1)),
    (
        "CoordinationSignal",
        lambda: CoordinationSignal(signal_type="agent_completed", sender_agent_id="a", coordination_id="c", x=1),
    ),
    ("RoutingContext", lambda: RoutingContext(current_task="t", x=1)),
    # The seed's API reference shows ConditionalRule(metadata=...), a field its model never had.
    (
        "ConditionalRule",
        lambda: ConditionalRule(
            rule_id="r",
            name="n",
            condition_key="k",
            condition_operator="==",
            condition_value=1,
            decision="retry",
            x=1,
        ),
    ),
    ("StateChangeRecord", lambda: StateChangeRecord(version=1, key="k", operation="set", x=1)),
    ("AgentCoordinationState", lambda: AgentCoordinationState(session_id="s", agent_count=1, x=1)),
    ("Metric", lambda: Metric(metric_name="m", metric_type=MetricType.GAUGE, value=1.0, unit="u", x=1)),
    ("AlertRule", lambda: AlertRule(metric_name="m", threshold=1.0, operator="gt", severity="WARNING", x=1)),
]


@pytest.mark.parametrize(("model", "build"), SEED_MODELS, ids=[name for name, _ in SEED_MODELS])
def test_every_seed_model_ignores_unknown_fields_and_keeps_them_out_of_what_is_stored(model: str, build: Any) -> None:
    with pytest.warns(SeedCompatibilityWarning) as caught:
        built = build()

    assert all(str(w.message).startswith(f"{model}: unknown field") for w in caught)
    dumped = built.model_dump(mode="json")
    for warning in caught:
        field = str(warning.message).split("'")[1]
        assert field not in dumped and f'"{field}"' not in built.model_dump_json()


def test_the_dependency_dataclass_ignores_unknown_keywords_and_dict_keys() -> None:
    with pytest.warns(SeedCompatibilityWarning, match="Dependency: unknown field 'description'"):
        dependency = Dependency("d", "agent_completion", "builder", timeout=5, description="the builder")
    assert "description" not in dependency.to_dict()

    with pytest.warns(SeedCompatibilityWarning, match="Dependency: unknown field 'owner'"):
        again = Dependency.from_dict({**dependency.to_dict(), "owner": "someone"})
    assert again == dependency


@pytest.mark.parametrize(
    ("declaration", "field"),
    [
        ({"agents": {"a": {"resources": {"max_cpu_cores": 2}}}}, "agents.a.resources.max_cpu_cores"),
        ({"agents": {"a": {}}, "shared_intelligence": {"patterns": {}}}, "shared_intelligence.patterns"),
        ({"agents": {"a": {}}, "routing": {"parallel": [{"task_group": ["a"], "x": 1}]}}, "routing.parallel[0].x"),
        ({"agents": {"a": {}}, "routing": {"priority": {"x": 1}}}, "routing.priority.x"),
        (
            {
                "agents": {"a": {}},
                "routing": {
                    "rules": [
                        {
                            "rule_id": "r",
                            "name": "n",
                            "condition_key": "k",
                            "condition_operator": "==",
                            "condition_value": 1,
                            "decision": "retry",
                            "metadata": {},
                        }
                    ]
                },
            },
            "routing.rules[0].metadata",
        ),
    ],
)
def test_a_workflow_stays_strict_where_it_embeds_a_seed_model(declaration: dict[str, Any], field: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeedCompatibilityWarning)  # strict: no warning, an error
        with pytest.raises(WorkflowError) as raised:
            Workflow(name="w", **declaration)

    assert raised.value.field == field
    assert "Extra inputs are not permitted" in raised.value.problem


def test_a_workflow_takes_a_seed_model_instance_and_checks_the_fields_it_was_given() -> None:
    workflow = Workflow(name="w", agents={"a": {"resources": ResourceAllocation(max_memory_mb=1024)}})

    resources = workflow.spec.agents["a"].resources
    assert isinstance(resources, ResourceAllocation) and resources.max_memory_mb == 1024


# -- the seed's error wording, with the field named -----------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "field", "wording"),
    [
        (lambda: Dependency("d", "agent_completion", "a", timeout=0), "timeout", "Timeout must be positive, got 0"),
        (lambda: Dependency("d", "agent_completion", "a", timeout=-1.5), "timeout", "Timeout must be positive"),
        (
            lambda: Dependency("d", "agent_completion", "a", max_retries=-1),
            "max_retries",
            "max_retries must be non-negative, got -1",
        ),
        (
            lambda: Dependency("d", "telepathy", "a"),
            "dependency_type",
            "'telepathy' is not a valid DependencyType",
        ),
    ],
)
def test_dependency_errors_keep_the_seeds_wording_after_the_field(build: Any, field: str, wording: str) -> None:
    with pytest.raises(ValueError, match=wording) as raised:
        build()

    assert isinstance(raised.value, InvalidInputError) and raised.value.field == field


def test_state_errors_keep_the_seeds_messages() -> None:
    keys = [f"k{n}" for n in range(12)]
    assert str(StateKeyError("x", keys[:2])) == "Key 'x' not found in state. Available keys: k0, k1"
    assert str(StateKeyError("x", keys)).endswith("Available keys: k0, k1, k2, k3, k4, k5, k6, k7, k8, k9...")
    assert str(StateLockTimeoutError(1.5, "set")) == "Lock acquisition timeout after 1.5s for operation: set"


def test_a_context_distribution_error_is_the_seeds_runtime_error_and_names_the_field() -> None:
    error = ContextDistributionError("agent_assignments['a'].tasks", "a", "Input should be a valid list")

    assert isinstance(error, RuntimeError) and isinstance(error, ValueError)
    assert str(error) == (
        "agent_assignments['a'].tasks: Context distribution failed for agent 'a': Input should be a valid list"
    )


def test_the_ring_buffer_keeps_the_seeds_capacity_message() -> None:
    with pytest.raises(ValueError, match="Capacity must be positive, got 0"):
        RingBuffer(0)
