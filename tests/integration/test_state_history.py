"""ThreadSafeState.get_history(): never more than max_history_size records, as the seed's deque held."""

from __future__ import annotations

from typing import Any

import pytest

from coordination.state import ThreadSafeState
from coordination.store.connection import sync_client


@pytest.fixture
def state(namespace: str) -> ThreadSafeState[Any]:
    # Redis trims the change log in blocks (MAXLEN ~), so it keeps more than 5 records after 300 changes.
    state: ThreadSafeState[Any] = ThreadSafeState(max_history_size=5, namespace=namespace)
    for version in range(1, 301):
        state.set("even" if version % 2 == 0 else "odd", version)
    assert sync_client().xlen(state.store_keys.state_log) > 5
    return state


def test_the_history_holds_the_last_max_history_size_records(state: ThreadSafeState[Any]) -> None:
    history = state.get_history()

    assert [record.version for record in history] == [300, 299, 298, 297, 296]


def test_a_larger_limit_still_gives_at_most_max_history_size_records(state: ThreadSafeState[Any]) -> None:
    assert len(state.get_history(limit=50)) == 5
    assert [record.version for record in state.get_history(limit=2)] == [300, 299]


def test_a_key_filter_applies_to_the_retained_records_only(state: ThreadSafeState[Any]) -> None:
    # As in the seed: filter the retained history, then limit.
    assert [record.version for record in state.get_history(key="even")] == [300, 298, 296]
    assert [record.version for record in state.get_history(key="even", limit=1)] == [300]
