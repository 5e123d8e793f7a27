"""Signal stream entries become the signals that were emitted, and the per-type counters give the total."""

from __future__ import annotations

from datetime import UTC, datetime

from coordination.models.signals import CoordinationSignal, SignalType
from coordination.streams import decode_signal, signals_sent


def _entry(**overrides: str) -> dict[str, str]:
    fields = {
        "id": "s-1",
        "type": "agent_completed",
        "sender": "model-gen",
        "to": '["validator"]',
        "ts": "2026-12-03T10:00:00.250000+00:00",
        "sent": "1796292000.25",
        "data": '{"agent_id":"model-gen","quality_score":0.95,"items":[1,2]}',
        "meta": "{}",
    }
    return {**fields, **overrides}


def test_an_entry_decodes_to_the_signal_a_validated_model_would_be() -> None:
    decoded = decode_signal("c-1", "1-0", _entry())
    validated = CoordinationSignal(
        signal_id="s-1",
        signal_type=SignalType.AGENT_COMPLETED,
        sender_agent_id="model-gen",
        recipient_agents=["validator"],
        timestamp=datetime(2026, 12, 3, 10, 0, 0, 250000, tzinfo=UTC),
        event_data={"agent_id": "model-gen", "quality_score": 0.95, "items": [1, 2]},
        metadata={},
        coordination_id="c-1",
        stream_id="1-0",
    )
    assert decoded == validated
    assert decoded.model_dump() == validated.model_dump()


def test_empty_json_fields_decode_to_fresh_containers() -> None:
    first = decode_signal("c-1", "1-0", _entry(to="[]", data="{}"))
    second = decode_signal("c-1", "2-0", _entry(to="[]", data="{}"))
    assert (first.recipient_agents, first.event_data, first.metadata) == ([], {}, {})
    first.event_data["changed"] = True  # one signal's data is its own, not shared with the next
    assert second.event_data == {}


def test_the_total_sent_is_the_sum_of_the_per_type_counters() -> None:
    figures = {"type:agent_completed": "3", "type:inter_agent_message": "4", "received": "9", "prop_n": "7"}
    assert signals_sent(figures) == 7
    assert signals_sent({**figures, "sent": "7"}) == 7  # a total written by earlier versions is not added twice
    assert signals_sent({}) == 0
