"""Rule operators compiled once into plain functions (pure; no ``eval``).

A compiled condition takes the state mapping and returns a bool. Semantics (the seed's):

* the state value is ``state.get(condition_key)``; a missing key or a stored ``None`` never matches, whatever
  the operator (so ``!=`` and ``not_in`` do not match a missing key either);
* ``== != > < >= <=`` compare ``state_value <op> condition_value`` with Python's operators;
* ``in`` / ``not_in`` test ``state_value in condition_value`` (a collection);
* ``contains`` / ``not_contains`` test ``condition_value in state_value``;
* a comparison Python refuses (``TypeError``: ``"a" > 1``, an unhashable value in a set, ...) does not match.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from coordination.errors import RoutingRuleError
from coordination.models.routing import ConditionalRule, condition_value_problem, operator_problem

Condition = Callable[[Mapping[str, Any]], bool]

# Errors that mean "this state value cannot be compared that way", i.e. no match. ValueError covers objects whose
# truth value is ambiguous (array-likes).
_NO_MATCH = (TypeError, ValueError, KeyError, AttributeError)


def _eq(key: str, value: Any) -> Condition:
    def check(state: Mapping[str, Any]) -> bool:
        current = state.get(key)
        if current is None:
            return False
        try:
            return bool(current == value)
        except _NO_MATCH:
            return False

    return check


def _ne(key: str, value: Any) -> Condition:
    def check(state: Mapping[str, Any]) -> bool:
        current = state.get(key)
        if current is None:
            return False
        try:
            return bool(current != value)
        except _NO_MATCH:
            return False

    return check


def _gt(key: str, value: Any) -> Condition:
    def check(state: Mapping[str, Any]) -> bool:
        current = state.get(key)
        if current is None:
            return False
        try:
            return bool(current > value)
        except _NO_MATCH:
            return False

    return check


def _lt(key: str, value: Any) -> Condition:
    def check(state: Mapping[str, Any]) -> bool:
        current = state.get(key)
        if current is None:
            return False
        try:
            return bool(current < value)
        except _NO_MATCH:
            return False

    return check


def _ge(key: str, value: Any) -> Condition:
    def check(state: Mapping[str, Any]) -> bool:
        current = state.get(key)
        if current is None:
            return False
        try:
            return bool(current >= value)
        except _NO_MATCH:
            return False

    return check


def _le(key: str, value: Any) -> Condition:
    def check(state: Mapping[str, Any]) -> bool:
        current = state.get(key)
        if current is None:
            return False
        try:
            return bool(current <= value)
        except _NO_MATCH:
            return False

    return check


def _in(key: str, value: Any) -> Condition:
    def check(state: Mapping[str, Any]) -> bool:
        current = state.get(key)
        if current is None:
            return False
        try:
            return current in value
        except _NO_MATCH:
            return False

    return check


def _not_in(key: str, value: Any) -> Condition:
    def check(state: Mapping[str, Any]) -> bool:
        current = state.get(key)
        if current is None:
            return False
        try:
            return current not in value
        except _NO_MATCH:
            return False

    return check


def _contains(key: str, value: Any) -> Condition:
    def check(state: Mapping[str, Any]) -> bool:
        current = state.get(key)
        if current is None:
            return False
        try:
            return value in current
        except _NO_MATCH:
            return False

    return check


def _not_contains(key: str, value: Any) -> Condition:
    def check(state: Mapping[str, Any]) -> bool:
        current = state.get(key)
        if current is None:
            return False
        try:
            return value not in current
        except _NO_MATCH:
            return False

    return check


_FACTORIES: dict[str, Callable[[str, Any], Condition]] = {
    "==": _eq,
    "!=": _ne,
    ">": _gt,
    "<": _lt,
    ">=": _ge,
    "<=": _le,
    "in": _in,
    "not_in": _not_in,
    "contains": _contains,
    "not_contains": _not_contains,
}


def _frozen_collection(value: Any) -> Any:
    # Snapshot the collection so later changes to the rule's value cannot change a compiled router. Lists and
    # tuples keep Python's sequence membership (equality, unhashable items allowed); sets and dict keys keep
    # hash membership.
    if isinstance(value, list | tuple):
        return tuple(value)
    if isinstance(value, set | frozenset | dict):
        return frozenset(value)
    return value


def compile_condition(key: str, operator: str, value: Any) -> Condition:
    """Compile ``state[key] <operator> value`` into a function of the state.

    Args:
        key: the state key to read.
        operator: one of ``== != > < >= <= in not_in contains not_contains``.
        value: the value to compare with; its shape must suit the operator.

    Raises:
        RoutingRuleError: the operator is unknown (field ``condition_operator``) or the value has the wrong shape
            for it (field ``condition_value``).
    """
    problem = operator_problem(operator)
    if problem is not None:
        raise RoutingRuleError("condition_operator", problem)
    problem = condition_value_problem(operator, value)
    if problem is not None:
        raise RoutingRuleError("condition_value", problem)
    if operator in ("in", "not_in"):
        value = _frozen_collection(value)
    return _FACTORIES[operator](key, value)


def compile_rule(rule: ConditionalRule) -> Condition:
    """Compile a :class:`~coordination.models.routing.ConditionalRule` (checked again, for unvalidated rules).

    Raises:
        RoutingRuleError: the rule's operator or value is invalid.
    """
    return compile_condition(rule.condition_key, rule.condition_operator, rule.condition_value)
