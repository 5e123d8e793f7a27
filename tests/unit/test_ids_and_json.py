import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordination import jsonutil
from coordination.errors import InvalidIdError, NotSerializableError, PayloadTooLargeError
from coordination.ids import ID_PATTERN, is_valid_id, validate_id


@pytest.mark.parametrize("good", ["a", "model-gen", "A.b_c-9", "x" * 128, "0"])
def test_ids_made_of_the_allowed_characters_are_accepted(good):
    assert validate_id(good, "agent_id") == good


@pytest.mark.parametrize(
    "bad", ["", "-leading-dash", "has space", "colon:inside", "brace{tag}", "slash/inside", "x" * 129, "é"]
)
def test_ids_that_cannot_be_key_segments_are_refused_naming_the_field(bad):
    with pytest.raises(InvalidIdError) as error:
        validate_id(bad, "agent_id")
    assert error.value.field == "agent_id"
    assert str(error.value).startswith("agent_id:")


def test_a_non_string_id_is_refused():
    with pytest.raises(InvalidIdError, match="must be a string"):
        validate_id(42, "coordination_id")


@given(st.text(max_size=140))
def test_is_valid_id_agrees_with_the_pattern(text):
    assert is_valid_id(text) == (ID_PATTERN.fullmatch(text) is not None)
    assert not is_valid_id(text) or (":" not in text and "{" not in text and len(text) <= 128)


def test_values_json_cannot_carry_are_refused_naming_the_field():
    with pytest.raises(NotSerializableError, match="event_data"):
        jsonutil.dumps({"when": object()}, "event_data")
    with pytest.raises(NotSerializableError):
        jsonutil.dumps({"x": math.nan}, "event_data")


def test_the_size_limit_counts_utf8_bytes():
    text = "é" * 40  # 80 bytes in UTF-8, 40 characters
    with pytest.raises(PayloadTooLargeError, match="over the limit of 60 bytes"):
        jsonutil.dumps(text, "value", limit=60)
    assert jsonutil.loads(jsonutil.dumps(text, "value", limit=100)) == text


def test_ids_checked_before_are_still_refused_or_accepted_as_the_rule_says() -> None:
    """Valid ids are remembered (hot path); a refused id is refused every time, a remembered one stays valid."""
    from coordination import ids

    for _ in range(2):
        assert validate_id("coord-1", "coordination_id") == "coord-1"
        with pytest.raises(InvalidIdError, match="coordination_id"):
            validate_id("bad id", "coordination_id")
        with pytest.raises(InvalidIdError, match="must be a string"):
            validate_id(None, "coordination_id")
    for n in range(ids._SEEN_MAX + 10):  # more than are remembered: the set is emptied, never overfull
        validate_id(f"agent-{n}", "agent_id")
    assert len(ids._SEEN_VALID) <= ids._SEEN_MAX
    assert "bad id" not in ids._SEEN_VALID
    assert validate_id("agent-1", "agent_id") == "agent-1"
