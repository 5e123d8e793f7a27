"""Workflow(...): every bad declaration is a WorkflowError naming the field, raised before anything is stored."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordination import Workflow, WorkflowError

pytestmark = pytest.mark.redis

Build = Callable[[Any], dict[str, Any]]


def base(**parts: Any) -> dict[str, Any]:
    declaration: dict[str, Any] = {"name": "wf", "agents": {"a": {}, "b": {"depends_on": ["a"]}}}
    declaration.update(parts)
    return declaration


def with_dependency(**fields: Any) -> dict[str, Any]:
    dependency = {"id": "d", "agent": "b", "type": "quality_gate", "target": "g", **fields}
    return base(dependencies=[dependency])


def with_rule(**fields: Any) -> dict[str, Any]:
    rule = {
        "rule_id": "r",
        "name": "n",
        "condition_key": "q",
        "condition_operator": "<",
        "condition_value": 0.5,
        "decision": "retry",
        **fields,
    }
    return base(routing={"rules": [rule]})


def with_agent(**fields: Any) -> dict[str, Any]:
    return base(agents={"a": fields, "b": {"depends_on": ["a"]}})


GATE_ON_A = {"id": "d", "agent": "a", "type": "quality_gate", "target": "g"}


def nested(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


NUMERIC_FIELDS: list[tuple[str, Build]] = [
    ("dependencies[0].timeout", lambda v: with_dependency(timeout=v)),
    ("dependencies[0].threshold", lambda v: with_dependency(threshold=v)),
    ("dependencies[0].check_interval_ms", lambda v: with_dependency(check_interval_ms=v)),
    ("dependencies[0].max_retries", lambda v: with_dependency(max_retries=v)),
    ("routing.weights.conditional", lambda v: base(routing={"weights": {"conditional": v}})),
    ("routing.rules[0].priority", lambda v: with_rule(priority=v)),
    ("routing.priority.high_priority_threshold", lambda v: base(routing={"priority": {"high_priority_threshold": v}})),
    ("agents.a.priority", lambda v: with_agent(priority=v)),
    ("agents.a.resources.max_retry_attempts", lambda v: with_agent(resources={"max_retry_attempts": v})),
    ("agents.a.resources.max_execution_time_ms", lambda v: with_agent(resources={"max_execution_time_ms": v})),
    ("agents.a.resources.quality_threshold", lambda v: with_agent(resources={"quality_threshold": v})),
]
BAD_NUMBERS: list[Any] = [math.inf, -math.inf, math.nan, "Infinity", ".inf", "nan", 1e308, -1, 10**20]


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
@pytest.mark.parametrize(("field", "build"), NUMERIC_FIELDS, ids=[field for field, _ in NUMERIC_FIELDS])
def test_numbers_that_are_not_finite_or_out_of_bounds_are_refused(field, build, value, store):
    with store.unchanged(), pytest.raises(WorkflowError) as raised:
        Workflow(**build(value))
    assert raised.value.field == field


BAD_IDS = ["", "has space", "-dash", "x" * 129, "é", "\x1b[31m", "[/x]", "a/b"]
ID_FIELDS: list[tuple[str, Build]] = [
    ("agents", lambda v: base(agents={"a": {}, v: {}})),
    ("dependencies[0].id", lambda v: with_dependency(id=v)),
    ("dependencies[0].agent", lambda v: with_dependency(agent=v)),
    ("dependencies[0].target", lambda v: with_dependency(target=v)),
    ("agents.a.task", lambda v: with_agent(task=v)),
    ("name", lambda v: base(name=v)),
    ("agents", lambda v: base(agents={"a": {}, "b": {"depends_on": [v]}})),
    ("routing.rules[0].agents", lambda v: with_rule(agents=[v])),
    ("routing.rules[0].next_task", lambda v: with_rule(decision="branch", next_task=v)),
]


@pytest.mark.parametrize("value", BAD_IDS, ids=repr)
@pytest.mark.parametrize(("field", "build"), ID_FIELDS, ids=[f"{field}-{n}" for n, (field, _) in enumerate(ID_FIELDS)])
def test_ids_that_cannot_become_keys_are_refused(field, build, value, store):
    with store.unchanged(), pytest.raises(WorkflowError) as raised:
        Workflow(**build(value))
    assert raised.value.field.startswith(field)


@pytest.mark.parametrize(
    ("declaration", "field", "words"),
    [
        (base(agents={"a": {"depends_on": ["b"]}, "b": {"depends_on": ["a"]}}), "agents", "cycle"),
        (base(agents={"a": {"depends_on": ["a"]}}), "agents", "depend on itself"),
        (base(agents={}), "agents", "at least 1"),
        (base(colour="red"), "colour", "Extra inputs"),
        (with_agent(colour="red"), "agents.a.colour", "Extra inputs"),
        (base(dependencies=[GATE_ON_A, GATE_ON_A]), "dependencies[1].id", "duplicate"),
        (with_dependency(type="psychic"), "dependencies[0].type", "Input should be"),
        (with_rule(condition_operator="~="), "routing.rules[0].condition_operator", "unknown operator"),
        (with_rule(condition_operator="in", condition_value="abc"), "routing.rules[0].condition_value", "collection"),
        (with_rule(condition_value=math.inf), "routing.rules[0].condition_value", "finite"),
        (
            with_rule(condition_operator="==", condition_value={"x": [math.nan]}),
            "routing.rules[0].condition_value",
            "finite",
        ),
        (with_rule(decision="branch"), "routing.rules[0].next_task", "needs a next_task"),
        (with_rule(decision="teleport"), "routing.rules[0].decision", "Input should be"),
        (base(modules=[".relative"]), "modules[0]", "relative"),
        (base(modules=["pkg/agents.py"]), "modules[0]", "path"),
        (base(modules=[""]), "modules[0]", "empty"),
        (base(description="ok\ud800"), "description", "surrogate"),
        (with_agent(objective="ok\udfff"), "agents.a.objective", "surrogate"),
        (with_agent(input_data={"when": {1, 2}}), "agents.a.input_data.when", "set"),
        (with_agent(input_data={"n": 2**63}), "agents.a.input_data.n", "2**53 - 1"),
        (with_agent(success_criteria={"deep": nested(64)}), "agents.a.success_criteria.deep", "levels"),
        (
            base(shared_intelligence={"type_registry": {"t": float("nan")}}),
            "shared_intelligence.type_registry.t",
            "finite",
        ),
        (
            base(shared_intelligence={"naming_conventions": {"model": 3}}),
            "shared_intelligence.naming_conventions",
            "string",
        ),
    ],
)
def test_bad_declarations_are_refused_naming_the_field(declaration, field, words, store):
    with store.unchanged(), pytest.raises(WorkflowError) as raised:
        Workflow(**declaration)
    assert raised.value.field.startswith(field)
    assert words in raised.value.problem


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(timeout=st.floats().filter(lambda value: not 0 < value <= 30 * 24 * 3600))
def test_any_timeout_outside_0_to_30_days_is_refused(timeout, store):
    with store.unchanged(), pytest.raises(WorkflowError) as raised:
        Workflow(**with_dependency(timeout=timeout))
    assert raised.value.field == "dependencies[0].timeout"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(weight=st.floats().filter(lambda value: not 0 <= value <= 1_000_000))
def test_any_weight_that_is_negative_huge_or_not_finite_is_refused(weight, store):
    with store.unchanged(), pytest.raises(WorkflowError) as raised:
        Workflow(**base(routing={"weights": {"priority": weight}}))
    assert raised.value.field == "routing.weights.priority"
