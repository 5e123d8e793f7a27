"""ThreadSafeState: versioned state in Redis, shared by namespace, atomic across processes."""

from __future__ import annotations

from datetime import UTC
from itertools import pairwise
from typing import Any

import pytest

from coordination.errors import (
    InvalidIdError,
    InvalidInputError,
    NotSerializableError,
    PayloadTooLargeError,
    StateKeyError,
    StateRollbackError,
    StateVersionError,
)
from coordination.state import ThreadSafeState
from coordination.store.connection import sync_client
from tests.conftest import SESSION_ROOT, keys_of
from tests.helpers import SPAWN, join_all, start_child, state_updates


@pytest.fixture
def state(namespace: str) -> ThreadSafeState[Any]:
    return ThreadSafeState(namespace=namespace)


def fingerprint(state: ThreadSafeState[Any]) -> tuple[int, dict[str, Any], list[tuple[int, str, str]]]:
    """Everything an operation could change: version, values and change log."""
    history = [(r.version, r.operation, r.key) for r in state.get_history()]
    return state.get_version(), state.snapshot(), history


# -- private and shared states --------------------------------------------------------------------------------


def test_a_new_state_is_empty_at_version_zero(state: ThreadSafeState[Any]) -> None:
    assert state.get_version() == 0
    assert state.snapshot() == {}
    assert state.keys() == []
    assert len(state) == 0


def test_a_private_state_sets_a_ttl_on_every_key_it_writes(redis_server: str) -> None:
    private: ThreadSafeState[int] = ThreadSafeState({"seed": 1})
    private.set("a", 1)
    private.update({"b": 2})
    keys = keys_of(private.namespace)

    assert private.ttl_ms > 0
    assert len(keys) == 3  # values, version, change log
    for key in keys:
        assert 0 < sync_client().pttl(key) <= private.ttl_ms, key


def test_two_private_states_are_independent(redis_server: str) -> None:
    first: ThreadSafeState[int] = ThreadSafeState()
    second: ThreadSafeState[int] = ThreadSafeState()
    first.set("a", 1)

    assert first.namespace != second.namespace
    assert second.get("a") is None


def test_a_shared_state_is_seen_by_every_object_with_its_namespace_and_never_expires(namespace: str) -> None:
    writer: ThreadSafeState[int] = ThreadSafeState(namespace=namespace)
    writer.set("a", 1)
    reader: ThreadSafeState[int] = ThreadSafeState({"a": 99, "b": 2}, namespace=namespace)

    assert reader.get("a") == 1  # initial_state is ignored when the shared state already exists
    assert reader.get("b") is None
    assert reader.ttl_ms == 0
    for key in keys_of(namespace):
        assert sync_client().pttl(key) == -1, key


def test_initial_state_seeds_a_new_shared_state_at_version_zero(namespace: str) -> None:
    state: ThreadSafeState[int] = ThreadSafeState({"a": 1, "b": 2}, namespace=namespace)

    assert state.snapshot() == {"a": 1, "b": 2}
    assert state.get_version() == 0
    assert state.get_history() == []


def test_two_processes_updating_concurrently_lose_nothing_and_versions_strictly_increase(
    namespace: str,
) -> None:
    count = 1000
    start = SPAWN.Event()
    results = SPAWN.Queue()
    children = [start_child(state_updates, SESSION_ROOT, namespace, index, count, start, results) for index in (0, 1)]
    start.set()
    reports = dict(results.get(timeout=60) for _ in children)
    join_all(*children)

    state: ThreadSafeState[int] = ThreadSafeState(max_history_size=10_000, namespace=namespace)
    assert state.get_version() == 2 * count
    assert state.snapshot() == {f"p{index}-{n}": n for index in (0, 1) for n in range(count)}
    for versions in reports.values():
        assert len(versions) == count
        assert all(a < b for a, b in pairwise(versions))
    history = state.get_history()
    assert len(history) == 2 * count
    assert sorted(record.version for record in history) == list(range(1, 2 * count + 1))


# -- reads and writes ----------------------------------------------------------------------------------------


