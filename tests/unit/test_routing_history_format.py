"""The routing-history stream format: one module that the writer, the archive and `coord history` read through."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from coordination import (
    ConditionalRouter,
    ConditionalRule,
    RoutingDecision,
    RoutingHistoryRecord,
    SmartRoutingOrchestrator,
    StateAnalysisRouter,
)
from coordination.archive import rows
from coordination.archive.reader import HistoryEntry
from coordination.errors import InvalidInputError
from coordination.jsonutil import loads
from coordination.routing import history_format
from coordination.views.history import _archived_decision


def decided(**route: Any) -> SmartRoutingOrchestrator:
    """An orchestrator that made one decision (a rule ends `package` when the phase is done)."""
    orchestrator = SmartRoutingOrchestrator()
    orchestrator.add_router(
        ConditionalRouter(
            [
                ConditionalRule(
                    rule_id="done",
                    name="End when done",
                    condition_key="phase",
                    condition_operator="==",
                    condition_value="done",
                    decision=RoutingDecision.END,
                    next_task="report",
                )
            ]
        )
    )
    orchestrator.add_router(StateAnalysisRouter())
    arguments = {"state": {"phase": "done", "completed_tasks": ["a"]}, "current_task": "package", **route}
    orchestrator.route(**arguments)
    return orchestrator


def test_an_entry_has_the_declared_fields_in_order_and_reads_back_as_the_same_record() -> None:
    orchestrator = decided(retry_count=2, execution_time=4.5, correlation_id="cg-1", custom_data={"k": "v"})
    (record,) = orchestrator.get_history()
    fields = history_format.encode(record)
    assert tuple(fields) == history_format.FIELDS == ("routing_id", "ts", "task", "decision", "strategy", "record")
    assert fields["routing_id"] == str(record.routing_id)
    assert datetime.fromisoformat(fields["ts"]) == record.timestamp
    assert (fields["task"], fields["decision"], fields["strategy"]) == ("package", "end", "conditional")
    assert history_format.decode(fields) == record
    assert history_format.decode_record(fields["record"]) == record
    assert history_format.decode_record(loads(fields["record"])) == record  # as the archive's JSON column reads
    assert history_format.record_text(fields) == fields["record"]


def test_take_unpersisted_hands_out_entries_in_the_format() -> None:
    orchestrator = decided(correlation_id="cg-1")
    (fields,) = orchestrator.take_unpersisted()
    assert tuple(fields) == history_format.FIELDS
    assert history_format.decode(fields) == orchestrator.get_history()[0]
    assert orchestrator.take_unpersisted() == []


def test_values_json_cannot_carry_are_kept_as_their_text() -> None:
    orchestrator = decided(custom_data={"when": object, "tags": {"a"}, "nan": float("nan")})
    record = history_format.decode(orchestrator.take_unpersisted()[0])
    assert record.context.custom_data == {"when": str(object), "tags": ["a"], "nan": None}


def test_a_free_form_part_json_refuses_is_replaced_by_a_note_and_the_decision_is_kept() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(3000):
        inner["d"] = {}
        inner = inner["d"]
    orchestrator = decided(custom_data={"deep": deep}, correlation_id="cg-1")
    record = history_format.decode(orchestrator.take_unpersisted()[0])
    assert set(record.context.custom_data) == {"not_stored"}
    assert "depth" in record.context.custom_data["not_stored"]
    assert record.result.decision is RoutingDecision.END
    assert record.context.correlation_id == "cg-1"


def test_a_decision_that_cannot_be_written_is_refused_naming_the_field_and_left_out_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    orchestrator = SmartRoutingOrchestrator()
    orchestrator.route({}, "bad \ud800 task")  # route() takes any text; Redis could not store this one
    with pytest.raises(InvalidInputError) as caught:
        history_format.encode(orchestrator.get_history()[0])
    assert caught.value.field == "task"
    orchestrator.route({}, "second")
    with caplog.at_level(logging.WARNING):
        entries = orchestrator.take_unpersisted()
    assert [fields["task"] for fields in entries] == ["second"]
    assert "not persisted" in caplog.text


@pytest.mark.parametrize(
    "fields",
    [
        {"routing_id": "x", "ts": "2026-01-01T00:00:00+00:00"},
        {"record": "not json"},
        {"record": '{"routing_id": "not-a-uuid"}'},
    ],
)
def test_an_unreadable_entry_is_a_value_error(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        history_format.decode(fields)


def test_the_archive_row_is_built_from_the_record() -> None:
    orchestrator = decided(correlation_id="cg-1", retry_count=1)
    (record,) = orchestrator.get_history()
    fields = history_format.encode(record)
    row = rows.routing_row("ns", "1-0", fields)
    assert row == {
        "routing_id": str(record.routing_id),
        "coordination_id": "cg-1",
        "namespace": "ns",
        "stream_id": "1-0",
        "decided_at": record.timestamp,
        "task": "package",
        "decision": "end",
        "strategy": "conditional",
        "record": fields["record"],
    }
    with pytest.raises(ValueError):
        rows.routing_row("ns", "2-0", {"record": "{}"})


def test_coord_history_reads_an_archived_record_as_json_text_or_decoded() -> None:
    orchestrator = decided(correlation_id="cg-1", retry_count=1)
    (record,) = orchestrator.get_history()
    text = history_format.encode(record)["record"]
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for stored in (text, loads(text)):
        entry = HistoryEntry(at=at, kind="routing", summary="", detail={"routing_id": "x", "record": stored})
        decision = _archived_decision(entry)
        assert decision is not None
        assert (decision.agent, decision.attempt, decision.decision, decision.strategy) == (
            "package",
            2,
            "end",
            "conditional",
        )
        assert (decision.routing_id, decision.at, decision.source) == (str(record.routing_id), at, "archive")
    unreadable = HistoryEntry(at=at, kind="routing", summary="", detail={"record": {"context": {}}})
    assert _archived_decision(unreadable) is None


def test_records_written_by_the_previous_encoder_still_read() -> None:
    # What the stream held before the format module (pydantic's model_dump_json): archived rows keep it.
    record = decided(correlation_id="cg-1").get_history()[0]
    assert isinstance(record, RoutingHistoryRecord)
    assert history_format.decode({"record": record.model_dump_json()}) == record
