"""Limit declarations (pure): rates, key templates filled from the input, the workflow's default limits."""

from __future__ import annotations

from typing import Any

import pytest

from coordination.errors import InvalidInputError
from coordination.models.workflow import WorkflowSpec, declared_spec
from coordination.pipeline.limit_usage import MAX_DEFER_SECONDS, Deferral
from coordination.rate_limits import Rate, check_token_count, parse_rate, resolve_key, template_fields


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("60/m", Rate(60, 60_000)),
        ("6/s", Rate(6, 1000)),
        ("1/h", Rate(1, 3_600_000)),
        (" 90000/m ", Rate(90000, 60_000)),
    ],
)
def test_rates_are_a_count_per_second_minute_or_hour(text: str, rate: Rate) -> None:
    assert parse_rate(text, "rate") == rate
    assert str(parse_rate(text, "rate")) == text.strip()


@pytest.mark.parametrize("text", ["60", "60/min", "60/M", "/m", "m/60", "6 / s", "1e3/s", "0/s", "100001/s", ""])
def test_anything_else_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        parse_rate(text, "agents.a.limits[0].rate")
    assert refused.value.field == "agents.a.limits[0].rate"


def test_a_template_names_plain_input_fields_only() -> None:
    assert template_fields("llm:gpt-x", "key") == []
    assert template_fields("tenant:{input.tenant}:{input.region_2}", "key") == ["tenant", "region_2"]
    for bad in ("{input}", "{input.a.b}", "{input.a[0]}", "{input.a!s}", "{input.a:10}", "{other.a}", "{}", "a}"):
        with pytest.raises(InvalidInputError):
            template_fields(bad, "key")


@pytest.mark.parametrize(
    ("template", "input_data", "key"),
    [
        ("tenant:{input.tenant}", {"tenant": "acme"}, "tenant:acme"),
        ("shard-{input.n}", {"n": 7}, "shard-7"),
        ("{input.a}.{input.b}", {"a": "x", "b": "y"}, "x.y"),
        ("fixed", None, "fixed"),
    ],
)
def test_a_template_is_filled_from_the_input(template: str, input_data: Any, key: str) -> None:
    assert resolve_key(template, input_data, "key") == key


@pytest.mark.parametrize(
    ("input_data", "problem"),
    [
        ({}, "does not have"),
        (None, "does not have"),
        (["acme"], "does not have"),
        ({"tenant": 1.5}, "string or a whole number"),
        ({"tenant": False}, "string or a whole number"),
        ({"tenant": "has space"}, "derived key"),
        ({"tenant": "{input.tenant}"}, "derived key"),  # a value is not a template: braces are refused
        ({"tenant": "x" * 200}, "derived key"),
    ],
)
def test_a_key_that_cannot_be_derived_is_refused(input_data: Any, problem: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        resolve_key("tenant:{input.tenant}", input_data, "agents.a.limits[0].key")
    assert refused.value.field == "agents.a.limits[0].key"
    assert problem in refused.value.problem


def _spec(**declaration: Any) -> WorkflowSpec:
    return declared_spec({"name": "w", **declaration})


def test_workflow_limits_apply_to_every_agent_and_an_agents_own_limit_on_a_key_wins() -> None:
    spec = _spec(
        agents={"a": {}, "b": {"limits": [{"key": "llm", "concurrency": 1}, {"key": "t:{input.t}", "rate": "5/s"}]}},
        limits=[{"key": "llm", "concurrency": 4, "tokens": "90000/m"}],
    )
    assert spec.resolved_limits("a", {"t": "x"}) == [
        {"key": "llm", "concurrency": 4, "tokens": "90000/m", "tokens_n": 90000, "tokens_ms": 60000}
    ]
    assert spec.resolved_limits("b", {"t": "x"}) == [
        {"key": "llm", "concurrency": 1},
        {"key": "t:x", "rate": "5/s", "rate_n": 5, "rate_ms": 1000},
    ]
    assert spec.has_limits("a") and not _spec(agents={"a": {}}).has_limits("a")


def test_the_same_key_twice_for_one_agent_is_refused() -> None:
    spec = _spec(
        agents={"a": {"limits": [{"key": "t:{input.x}", "rate": "1/s"}, {"key": "t:{input.y}", "rate": "2/s"}]}}
    )
    with pytest.raises(InvalidInputError) as refused:
        spec.resolved_limits("a", {"x": "same", "y": "same"})
    assert refused.value.field == "agents.a.limits[1].key"


def test_a_workflow_with_limits_reads_back_equal_from_its_stored_json() -> None:
    spec = _spec(agents={"a": {"limits": [{"key": "llm:{input.m}", "concurrency": 2, "rate": "60/m"}]}})
    assert WorkflowSpec.model_validate_json(spec.model_dump_json()) == spec


@pytest.mark.parametrize("count", [1, 10**12])
def test_token_counts_are_positive_whole_numbers(count: int) -> None:
    assert check_token_count(count) == count


def test_a_deferral_reads_the_scripts_wait_and_caps_it() -> None:
    rate = Deferral.parse("1500/rate/llm:gpt-x")
    assert (rate.key, rate.kind) == ("llm:gpt-x", "rate") and 1.5 <= rate.countdown <= 1.55
    assert Deferral.parse("3600000/tokens/llm").countdown == MAX_DEFER_SECONDS
    slot = Deferral.parse("150/concurrency/a:b:c")
    assert slot.key == "a:b:c" and 0.1 <= slot.countdown <= 0.24
    assert "waiting on limit a:b:c (concurrency)" in slot.describe()
