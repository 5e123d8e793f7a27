"""Conditional rules: every operator, the shapes their values must have, and clear errors for bad rules."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from coordination.errors import InvalidInputError, RoutingRuleError
from coordination.models.routing import OPERATORS, ConditionalRule, RoutingDecision
from coordination.models.seed import SeedCompatibilityWarning, forget_warnings
from coordination.routing import ConditionalRouter
from coordination.routing.operators import compile_condition, compile_rule


def rule(operator: str, value: Any, key: str = "x", **fields: Any) -> ConditionalRule:
    return ConditionalRule(
        rule_id=fields.pop("rule_id", "r1"),
        name=fields.pop("name", "rule one"),
        condition_key=key,
        condition_operator=operator,
        condition_value=value,
        decision=fields.pop("decision", RoutingDecision.RETRY),
        **fields,
    )


def matches(operator: str, state_value: Any, value: Any) -> bool:
    return compile_condition("x", operator, value)({"x": state_value})


# -- every operator -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "state_value", "value", "expected"),
    [
        ("==", 3, 3, True),
        ("==", 3, 4, False),
        ("==", "done", "done", True),
        ("!=", 3, 4, True),
        ("!=", 3, 3, False),
        (">", 5, 3, True),
        (">", 3, 3, False),
        ("<", 2, 3, True),
        ("<", 3, 3, False),
        (">=", 3, 3, True),
        (">=", 2, 3, False),
        ("<=", 3, 3, True),
        ("<=", 4, 3, False),
        (">", "b", "a", True),
        ("in", "done", ["done", "finished"], True),
        ("in", "running", ["done", "finished"], False),
        ("in", 2, (1, 2), True),
        ("in", 2, {1, 2}, True),
        ("in", 2, frozenset({3}), False),
        ("in", "k", {"k": 1}, True),
        ("not_in", "running", ["done"], True),
        ("not_in", "done", ["done"], False),
        ("contains", ["a", "b"], "a", True),
        ("contains", "error: disk full", "disk", True),
        ("contains", ["a"], "z", False),
        ("not_contains", ["a"], "z", True),
        ("not_contains", "abc", "b", False),
    ],
)
def test_each_operator_compares_the_state_value_with_the_rule_value(
    operator: str, state_value: Any, value: Any, expected: bool
) -> None:
    assert matches(operator, state_value, value) is expected


@pytest.mark.parametrize("operator", OPERATORS)
def test_a_missing_key_or_a_stored_none_never_matches(operator: str) -> None:
    value: Any = [1] if operator in ("in", "not_in") else 1
    check = compile_condition("x", operator, value)
    assert check({}) is False
    assert check({"x": None}) is False


@pytest.mark.parametrize(
    ("operator", "state_value", "value"),
    [(">", "a", 1), ("<=", [1], 2), ("in", [1], {1, 2}), ("contains", 5, "a"), ("not_contains", 5, "a")],
)
def test_a_comparison_python_refuses_does_not_match(operator: str, state_value: Any, value: Any) -> None:
    assert matches(operator, state_value, value) is False


def test_a_compiled_rule_does_not_change_when_its_list_is_changed_afterwards() -> None:
    allowed = ["done"]
    the_rule = rule("in", allowed)
    check = compile_rule(the_rule)
    allowed.append("finished")
    assert check({"x": "finished"}) is False
    assert check({"x": "done"}) is True


# -- properties -------------------------------------------------------------------------------------------------

scalars = st.one_of(st.integers(), st.text(max_size=5), st.booleans())
numbers = st.one_of(st.integers(), st.floats(allow_nan=False))
# A rule's own value must be finite (NaN and infinities are refused when the rule is declared).
finite_numbers = st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False))


@given(left=scalars, right=scalars)
def test_equal_and_not_equal_are_complementary(left: Any, right: Any) -> None:
    assert matches("==", left, right) != matches("!=", left, right)
    assert matches("==", left, right) is (left == right)


@given(item=scalars, collection=st.lists(scalars, max_size=5), kind=st.sampled_from([list, tuple, set, frozenset]))
def test_in_and_not_in_are_complementary_and_agree_with_python(item: Any, collection: list[Any], kind: type) -> None:
    value = kind(collection)
    assert matches("in", item, value) != matches("not_in", item, value)
    assert matches("in", item, value) is (item in collection)


@given(left=numbers, right=finite_numbers)
def test_ordering_operators_agree_with_python_on_numbers(left: float, right: float) -> None:
    assert matches(">", left, right) is (left > right)
    assert matches("<", left, right) is (left < right)
    assert matches(">=", left, right) is (left >= right)
    assert matches("<=", left, right) is (left <= right)


@given(left=st.text(max_size=6), right=st.text(max_size=6))
def test_ordering_operators_agree_with_python_on_strings(left: str, right: str) -> None:
    assert matches(">", left, right) is (left > right)
    assert matches("<=", left, right) is (left <= right)


@given(haystack=st.text(max_size=8), needle=st.text(max_size=3))
def test_contains_and_not_contains_are_complementary(haystack: str, needle: str) -> None:
    assert matches("contains", haystack, needle) != matches("not_contains", haystack, needle)
    assert matches("contains", haystack, needle) is (needle in haystack)


# -- bad rules ------------------------------------------------------------------------------------------------


def test_an_unknown_operator_is_refused_naming_condition_operator() -> None:
    with pytest.raises(ValidationError) as caught:
        rule("~=", 3)
    assert caught.value.errors()[0]["loc"] == ("condition_operator",)
    assert "condition_operator" in str(caught.value)
    assert "unknown operator '~='" in str(caught.value)


@pytest.mark.parametrize("value", ["abc", 5, None, 2.5, True])
@pytest.mark.parametrize("operator", ["in", "not_in"])
def test_membership_operators_refuse_a_value_that_is_not_a_collection(operator: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        rule(operator, value)
    assert caught.value.errors()[0]["loc"] == ("condition_value",)
    assert "needs a collection" in str(caught.value)


@pytest.mark.parametrize("value", [None, True, [1], {"a": 1}, (1,), float("nan")])
@pytest.mark.parametrize("operator", [">", "<", ">=", "<="])
def test_ordering_operators_refuse_a_value_that_is_not_a_number_or_a_string(operator: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        rule(operator, value)
    assert caught.value.errors()[0]["loc"] == ("condition_value",)


@pytest.mark.parametrize(("operator", "value"), [("==", None), ("!=", [1, 2]), ("contains", "a"), ("contains", 3)])
def test_other_operators_accept_any_value(operator: str, value: Any) -> None:
    assert rule(operator, value).condition_value == value


def test_the_rule_error_is_a_value_error_carrying_a_routing_rule_error() -> None:
    with pytest.raises(ValueError) as caught:
        rule("in", "abc")
    assert isinstance(caught.value, ValidationError)
    cause = caught.value.errors()[0]["ctx"]["error"]
    assert isinstance(cause, RoutingRuleError)
    assert cause.field == "condition_value"


def test_compiling_an_unvalidated_bad_rule_raises_a_routing_rule_error() -> None:
    bad = ConditionalRule.model_construct(
        rule_id="r",
        name="n",
        condition_key="x",
        condition_operator="in",
        condition_value="abc",
        decision=RoutingDecision.SKIP,
        next_task=None,
        priority=50,
    )
    with pytest.raises(RoutingRuleError) as caught:
        ConditionalRouter([bad])
    assert caught.value.field == "condition_value"
    with pytest.raises(RoutingRuleError) as caught:
        compile_condition("x", "=~", 1)
    assert caught.value.field == "condition_operator"


def test_unknown_rule_fields_are_ignored_as_in_the_seed_with_a_warning() -> None:
    # The seed's API reference shows ConditionalRule(metadata=...), a field the model never had.
    forget_warnings()
    with pytest.warns(SeedCompatibilityWarning, match="ConditionalRule: unknown field 'metadata'"):
        built = rule("==", 1, metadata={"owner": "ops"})
    assert "metadata" not in built.model_dump()


@pytest.mark.parametrize("priority", [-1, 101])
def test_rule_priority_must_be_between_0_and_100(priority: int) -> None:
    with pytest.raises(ValidationError) as caught:
        rule("==", 1, priority=priority)
    assert caught.value.errors()[0]["loc"] == ("priority",)


def test_rules_default_to_priority_50_and_no_next_task() -> None:
    the_rule = rule("==", 1)
    assert the_rule.priority == 50
    assert the_rule.next_task is None


def test_duplicate_rule_ids_are_refused_by_the_router() -> None:
    with pytest.raises(RoutingRuleError) as caught:
        ConditionalRouter([rule("==", 1, rule_id="same"), rule("==", 2, rule_id="same")])
    assert caught.value.field == "rules[1].rule_id"


@pytest.mark.parametrize("rules", [None, "rules", {"rule_id": "r"}, 5])
def test_rules_must_be_a_list(rules: Any) -> None:
    with pytest.raises(InvalidInputError) as caught:
        ConditionalRouter(rules)
    assert caught.value.field == "rules"


def test_rules_may_be_given_as_mappings_and_are_validated() -> None:
    router = ConditionalRouter(
        [
            {
                "rule_id": "r",
                "name": "n",
                "condition_key": "x",
                "condition_operator": "==",
                "condition_value": 1,
                "decision": "end",
            }
        ]
    )
    assert router.rules[0].decision is RoutingDecision.END
    with pytest.raises(ValidationError) as caught:
        ConditionalRouter(
            [
                {
                    "rule_id": "r",
                    "name": "n",
                    "condition_key": "x",
                    "condition_operator": "in",
                    "condition_value": "ab",
                    "decision": "end",
                }
            ]
        )
    assert "condition_value" in str(caught.value)
