"""One JSON rule for every stored value: what jsonutil.dumps accepts reads back equal; what it refuses is named."""

from __future__ import annotations

import collections
import datetime
import math
import uuid

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordination import jsonutil
from coordination.errors import InvalidInputError, NotSerializableError, PayloadTooLargeError
from coordination.jsonutil import MAX_DEPTH, MAX_SAFE_INTEGER

SAFE_INTEGERS = st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
SCALARS = st.none() | st.booleans() | SAFE_INTEGERS | st.floats(allow_nan=False, allow_infinity=False) | st.text()
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
)


def nested(levels: int, wide: bool = False) -> list[object]:
    """A list nested ``levels`` deep (``[]`` is one level); ``wide`` adds 100 empty lists beside the chain, so the
    text has more brackets than MAX_DEPTH (the depth probe's path) at the same depth."""
    value: list[object] = []
    for _ in range(levels - 1):
        value = [value]
    if wide:
        value.extend([] for _ in range(100))
    return value


def depth(value: object) -> int:
    """Nesting depth, without recursion (the values here go 100,000 levels deep)."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, list | dict):
            deepest = max(deepest, level + 1)
            pending.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


@given(JSON_VALUES)
def test_every_value_inside_the_rule_is_accepted_and_reads_back_equal(value):
    if depth(value) <= MAX_DEPTH:
        assert jsonutil.loads(jsonutil.dumps(value, "value")) == value


@pytest.mark.parametrize("levels", [2, 3, MAX_DEPTH - 1, MAX_DEPTH])
@pytest.mark.parametrize("wide", [False, True], ids=["narrow", "many-brackets"])
def test_values_nested_up_to_the_limit_are_accepted(levels, wide):
    value = nested(levels, wide=wide)
    assert depth(value) == levels
    assert jsonutil.loads(jsonutil.dumps(value, "value")) == value


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, MAX_DEPTH + 2, 200, 255, 1_000, 100_000])
@pytest.mark.parametrize("wide", [False, True], ids=["narrow", "many-brackets"])
def test_values_nested_deeper_than_the_limit_are_refused_with_the_field_not_a_recursion_error(levels, wide):
    value = {"deep": nested(levels - 1, wide=wide)}
    assert depth(value) == levels
    with pytest.raises(PayloadTooLargeError) as refused:
        jsonutil.dumps(value, "event_data")
    assert refused.value.field.startswith("event_data.deep[0]")
    assert f"more than {MAX_DEPTH} levels" in refused.value.problem


def test_the_depth_probe_relies_on_orjsons_own_limit():
    """If orjson ever changes its recursion limit, the probe (and this test) must change with it."""
    orjson.dumps(nested(jsonutil.ORJSON_MAX_DEPTH))
    with pytest.raises(orjson.JSONEncodeError, match="Recursion"):
        orjson.dumps(nested(jsonutil.ORJSON_MAX_DEPTH + 1))


@pytest.mark.parametrize(
    "number",
    [MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1, 2**63, 2**64 + 1, 10**5000],
    ids=["2**53", "-2**53", "2**63", "2**64+1", "10**5000"],
)
def test_integers_beyond_what_every_json_reader_keeps_are_refused(number):
    with pytest.raises(NotSerializableError) as refused:
        jsonutil.dumps({"items": [1, {"size": number}]}, "result")
    assert refused.value.field == "result.items[1].size"
    assert "2**53 - 1" in refused.value.problem


@pytest.mark.parametrize("number", [MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 0, 1_700_000_000_000])
def test_integers_within_the_portable_range_are_kept_exactly(number):
    assert jsonutil.loads(jsonutil.dumps([number], "value")) == [number]


def test_long_digit_runs_in_floats_and_strings_are_not_mistaken_for_integers():
    value = {"f": 0.1 + 0.2, "g": 1234567890123456.0, "h": 1e300, "s": "12345678901234567890"}
    assert jsonutil.loads(jsonutil.dumps(value, "value")) == value


@pytest.mark.parametrize("text", ["\ud800", "ok \udfff", "\udbff\udc00x\ud800"])
def test_lone_surrogates_are_refused_with_a_clear_error(text):
    with pytest.raises(NotSerializableError, match="lone surrogate") as refused:
        jsonutil.dumps({"name": text}, "value")
    assert refused.value.field == "value.name"


def test_a_lone_surrogate_in_a_key_is_named_escaped():
    with pytest.raises(NotSerializableError) as refused:
        jsonutil.dumps({"a": {"\ud800": 1}}, "metadata")
    assert refused.value.field == "metadata.a['\\ud800']"
    str(refused.value).encode("utf-8")  # the message itself can be printed and logged


def test_valid_non_ascii_text_is_kept():
    value = {"名前": "Générés — ✓ 😀"}
    assert jsonutil.loads(jsonutil.dumps(value, "value")) == value


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ({"x": {1, 2}}, "set"),
        ({"x": frozenset()}, "frozenset"),
        ({"x": datetime.datetime(2024, 1, 1)}, "datetime"),
        ({"x": datetime.date(2024, 1, 1)}, "date"),
        ({"x": b"bytes"}, "bytes"),
        ({"x": uuid.uuid4()}, "UUID"),
        ({"x": object()}, "object"),
    ],
)
def test_values_json_cannot_carry_are_refused_naming_the_type_and_the_path(value, kind):
    with pytest.raises(NotSerializableError) as refused:
        jsonutil.dumps(value, "input")
    assert refused.value.field == "input.x"
    assert kind in refused.value.problem


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused_at_any_depth(number):
    with pytest.raises(NotSerializableError, match="finite") as refused:
        jsonutil.dumps({"a": [[{"b": number}]]}, "state")
    assert refused.value.field == "state.a[0][0].b"


def test_a_circular_value_is_refused_as_circular():
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(NotSerializableError, match="circular") as refused:
        jsonutil.dumps({"x": loop}, "value")
    assert refused.value.field == "value.x[0]"


def test_keys_are_turned_into_strings_as_json_does_and_tuples_into_lists():
    point = collections.namedtuple("point", "x y")
    assert jsonutil.normalized({1: (1, 2), None: point(3, 4), 2.5: "t"}, "v") == {
        "1": [1, 2],
        "null": [3, 4],
        "2.5": "t",
    }


def test_a_tuple_key_is_refused():
    with pytest.raises(NotSerializableError, match="tuple key"):
        jsonutil.dumps({(1, 2): 1}, "value")


def test_every_refusal_is_an_input_error_that_names_its_field_first():
    with pytest.raises(InvalidInputError) as refused:
        jsonutil.dumps([math.nan], "signals[2].event_data")
    assert str(refused.value).startswith("signals[2].event_data[0]: ")


def test_the_size_limit_is_checked_after_the_rule():
    with pytest.raises(PayloadTooLargeError, match="over the limit of 50 bytes"):
        jsonutil.dumps({"k": "x" * 100}, "value", limit=50)


@pytest.mark.parametrize("limit", [0, 1])
def test_an_empty_dict_is_measured_against_the_limit_like_any_value(limit: int) -> None:
    for empty in ({}, []):
        with pytest.raises(PayloadTooLargeError, match="over the limit"):
            jsonutil.dumps(empty, "value", limit)
    assert jsonutil.dumps({}, "value", 2) == "{}"