def test_values_round_trip_as_json(state: ThreadSafeState[Any]) -> None:
    value = {"list": [1, 2.5, "x", None, True], "nested": {"k": "v"}}
    state.set("doc", value)

    assert state.get("doc") == value
    assert state.get_required("doc") == value


def test_a_stored_none_is_returned_as_none_not_as_the_default(state: ThreadSafeState[Any]) -> None:
    state.set("empty", None)

    assert state.get("empty", "default") is None
    assert state.get("missing", "default") == "default"
    assert state.has("empty")
    assert "empty" in state
    assert "missing" not in state


def test_set_bumps_the_version_and_records_the_change(state: ThreadSafeState[Any]) -> None:
    state.set("a", 1, changed_by="agent-1")
    state.set("a", 2)

    assert state.get_version() == 2
    newest, oldest = state.get_history()
    assert (newest.version, newest.operation, newest.old_value, newest.new_value) == (2, "set", 1, 2)
    assert (oldest.version, oldest.operation, oldest.old_value, oldest.new_value) == (1, "set", None, 1)
    assert oldest.changed_by == "agent-1"
    assert oldest.timestamp.tzinfo == UTC


def test_update_bumps_the_version_once_and_records_one_change_per_key(state: ThreadSafeState[Any]) -> None:
    state.update({"a": 1, "b": 2, "c": 3})

    assert state.get_version() == 1
    history = state.get_history()
    assert sorted(record.key for record in history) == ["a", "b", "c"]
    assert {(record.version, record.operation) for record in history} == {(1, "update")}


def test_update_with_nothing_changes_nothing(state: ThreadSafeState[Any]) -> None:
    state.set("a", 1)
    before = fingerprint(state)

    state.update({})

    assert fingerprint(state) == before


def test_deleting_an_absent_key_returns_false_and_changes_nothing(state: ThreadSafeState[Any]) -> None:
    state.set("a", 1)
    before = fingerprint(state)

    assert state.delete("missing") is False
    assert fingerprint(state) == before
    assert state.delete("a") is True
    assert state.get_version() == 2
    assert state.get_history(limit=1)[0].operation == "delete"


def test_get_required_names_the_missing_key_and_lists_the_available_ones(state: ThreadSafeState[Any]) -> None:
    state.update({"x": 1, "y": 2})

    with pytest.raises(StateKeyError) as raised:
        state.get_required("z")

    assert raised.value.key == "z"
    assert raised.value.available_keys == ["x", "y"]
    assert "'z'" in str(raised.value)


def test_history_is_newest_first_and_filters_by_key_then_limits(state: ThreadSafeState[Any]) -> None:
    for n in range(5):
        state.set("a" if n % 2 == 0 else "b", n)

    assert [record.version for record in state.get_history()] == [5, 4, 3, 2, 1]
    assert [record.version for record in state.get_history(key="a")] == [5, 3, 1]
    assert [record.version for record in state.get_history(key="a", limit=2)] == [5, 3]
    assert [record.version for record in state.get_history(limit=1)] == [5]


async def test_the_async_set_is_the_same_operation(state: ThreadSafeState[Any]) -> None:
    await state.aset("a", 1)

    assert state.get("a") == 1
    assert state.get_version() == 1
    with pytest.raises(StateVersionError):
        await state.aset("a", 2, expected_version=0)
    assert state.get("a") == 1


def test_len_keys_and_repr_describe_the_state(state: ThreadSafeState[Any]) -> None:
    state.update({"a": 1, "b": 2})

    assert len(state) == 2
    assert sorted(state.keys()) == ["a", "b"]
    assert repr(state) == "ThreadSafeState(version=1, keys=2, history_size=2)"


# -- optimistic concurrency ----------------------------------------------------------------------------------


def test_writes_with_the_current_expected_version_succeed(state: ThreadSafeState[Any]) -> None:
    state.set("a", 1, expected_version=0)
    state.update({"b": 2}, expected_version=1)
    assert state.delete("a", expected_version=2) is True

    assert state.get_version() == 3
    assert state.snapshot() == {"b": 2}


