"""Declarations hold only numbers a worker can use, and a stored workflow spec reads back equal.

Non-finite numbers (``inf``, ``-inf``, ``nan``, and their spellings ``"Infinity"``, ``".inf"``...) are refused in
every numeric field with the field named; times, retries and weights are bounded (coordination/limits.py), so
``timeout: 1e308`` is an input error, never an ``OverflowError`` later.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordination import Workflow, WorkflowError
from coordination.errors import InvalidInputError
from coordination.jsonutil import MAX_SAFE_INTEGER
from coordination.limits import MAX_INTERVAL_MS, MAX_RETRIES, MAX_ROUTING_WEIGHT, MAX_TIMEOUT_SECONDS
from coordination.models.context import CoordinationProtocols, ResourceAllocation, SharedIntelligence
from coordination.models.dependencies import Dependency, DependencyType
from coordination.models.routing import ConditionalRule, ParallelizationHint
from coordination.models.workflow import WorkflowSpec

NON_FINITE = [math.inf, -math.inf, math.nan, "inf", "-inf", "nan", "Infinity", "-Infinity", "NaN"]


def declaration(**parts: Any) -> dict[str, Any]:
    return {"name": "wf", "agents": {"a": {}, "b": {"depends_on": ["a"]}}, **parts}


def refusal(data: dict[str, Any]) -> WorkflowError:
    with pytest.raises(WorkflowError) as refused:
        Workflow(**data)
    return refused.value


def gate(**fields: Any) -> dict[str, Any]:
    return {"dependencies": [{"id": "g", "agent": "b", "type": "quality_gate", "target": "quality", **fields}]}


def rule(operator: str, value: Any) -> dict[str, Any]:
    return {
        "routing": {
            "rules": [
                {
                    "rule_id": "r",
                    "name": "n",
                    "condition_key": "q",
                    "condition_operator": operator,
                    "condition_value": value,
                    "decision": "retry",
                }
            ]
        }
    }


# -- non-finite numbers, each field named ------------------------------------------------------------------------

FLOAT_FIELDS = [
    (lambda v: gate(timeout=v), "dependencies[0].timeout"),
    (lambda v: gate(threshold=v), "dependencies[0].threshold"),
    (lambda v: {"routing": {"weights": {"conditional": v}}}, "routing.weights.conditional"),
    (lambda v: {"routing": {"state_analysis": {"max_complexity_score": v}}}, "routing.state_analysis"),
    (lambda v: {"routing": {"parallel": [{"task_group": ["a"], "estimated_duration_ms": v}]}}, "routing.parallel[0]"),
    (lambda v: {"agents": {"a": {"resources": {"quality_threshold": v}}}}, "agents.a.resources.quality_threshold"),
]


@pytest.mark.parametrize("value", NON_FINITE, ids=repr)
@pytest.mark.parametrize(("build", "field"), FLOAT_FIELDS, ids=[field for _, field in FLOAT_FIELDS])
def test_non_finite_numbers_are_refused_in_every_float_field(build, field, value):
    refused = refusal(declaration(**build(value)))
    assert refused.field.startswith(field)
    assert refused.problem


@pytest.mark.parametrize("operator", ["==", "!=", "<", ">=", "contains"])
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan], ids=repr)
def test_a_rules_condition_value_must_be_finite_whatever_the_operator(operator, value):
    refused = refusal(declaration(**rule(operator, value)))
    assert refused.field == "routing.rules[0].condition_value"
    assert "finite" in refused.problem


@pytest.mark.parametrize("value", [[1, math.inf], (math.nan,), {"x": [math.inf]}], ids=repr)
def test_non_finite_numbers_inside_a_condition_value_are_refused(value):
    refused = refusal(declaration(**rule("in", value)))
    assert refused.field.startswith("routing.rules[0].condition_value")


def test_the_seed_rule_model_refuses_non_finite_values_too():
    with pytest.raises(ValueError, match="condition_value"):
        ConditionalRule(
            rule_id="r", name="n", condition_key="q", condition_operator="<", condition_value=math.inf, decision="end"
        )


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"x": math.nan}, "agents.a.input_data.x"),
        ({"x": [1, {"y": -math.inf}]}, "agents.a.input_data.x[1].y"),
        ({"x": MAX_SAFE_INTEGER + 1}, "agents.a.input_data.x"),
        ({"x": {1, 2}}, "agents.a.input_data.x"),
        ({"x": "\ud800"}, "agents.a.input_data.x"),
    ],
    ids=["nan", "nested-inf", "huge-int", "set", "surrogate"],
)
def test_free_form_values_follow_the_one_json_rule_with_the_path_named(value, where):
    refused = refusal(declaration(agents={"a": {"input_data": value}}))
    assert refused.field == where


def test_a_lone_surrogate_in_any_text_field_is_refused_before_anything_is_stored():
    refused = refusal(declaration(description="ok \udfff"))
    assert refused.field == "description"
    assert "surrogate" in refused.problem


# -- bounds --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [1e308, MAX_TIMEOUT_SECONDS + 1, 10**30])
def test_timeouts_are_bounded_to_30_days(timeout):
    refused = refusal(declaration(**gate(timeout=timeout)))
    assert refused.field == "dependencies[0].timeout"
    assert str(MAX_TIMEOUT_SECONDS) in refused.problem


def test_a_30_day_timeout_is_accepted():
    assert Workflow(**declaration(**gate(timeout=MAX_TIMEOUT_SECONDS))).spec.dependencies[0].timeout == 2_592_000


@pytest.mark.parametrize("weight", [-0.1, -1, MAX_ROUTING_WEIGHT * 2])
def test_routing_weights_are_refused_at_declaration_when_negative_or_huge(weight):
    refused = refusal(declaration(routing={"weights": {"priority": weight}}))
    assert refused.field == "routing.weights.priority"


@pytest.mark.parametrize("attempts", [MAX_RETRIES + 1, 100_000_000])
def test_max_retry_attempts_is_bounded(attempts):
    refused = refusal(declaration(agents={"a": {"resources": {"max_retry_attempts": attempts}}}))
    assert refused.field == "agents.a.resources.max_retry_attempts"
    assert "100" in refused.problem


def test_the_bounds_themselves_are_accepted():
    allocation = ResourceAllocation(
        max_execution_time_ms=MAX_TIMEOUT_SECONDS * 1000,
        max_retry_attempts=MAX_RETRIES,
        timeout_ms=MAX_TIMEOUT_SECONDS * 1000,
    )
    spec = Workflow(**declaration(agents={"a": {}, "b": {"depends_on": ["a"], "resources": allocation}})).spec
    # The depends_on shorthand's derived time-out stays within the bound on time-outs.
    assert spec.all_dependencies()[0].timeout == MAX_TIMEOUT_SECONDS


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        (ResourceAllocation, "max_execution_time_ms", MAX_TIMEOUT_SECONDS * 1000 + 1),
        (ResourceAllocation, "max_memory_mb", 10**12),
        (ResourceAllocation, "timeout_ms", 10**15),
        (ResourceAllocation, "concurrency_limit", 10**9),
        (CoordinationProtocols, "update_interval_ms", MAX_INTERVAL_MS + 1),
        (CoordinationProtocols, "heartbeat_interval_ms", 10**18),
        (ParallelizationHint, "estimated_duration_ms", 1e300),
    ],
)
def test_every_numeric_field_of_a_declaration_has_an_upper_bound(model, field, value):
    extra = {"task_group": ["a"]} if model is ParallelizationHint else {}
    with pytest.raises(ValueError, match=field):
        model(**{field: value}, **extra)


@pytest.mark.parametrize("interval", [MAX_INTERVAL_MS + 1, -1])
def test_a_dependencys_check_interval_is_bounded(interval):
    refused = refusal(declaration(**gate(check_interval_ms=interval)))
    assert refused.field == "dependencies[0].check_interval_ms"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"timeout": math.inf}, "timeout"),
        ({"timeout": math.nan}, "timeout"),
        ({"timeout": 1e308}, "timeout"),
        ({"max_retries": MAX_RETRIES + 1}, "max_retries"),
        ({"retry_count": -1}, "retry_count"),
    ],
)
def test_the_seed_dependency_dataclass_has_the_same_bounds(fields, field):
    with pytest.raises(InvalidInputError) as refused:
        Dependency("d", DependencyType.QUALITY_GATE, "gate", **fields)
    assert refused.value.field == field


# -- modules -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (".agents", "relative"),
        ("..agents", "relative"),
        ("pkg/agents", "a path"),
        ("pkg\\agents", "a path"),
        ("agents.py", "a path"),
        ("pkg..agents", "not a dotted Python module name"),
        ("pkg.1agents", "not a dotted Python module name"),
        ("pkg.agents ", "not a dotted Python module name"),
        ("pkg-agents", "not a dotted Python module name"),
        ("x" * 201, "longer than 200"),
        (42, "valid string"),
    ],
)
def test_module_entries_must_be_absolute_dotted_names(module, problem):
    refused = refusal(declaration(modules=["examples.codegen", module]))
    assert refused.field == "modules[1]"
    assert problem in refused.problem


def test_module_names_like_packages_are_accepted():
    spec = Workflow(**declaration(modules=["examples.codegen", "_private.mod_2", "a"])).spec
    assert spec.modules == ["examples.codegen", "_private.mod_2", "a"]


# -- round trip: what is stored reads back equal -----------------------------------------------------------------

LOWER = "abcdefghijklmnopqrstuvwxyz"
ids = st.builds(str.__add__, st.sampled_from(LOWER), st.text(LOWER + "0123456789-", max_size=8))
modules = st.lists(st.text(LOWER + "_", min_size=1, max_size=6), min_size=1, max_size=3).map(".".join)
finite = st.floats(allow_nan=False, allow_infinity=False)
safe_integers = st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
json_scalars = st.none() | st.booleans() | safe_integers | finite | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(max_size=6), json_values, max_size=3)


@st.composite
def workflows(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(ids, min_size=1, max_size=5, unique=True))
    agents: dict[str, Any] = {}
    for index, agent in enumerate(names):
        agents[agent] = {
            "objective": draw(st.text(max_size=10)),
            "tasks": draw(st.lists(st.text(max_size=5), max_size=2)),
            "depends_on": draw(st.lists(st.sampled_from(names[:index]), unique=True)) if index else [],
            "input_data": draw(json_objects),
            "success_criteria": draw(json_objects),
            "priority": draw(st.integers(0, 100)),
            "resources": {
                "max_execution_time_ms": draw(st.integers(1000, MAX_TIMEOUT_SECONDS * 1000)),
                "max_retry_attempts": draw(st.integers(0, MAX_RETRIES)),
                "quality_threshold": draw(st.floats(0, 1)),
            },
        }
    dependencies = [
        {
            "id": f"d{index}",
            "agent": draw(st.sampled_from(names)),
            "type": kind,
            "target": draw(ids),
            "timeout": draw(st.floats(min_value=0, max_value=MAX_TIMEOUT_SECONDS, exclude_min=True)),
            "threshold": draw(st.floats(0, 1)),
            "check_interval_ms": draw(st.none() | st.integers(0, MAX_INTERVAL_MS)),
            "max_retries": draw(st.integers(0, MAX_RETRIES)),
        }
        for index, kind in enumerate(draw(st.lists(st.sampled_from(["quality_gate", "resource_availability"]))))
    ]
    operator = draw(st.sampled_from(["==", "!=", "<", ">=", "in", "contains"]))
    value: Any
    if operator in ("<", ">="):
        value = draw(finite | safe_integers | st.text(max_size=4))
    elif operator == "in":
        value = draw(st.lists(json_scalars, max_size=3) | st.tuples(json_scalars))
    else:
        value = draw(json_values)
    rules = [
        {
            "rule_id": "r1",
            "name": draw(st.text(min_size=1, max_size=8)),
            "condition_key": "q",
            "condition_operator": operator,
            "condition_value": value,
            "decision": draw(st.sampled_from(["retry", "end", "skip", "continue"])),
            "agents": draw(st.lists(st.sampled_from(names), unique=True)),
        }
    ]
    return {
        "name": draw(ids),
        "description": draw(st.text(max_size=20)),
        "modules": draw(st.lists(modules, max_size=2)),
        "agents": agents,
        "dependencies": dependencies,
        "routing": {
            "rules": rules,
            "weights": draw(
                st.dictionaries(
                    st.sampled_from(["conditional", "parallel", "state_analysis", "priority"]),
                    st.floats(0, MAX_ROUTING_WEIGHT),
                )
            ),
            "state_analysis": draw(st.none() | st.just({"max_complexity_score": 0.5})),
        },
        "shared_intelligence": {
            "type_registry": draw(json_objects),
            "validation_rules": draw(json_objects),
            "naming_conventions": draw(st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2)),
        },
    }


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows())
def test_a_stored_spec_reads_back_equal(data):
    spec = Workflow(**data).spec
    stored = spec.model_dump_json()
    assert WorkflowSpec.model_validate_json(stored) == spec
    assert WorkflowSpec.model_validate_json(stored).model_dump_json() == stored


def test_free_form_sections_of_shared_intelligence_refuse_what_json_cannot_carry():
    with pytest.raises(ValueError, match=r"type_registry\.when"):
        SharedIntelligence(type_registry={"when": {1, 2}})
