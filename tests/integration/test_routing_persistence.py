"""Routing history persisted to the coordination store and read back by another orchestrator (real Redis)."""

from __future__ import annotations

from datetime import UTC

import pytest

from coordination import (
    ConditionalRouter,
    ConditionalRule,
    PriorityRouter,
    RoutingDecision,
    SmartRoutingOrchestrator,
    StateAnalysisRouter,
    ThreadSafeState,
)
from coordination.archive import rows
from coordination.errors import InvalidInputError
from coordination.routing import history_format
from tests.conftest import keys_of


def orchestrator_on(state: ThreadSafeState, **options: object) -> SmartRoutingOrchestrator:
    orchestrator = SmartRoutingOrchestrator(state=state, **options)  # type: ignore[arg-type]
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
    orchestrator.add_router(PriorityRouter())
    return orchestrator


def test_routing_writes_nothing_until_the_history_is_persisted(namespace: str) -> None:
    orchestrator = orchestrator_on(ThreadSafeState(namespace=namespace))
    for index in range(20):
        orchestrator.route({"task_priority": index * 5}, f"task-{index}")
    assert keys_of(namespace) == []
    assert orchestrator.persist_history() == 20
    assert len(keys_of(namespace)) == 1


def test_persisted_history_reads_back_in_a_fresh_orchestrator_newest_first(namespace: str) -> None:
    writer = orchestrator_on(ThreadSafeState(namespace=namespace))
    first = writer.route({"phase": "running"}, "generate_model", execution_time=12.5, correlation_id="c-1")
    second = writer.route({"phase": "done"}, "package", retry_count=2, custom_data={"priority": 0})
    assert writer.persist_history() == 2

    reader = orchestrator_on(ThreadSafeState(namespace=namespace))
    records = reader.read_persisted_history()
    assert [str(record.routing_id) for record in records] == [second["routing_id"], first["routing_id"]]
    newest = records[0]
    assert newest.result.decision is RoutingDecision.END
    assert newest.result.next_task == "report"
    assert newest.result.metadata == second["metadata"]
    assert newest.context.current_task == "package"
    assert newest.context.retry_count == 2
    assert newest.context.custom_data == {"priority": 0}
    assert newest.routing_time_ms == pytest.approx(second["routing_time_ms"])
    assert newest.timestamp.utcoffset() == UTC.utcoffset(None)
    assert records[1].context.execution_time == 12.5
    assert records[1].context.correlation_id == "c-1"
    assert newest == writer.get_history()[0]
    assert [str(r.routing_id) for r in reader.read_persisted_history(limit=1)] == [second["routing_id"]]


def test_persisting_again_writes_only_new_decisions(namespace: str) -> None:
    orchestrator = orchestrator_on(ThreadSafeState(namespace=namespace))
    orchestrator.route({}, "a")
    orchestrator.route({}, "b")
    assert orchestrator.persist_history() == 2
    assert orchestrator.persist_history() == 0
    orchestrator.route({}, "c")
    assert orchestrator.persist_history() == 1
    tasks = [record.context.current_task for record in orchestrator.read_persisted_history()]
    assert tasks == ["c", "b", "a"]


def test_cleared_or_dropped_decisions_are_not_persisted(namespace: str) -> None:
    orchestrator = orchestrator_on(ThreadSafeState(namespace=namespace), max_history_size=3)
    for index in range(5):
        orchestrator.route({}, f"t{index}")
    assert orchestrator.persist_history() == 3  # the two oldest left memory before the call
    orchestrator.route({}, "gone")
    orchestrator.clear_history()
    assert orchestrator.persist_history() == 0
    assert len(orchestrator.read_persisted_history()) == 3


def test_values_json_cannot_carry_are_persisted_as_text(namespace: str) -> None:
    orchestrator = orchestrator_on(ThreadSafeState(namespace=namespace))
    orchestrator.route({}, "t", custom_data={"when": object, "tags": {"a"}})
    assert orchestrator.persist_history() == 1
    custom = orchestrator.read_persisted_history()[0].context.custom_data
    assert custom["when"] == str(object)
    assert custom["tags"] == ["a"]


def test_the_history_of_a_private_state_expires_with_it(redis_client) -> None:  # type: ignore[no-untyped-def]
    state = ThreadSafeState()
    orchestrator = orchestrator_on(state)
    orchestrator.route({}, "t")
    assert orchestrator.persist_history() == 1
    assert 0 < redis_client.pttl(state.store_keys.routing_history) <= state.ttl_ms
    redis_client.delete(state.store_keys.routing_history)


def test_a_bad_limit_is_refused_and_nothing_is_written(namespace: str) -> None:
    orchestrator = orchestrator_on(ThreadSafeState(namespace=namespace))
    orchestrator.route({}, "t")
    for limit in (-1, 2.5, True):
        with pytest.raises(InvalidInputError) as caught:
            orchestrator.read_persisted_history(limit=limit)  # type: ignore[arg-type]
        assert caught.value.field == "limit"
    assert keys_of(namespace) == []


def test_persisted_entries_are_in_the_stream_format_the_archive_reads(namespace: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    state = ThreadSafeState(namespace=namespace)
    orchestrator = orchestrator_on(state)
    decision = orchestrator.route({"phase": "done"}, "package", correlation_id="cg-7")
    assert orchestrator.persist_history() == 1
    ((entry_id, fields),) = redis_client.xrange(state.store_keys.routing_history)
    assert tuple(fields) == history_format.FIELDS
    row = rows.routing_row(namespace, entry_id, fields)
    assert (row["routing_id"], row["coordination_id"], row["task"], row["decision"]) == (
        decision["routing_id"],
        "cg-7",
        "package",
        "end",
    )
