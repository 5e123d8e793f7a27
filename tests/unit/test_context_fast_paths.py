"""The distributor's shortcuts around the validator build exactly what the validator builds."""

from __future__ import annotations

from typing import Any

import pytest

from coordination import jsonutil
from coordination.context import _assignment, _shared_intelligence
from coordination.errors import ContextDistributionError, NotSerializableError
from coordination.models.context import AgentAssignment, SharedIntelligence


@pytest.mark.parametrize(
    "data",
    [
        {"objective": "Execute task 1", "tasks": ["task1", "task2"], "dependencies": []},
        {"objective": "Build models", "tasks": ["t"], "dependencies": ["model-gen", "schema"]},
        {"tasks": ["only tasks"]},
        {},
        {"objective": 'ünïcode ✓ \n\t"quoted"', "tasks": ["日本語"], "agent_role": "writer"},
    ],
)
def test_a_plain_assignment_equals_the_validated_model(data: dict[str, Any]) -> None:
    built, role, _role_json, text = _assignment("agent_assignments['a']", "a", data)

    payload = {"objective": "", "tasks": [], **data}
    payload.pop("agent_role", None)
    validated = AgentAssignment.model_validate(payload)
    assert built == validated
    assert built.model_fields_set == validated.model_fields_set
    assert built.model_dump_json() == validated.model_dump_json()
    assert text == jsonutil.dumps(validated.__dict__, "assignment")  # the text the general path writes
    assert role == data.get("agent_role", "a")


def test_a_plain_assignment_keeps_no_list_of_the_caller() -> None:
    tasks, dependencies = ["task1"], ["model-gen"]
    built, _role, _role_json, _text = _assignment(
        "agent_assignments['a']", "a", {"objective": "o", "tasks": tasks, "dependencies": dependencies}
    )

    tasks.append("added later")
    dependencies.clear()
    assert built.tasks == ["task1"]
    assert built.dependencies == ["model-gen"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"objective": "o", "tasks": ("a", "b")}, ["a", "b"]),  # a tuple: the validator makes it a list
        ({"objective": "o", "tasks": ["a"], "input_data": {"k": 1}}, ["a"]),
    ],
)
def test_other_shapes_still_go_through_the_validator(data: dict[str, Any], expected: list[str]) -> None:
    built, _role, _role_json, _text = _assignment("agent_assignments['a']", "a", data)

    assert built == AgentAssignment.model_validate(data)
    assert built.tasks == expected


@pytest.mark.parametrize("tasks", [[1, 2], ["ok", None]])
def test_a_task_that_is_not_a_string_is_refused_naming_it(tasks: list[Any]) -> None:
    with pytest.raises(ValueError, match=r"agent_assignments\['a'\]\.tasks"):
        _assignment("agent_assignments['a']", "a", {"objective": "o", "tasks": tasks})


def test_the_default_shared_intelligence_equals_the_models_default_and_is_fresh_each_time() -> None:
    first, second = _shared_intelligence(None), _shared_intelligence(None)

    assert first == SharedIntelligence()
    assert first.model_fields_set == SharedIntelligence().model_fields_set
    first.type_registry["User"] = "class User"
    assert second.type_registry == {}


def test_a_lone_surrogate_in_a_task_is_refused_naming_the_item() -> None:
    with pytest.raises(NotSerializableError, match=r"agent_assignments\['a'\]\.tasks\[1\]"):
        _assignment("agent_assignments['a']", "a", {"objective": "o", "tasks": ["fine", "bad \ud800"]})


def test_a_lone_surrogate_in_a_role_is_refused_naming_it() -> None:
    with pytest.raises(ContextDistributionError, match=r"agent_role"):
        _assignment("agent_assignments['a']", "a", {"tasks": [], "agent_role": "r\udc00"})
