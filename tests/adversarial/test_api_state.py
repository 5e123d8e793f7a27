"""ThreadSafeState: bad keys, values, versions and names are refused with the field named; nothing is written."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordination.errors import InvalidIdError, InvalidInputError, NotSerializableError, PayloadTooLargeError
from coordination.limits import MAX_CHANGED_BY_LENGTH, MAX_STATE_KEY_LENGTH
from coordination.state import ThreadSafeState
from tests.adversarial.conftest import BAD_ID_VALUES, BAD_JSON_IDS, BAD_JSON_VALUES

pytestmark = pytest.mark.redis


@pytest.mark.parametrize("value", [value for value in BAD_ID_VALUES if value is not None], ids=repr)
def test_a_namespace_that_cannot_be_a_key_is_refused(value, refused):
    # (None is not bad: it asks for a new private state.)
    refused(lambda: ThreadSafeState(namespace=value), InvalidIdError, "namespace")


@pytest.mark.parametrize(("case", "value", "error", "words"), BAD_JSON_VALUES, ids=BAD_JSON_IDS)
def test_set_refuses_values_outside_the_json_rule(case, value, error, words, seeded, refused):
    refused(lambda: seeded["state"].set("k", {"x": value}), error, "value['k'].x", words)


@pytest.mark.parametrize(("case", "value", "error", "words"), BAD_JSON_VALUES, ids=BAD_JSON_IDS)
def test_update_refuses_the_whole_batch_when_one_value_is_bad(case, value, error, words, seeded, refused):
    batch = {"good": 1, "also-good": [1, 2], "bad": {"x": value}}
    refused(lambda: seeded["state"].update(batch), error, "updates['bad'].x", words)


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("", "non-empty"),
        (None, "non-empty string"),
        (42, "non-empty string"),
        (("a", "b"), "non-empty string"),
        ("k" * (MAX_STATE_KEY_LENGTH + 1), f"at most {MAX_STATE_KEY_LENGTH}"),
        ("k" * 1_000_000, f"at most {MAX_STATE_KEY_LENGTH}"),
        ("bad\ud800", "lone surrogate"),
    ],
    ids=["empty", "none", "int", "tuple", "513 chars", "1M chars", "surrogate"],
)
@pytest.mark.parametrize("operation", ["set", "update", "delete", "get"])
def test_bad_keys_are_refused_by_every_operation(key, words, operation, seeded, refused):
    state = seeded["state"]
    calls = {
        "set": lambda: state.set(key, 1),
        "update": lambda: state.update({key: 1}),
        "delete": lambda: state.delete(key),
        "get": lambda: state.get(key),
    }
    refused(calls[operation], InvalidInputError, "key", words)


@pytest.mark.parametrize(
    ("changed_by", "words"),
    [
        ("x" * (MAX_CHANGED_BY_LENGTH + 1), f"at most {MAX_CHANGED_BY_LENGTH}"),
        ("agent\x1b[31m", "printable"),
        ("agent\nsecond line", "printable"),
        ("\u202eevil", "printable"),
        ("bad\ud800", "printable"),
        (42, "string or None"),
    ],
    ids=["129 chars", "ansi", "newline", "bidi", "surrogate", "int"],
)
@pytest.mark.parametrize("operation", ["set", "update", "delete", "clear"])
def test_changed_by_is_bounded_and_printable(changed_by, words, operation, seeded, refused):
    state = seeded["state"]
    calls = {
        "set": lambda: state.set("k", 1, changed_by=changed_by),
        "update": lambda: state.update({"k": 1}, changed_by=changed_by),
        "delete": lambda: state.delete("phase", changed_by=changed_by),
        "clear": lambda: state.clear(changed_by=changed_by),
    }
    refused(calls[operation], InvalidInputError, "changed_by", words)


@pytest.mark.parametrize(
    ("expected_version", "words"),
    [(-1, "non-negative"), (1.5, "non-negative integer"), ("2", "non-negative integer"), (True, "non-negative")],
)
def test_a_bad_expected_version_is_refused(expected_version, words, seeded, refused):
    state = seeded["state"]
    refused(lambda: state.set("k", 1, expected_version=expected_version), InvalidInputError, "expected_version", words)


@pytest.mark.parametrize("target", [1.0, "1", None, True, math.nan])
def test_a_rollback_target_that_is_not_an_integer_is_refused(target, seeded, refused):
    refused(lambda: seeded["state"].rollback(target), InvalidInputError, "target_version", "integer")


def test_a_value_over_the_size_limit_is_refused(seeded, refused):
    refused(lambda: seeded["state"].set("k", "x" * 2_000_000), PayloadTooLargeError, "value['k']", "over the limit")


def test_an_update_that_is_not_a_dict_is_refused(seeded, refused):
    refused(lambda: seeded["state"].update([("k", 1)]), InvalidInputError, "updates", "must be a dict")


@pytest.mark.parametrize("size", [0, -1, 1.5, "10"])
def test_a_bad_history_size_is_refused(size, namespace, refused):
    refused(lambda: ThreadSafeState(max_history_size=size, namespace=namespace), InvalidInputError, "max_history_size")


def test_initial_state_follows_the_same_rule(namespace, refused):
    refused(
        lambda: ThreadSafeState({"ok": 1, "bad": {"x": math.inf}}, namespace=namespace),
        NotSerializableError,
        "initial_state['bad'].x",
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(levels=st.integers(min_value=65, max_value=3_000))
def test_any_nesting_deeper_than_64_levels_is_refused_never_a_recursion_error(levels, seeded, store):
    value: Any = "leaf"
    for _ in range(levels):
        value = [value]
    with store.unchanged(), pytest.raises(PayloadTooLargeError, match="more than 64 levels"):
        seeded["state"].set("deep", value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(number=st.integers(min_value=2**53) | st.integers(max_value=-(2**53)))
def test_any_integer_beyond_the_portable_range_is_refused(number, seeded, store):
    with store.unchanged(), pytest.raises(NotSerializableError, match="2\\*\\*53 - 1"):
        seeded["state"].update({"n": {"deep": [number]}})