@pytest.mark.parametrize(
    "write",
    [
        lambda s: s.set("a", 99, expected_version=1),
        lambda s: s.update({"a": 99, "new": 1}, expected_version=1),
        lambda s: s.update({}, expected_version=1),
        lambda s: s.delete("a", expected_version=1),
    ],
    ids=["set", "update", "empty update", "delete"],
)
def test_a_write_with_a_stale_expected_version_raises_and_writes_nothing(
    state: ThreadSafeState[Any], write: Any
) -> None:
    state.set("a", 1)
    state.set("a", 2)
    before = fingerprint(state)

    with pytest.raises(StateVersionError) as raised:
        write(state)

    assert raised.value.current_version == 2
    assert raised.value.target_version == 1
    assert fingerprint(state) == before


# -- snapshots -----------------------------------------------------------------------------------------------


def test_a_snapshot_is_an_independent_copy(state: ThreadSafeState[Any]) -> None:
    state.update({"a": 1, "items": [1, 2]})
    snapshot = state.snapshot()

    snapshot["a"] = 99
    snapshot["items"].append(3)
    snapshot["new"] = True

    assert state.get("a") == 1
    assert state.snapshot() == {"a": 1, "items": [1, 2]}


def test_snapshot_with_version_reads_both_together(state: ThreadSafeState[Any]) -> None:
    state.set("a", 1)
    state.set("b", 2)

    assert state.snapshot_with_version() == (2, {"a": 1, "b": 2})


# -- rollback ------------------------------------------------------------------------------------------------


def test_rollback_reaches_version_zero(state: ThreadSafeState[Any]) -> None:
    state.set("a", 1)
    state.update({"a": 2, "b": 3})
    state.delete("a")

    state.rollback(0)

    assert state.get_version() == 0
    assert state.snapshot() == {}


def test_rollback_restores_each_intermediate_version(state: ThreadSafeState[Any]) -> None:
    state.set("a", 1)
    state.update({"a": 2, "b": 3})
    state.delete("a")
    state.set("b", None)

    state.rollback(3)
    assert state.snapshot() == {"b": 3}
    state.rollback(2)
    assert state.snapshot() == {"a": 2, "b": 3}
    state.rollback(1)
    assert state.snapshot() == {"a": 1}


def test_rollback_undoes_a_clear(state: ThreadSafeState[Any]) -> None:
    state.update({"a": 1, "b": [1, 2]})
    state.clear()
    state.set("c", 3)
    assert state.snapshot() == {"c": 3}

    state.rollback(1)

    assert state.get_version() == 1
    assert state.snapshot() == {"a": 1, "b": [1, 2]}


def test_the_clear_record_keeps_the_old_values(state: ThreadSafeState[Any]) -> None:
    state.update({"a": 1, "b": 2})
    state.clear(changed_by="janitor")

    record = state.get_history(limit=1)[0]
    assert (record.version, record.key, record.operation) == (2, "__ALL__", "clear")
    assert record.old_value == {"a": 1, "b": 2}
    assert record.changed_by == "janitor"
    assert state.snapshot() == {}


def test_writes_after_a_rollback_get_fresh_unique_versions(state: ThreadSafeState[Any]) -> None:
    state.set("a", 1)
    state.set("a", 2)
    state.set("a", 3)
    state.rollback(1)

    state.set("a", 20)
    state.update({"a": 30, "b": 1})

    assert state.get_version() == 3
    assert state.snapshot() == {"a": 30, "b": 1}
    versions = [(record.version, record.key) for record in state.get_history()]
    assert len(versions) == len(set(versions))
    assert [record.new_value for record in state.get_history(key="a")] == [30, 20, 1]
    state.rollback(2)
    assert state.snapshot() == {"a": 20}


@pytest.mark.parametrize("target", [-1, 3, 4])
def test_rollback_to_a_version_outside_zero_to_current_minus_one_raises_and_changes_nothing(
    state: ThreadSafeState[Any], target: int
) -> None:
    state.set("a", 1)
    state.set("a", 2)
    state.set("a", 3)
    before = fingerprint(state)

    with pytest.raises(StateVersionError):
        state.rollback(target)

    assert fingerprint(state) == before


