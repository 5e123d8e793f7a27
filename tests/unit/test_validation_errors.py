"""Pydantic validation errors become InvalidInputError with one spelling of field paths."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from coordination import Workflow
from coordination.errors import InvalidInputError, WorkflowError
from coordination.metrics import MetricsCollector
from coordination.validation import field_path, input_error


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    timeout: float

    @field_validator("name")
    @classmethod
    def _no_spaces(cls, value: str) -> str:
        if " " in value:
            raise InvalidInputError("name", "must not contain spaces")
        return value


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: list[Step]


def refusal(data: object, prefix: str = "") -> InvalidInputError:
    with pytest.raises(ValidationError) as caught:
        Plan.model_validate(data)
    return input_error(caught.value, prefix)


@pytest.mark.parametrize(
    ("location", "prefix", "path"),
    [
        (("steps", 0, "timeout"), "", "steps[0].timeout"),
        (("steps", 0, "timeout"), "plan", "plan.steps[0].timeout"),
        ((3, "a"), "items", "items[3].a"),
        ((), "whole", "whole"),
        (("a", "b"), "", "a.b"),
    ],
)
def test_field_paths_put_positions_in_brackets(location: tuple[int | str, ...], prefix: str, path: str) -> None:
    assert field_path(location, prefix) == path


def test_the_first_problem_names_its_field_and_quotes_the_value() -> None:
    error = refusal({"steps": [{"name": "a", "timeout": "soon"}]}, "plan")
    assert type(error) is InvalidInputError
    assert error.field == "plan.steps[0].timeout"
    assert "valid number" in error.problem
    assert "(got 'soon')" in error.problem


def test_a_missing_field_is_named_without_quoting_its_parent() -> None:
    error = refusal({"steps": [{"name": "a"}]})
    assert error.field == "steps[0].timeout"
    assert error.problem == "Field required"


def test_a_long_value_is_quoted_shortened() -> None:
    error = refusal({"steps": [{"name": "a", "timeout": "x" * 500}]})
    quoted = error.problem.split("(got ", 1)[1]
    assert len(quoted) <= 62  # 60 characters of the value's repr and the closing parenthesis


def test_our_own_validators_keep_their_field_and_problem() -> None:
    error = refusal({"steps": [{"name": "two words", "timeout": 1}]})
    assert error.field == "steps[0].name"
    assert error.problem == "must not contain spaces"


def test_an_error_class_and_a_default_field_can_be_chosen() -> None:
    with pytest.raises(ValidationError) as caught:
        Plan.model_validate("not a mapping")
    error = input_error(caught.value, error_class=WorkflowError, default_field="plan")
    assert type(error) is WorkflowError
    assert error.field == "plan"


def test_entry_points_spell_list_positions_alike() -> None:
    with pytest.raises(WorkflowError) as caught:
        Workflow(
            name="wf",
            agents={"a": {}},
            dependencies=[{"id": "d", "agent": "a", "type": "quality_gate", "target": "g", "timeout": -1}],
        )
    assert caught.value.field == "dependencies[0].timeout"
    with pytest.raises(WorkflowError) as caught:
        Workflow(
            name="wf",
            agents={"a": {}},
            dependencies=[{"id": "d", "agent": "a", "type": "agent_completion", "target": "ghost"}],
        )
    assert caught.value.field == "dependencies[0].target"


async def test_a_bad_metric_names_its_tag() -> None:
    collector = MetricsCollector(kafka_enabled=False, postgres_enabled=False)
    with pytest.raises(InvalidInputError) as caught:
        await collector.record_timing("t_ms", 1.0, tags={"agent_count": 3})  # type: ignore[dict-item]
    assert caught.value.field == "tags.agent_count"
    assert "(got 3)" in caught.value.problem
