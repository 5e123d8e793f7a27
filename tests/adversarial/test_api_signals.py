"""SignalCoordinator: bad ids, types and data are refused before the emission script runs; nothing is stored."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordination.errors import (
    InvalidIdError,
    InvalidInputError,
    PayloadTooLargeError,
    UnknownSignalTypeError,
)
from coordination.ids import is_valid_id
from tests.adversarial.conftest import BAD_ID_VALUES, BAD_IDS, BAD_JSON_IDS, BAD_JSON_VALUES

pytestmark = pytest.mark.redis

OK = {"event_type": "inter_agent_message", "sender_agent_id": "a1", "event_data": {"n": 1}}


def emit_one(seeded, coordination_id="c1", **spec):
    return seeded["signals"].emit_sync(coordination_id, [{**OK, **spec}])


@pytest.mark.parametrize("bad", BAD_ID_VALUES, ids=repr)
def test_a_coordination_id_that_cannot_be_a_key_is_refused(bad, seeded, refused):
    refused(lambda: emit_one(seeded, coordination_id=bad), InvalidIdError, "coordination_id")


@pytest.mark.parametrize("bad", [value for value in BAD_ID_VALUES if value is not None], ids=repr)
def test_a_bad_sender_is_refused_not_replaced(bad, seeded, refused):
    refused(lambda: emit_one(seeded, sender_agent_id=bad), InvalidIdError, "sender_agent_id")


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
def test_a_bad_recipient_is_refused(bad, seeded, refused):
    refused(lambda: emit_one(seeded, recipient_agents=["a2", bad]), InvalidIdError, "recipient_agents[1]")


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
def test_a_bad_signal_id_is_refused(bad, seeded, refused):
    refused(lambda: emit_one(seeded, signal_id=bad), InvalidIdError, "signal_id")


@pytest.mark.parametrize("event_type", ["", "agent_exploded", "AGENT_COMPLETED", "\x1b[31m", 3, None])
def test_an_unknown_signal_type_is_refused(event_type, seeded, refused):
    refused(lambda: emit_one(seeded, event_type=event_type), UnknownSignalTypeError, "event_type")


@pytest.mark.parametrize(("case", "value", "error", "words"), BAD_JSON_VALUES, ids=BAD_JSON_IDS)
def test_event_data_outside_the_json_rule_is_refused(case, value, error, words, seeded, refused):
    refused(lambda: emit_one(seeded, event_data={"ok": 1, "x": value}), error, "event_data.x", words)


@pytest.mark.parametrize(("case", "value", "error", "words"), BAD_JSON_VALUES[:8], ids=BAD_JSON_IDS[:8])
def test_metadata_outside_the_json_rule_is_refused(case, value, error, words, seeded, refused):
    refused(lambda: emit_one(seeded, metadata={"x": value}), error, "metadata.x", words)


def test_one_bad_signal_in_a_batch_stores_none_of_them(seeded, refused):
    batch = [OK, OK, {**OK, "event_data": {"x": float("nan")}}]
    refused(lambda: seeded["signals"].emit_sync("c1", batch), "NotSerializableError", "signals[2].event_data.x")


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        ({"event_data": ["not", "a", "dict"]}, "event_data", "must be a dict"),
        ({"metadata": "text"}, "metadata", "must be a dict"),
        ({"colour": "red"}, "colour", "not a signal field"),
        ({"event_data": {"blob": "x" * 2_000_000}}, "event_data", "over the limit"),
    ],
    ids=["list data", "text metadata", "unknown field", "oversized"],
)
def test_malformed_signals_are_refused(spec, field, words, seeded, refused):
    error = PayloadTooLargeError if "limit" in words else InvalidInputError
    refused(lambda: emit_one(seeded, **spec), error, field, words)


def test_an_empty_batch_is_refused(seeded, refused):
    refused(lambda: seeded["signals"].emit_sync("c1", []), InvalidInputError, "signals", "at least one")


async def test_the_async_api_refuses_the_same_way(seeded, store):
    with store.unchanged(), pytest.raises(InvalidInputError) as raised:
        await seeded["signals"].emit("c1", "inter_agent_message", {"x": {1}}, "a1")
    assert raised.value.field == "event_data.x"


async def test_the_seed_method_answers_false_for_an_unknown_type_and_stores_nothing(seeded, store):
    with store.unchanged():
        assert await seeded["signals"].signal_coordination_event("c1", "agent_exploded", {}) is False


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(candidate=st.text(max_size=140))
def test_any_text_that_is_not_an_id_is_refused_as_a_coordination_id(candidate, seeded, store):
    if is_valid_id(candidate):
        return
    with store.unchanged(), pytest.raises(InvalidIdError) as raised:
        emit_one(seeded, coordination_id=candidate)
    assert raised.value.field == "coordination_id"