def test_rollback_beyond_the_retained_history_raises_and_changes_nothing(state: ThreadSafeState[Any]) -> None:
    state.set("a", 1)
    state.set("a", 2)
    state.clear_history()
    state.set("a", 3)
    before = fingerprint(state)

    with pytest.raises(StateRollbackError) as raised:
        state.rollback(1)

    assert raised.value.target_version == 1
    assert raised.value.oldest_version == 2
    assert fingerprint(state) == before
    state.rollback(2)
    assert state.snapshot() == {"a": 2}


def test_rollback_refuses_a_version_whose_later_changes_were_partly_trimmed(namespace: str) -> None:
    # Redis trims a capped change log in whole blocks, which can cut through the records of one update (one
    # record per key). Undoing only the rest would produce a state that never existed.
    state: ThreadSafeState[int] = ThreadSafeState(max_history_size=10, namespace=namespace)
    # get_history() shows at most max_history_size records; a reader with a larger one sees every retained record.
    log_reader: ThreadSafeState[int] = ThreadSafeState(max_history_size=10_000, namespace=namespace)
    keys = [f"k{n}" for n in range(3)]
    model: dict[int, dict[str, int]] = {0: {}}
    for version in range(1, 300):
        state.update(dict.fromkeys(keys, version))
        model[version] = dict.fromkeys(keys, version)
        oldest = log_reader.get_history()[-1]
        if oldest.key != keys[0]:
            break
    else:
        pytest.fail("the change log was never trimmed inside an update")
    before = fingerprint(state)

    with pytest.raises(StateRollbackError):
        state.rollback(oldest.version - 1)
    assert fingerprint(state) == before

    state.rollback(oldest.version)
    assert state.snapshot() == model[oldest.version]


# -- bad input -----------------------------------------------------------------------------------------------


def test_a_value_json_cannot_carry_is_refused_and_nothing_is_written(namespace: str) -> None:
    state: ThreadSafeState[Any] = ThreadSafeState(namespace=namespace)

    with pytest.raises(NotSerializableError) as raised:
        state.update({"ok": 1, "bad": object()})

    assert "bad" in raised.value.field
    assert keys_of(namespace) == []


def test_a_value_over_the_size_limit_is_refused_and_nothing_is_written(namespace: str) -> None:
    state: ThreadSafeState[Any] = ThreadSafeState(namespace=namespace)

    with pytest.raises(PayloadTooLargeError) as raised:
        state.set("big", "x" * (1024 * 1024 + 1))

    assert "big" in raised.value.field
    assert keys_of(namespace) == []


@pytest.mark.parametrize("key", ["", None, 3])
def test_a_key_that_is_not_a_non_empty_string_is_refused(namespace: str, key: Any) -> None:
    state: ThreadSafeState[Any] = ThreadSafeState(namespace=namespace)

    with pytest.raises(InvalidInputError) as raised:
        state.set(key, 1)

    assert raised.value.field == "key"
    assert keys_of(namespace) == []


@pytest.mark.parametrize("name", ["a:b", "{x}", "has space", "x" * 129, ""])
def test_a_namespace_that_cannot_be_a_key_segment_is_refused(redis_server: str, name: str) -> None:
    with pytest.raises(InvalidIdError) as raised:
        ThreadSafeState({"a": 1}, namespace=name)

    assert raised.value.field == "namespace"


@pytest.mark.parametrize("size", [0, -1])
def test_max_history_size_must_be_positive(redis_server: str, size: int) -> None:
    with pytest.raises(InvalidInputError) as raised:
        ThreadSafeState(max_history_size=size)

    assert raised.value.field == "max_history_size"


@pytest.mark.parametrize("expected", [-1, "1", True])
def test_an_invalid_expected_version_is_refused_and_nothing_is_written(namespace: str, expected: Any) -> None:
    state: ThreadSafeState[Any] = ThreadSafeState(namespace=namespace)

    with pytest.raises(InvalidInputError) as raised:
        state.set("a", 1, expected_version=expected)

    assert raised.value.field == "expected_version"
    assert keys_of(namespace) == []
