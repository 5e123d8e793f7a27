"""Property-based tests: ThreadSafeState behaves like a dict with a version per effective change."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordination.errors import StateVersionError
from coordination.state import ThreadSafeState

KEYS = st.sampled_from(["a", "b", "c", "d"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=5,
)
OPERATIONS = st.one_of(
    st.tuples(st.just("set"), KEYS, JSON_VALUES),
    st.tuples(st.just("update"), st.dictionaries(KEYS, JSON_VALUES, max_size=3)),
    st.tuples(st.just("delete"), KEYS),
    st.tuples(st.just("clear")),
)
PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def apply(state: ThreadSafeState[Any], model: dict[str, Any], operation: tuple[Any, ...]) -> bool:
    """Apply one operation to the state and to the model; return whether it was an effective change."""
    match operation:
        case ("set", key, value):
            state.set(key, value)
            model[key] = value
            return True
        case ("update", updates):
            state.update(updates)
            model.update(updates)
            return bool(updates)
        case ("delete", key):
            deleted = state.delete(key)
            assert deleted == (key in model)
            model.pop(key, None)
            return deleted
        case ("clear",):
            state.clear()
            model.clear()
            return True
    raise AssertionError(operation)


def fresh_state() -> ThreadSafeState[Any]:
    return ThreadSafeState(namespace=f"prop-{uuid.uuid4().hex[:12]}")


@PROPERTY_SETTINGS
@given(operations=st.lists(OPERATIONS, max_size=20))
def test_versions_increase_by_exactly_one_per_effective_operation(
    redis_server: str, operations: list[tuple[Any, ...]]
) -> None:
    state = fresh_state()
    model: dict[str, Any] = {}
    expected_version = 0
    for operation in operations:
        if apply(state, model, operation):
            expected_version += 1
        assert state.get_version() == expected_version
        assert state.snapshot() == model


@PROPERTY_SETTINGS
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=20), data=st.data())
def test_rollback_to_any_earlier_version_restores_the_recorded_snapshot(
    redis_server: str, operations: list[tuple[Any, ...]], data: st.DataObject
) -> None:
    state = fresh_state()
    model: dict[str, Any] = {}
    snapshots = {0: {}}
    for operation in operations:
        apply(state, model, operation)
        snapshots[state.get_version()] = dict(model)
    current = state.get_version()
    if current == 0:
        try:
            state.rollback(0)
        except StateVersionError:
            return
        raise AssertionError("rollback to the current version must raise")

    target = data.draw(st.integers(0, current - 1), label="target")
    state.rollback(target)

    assert state.get_version() == target
    assert state.snapshot() == snapshots[target]
    # Later writes continue from the target with version numbers that stay unique in the change log.
    state.set("after", 1)
    assert state.get_version() == target + 1
    records = [(record.version, record.key) for record in state.get_history()]
    assert len(records) == len(set(records))
    assert all(version <= target + 1 for version, _ in records)
