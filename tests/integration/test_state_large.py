"""State operations on states of any size happen completely or not at all (100,000 keys, real Redis).

Before, ``clear()`` on more than about 4,000 keys deleted every key and then failed (``too many results to
unpack`` in Lua) with no version bump and no change record, so it could not be undone.
"""

from __future__ import annotations

from typing import Any

import pytest

from coordination.archive.rows import state_change_row
from coordination.state import ThreadSafeState
from coordination.store.connection import sync_client
from coordination.store.scripts import script

pytestmark = pytest.mark.redis

KEYS = 100_000


def values(count: int, prefix: str = "k") -> dict[str, Any]:
    """``count`` keys with values of several JSON shapes (and a non-ASCII key, and JSON that needs escaping)."""
    return {
        f"{prefix}{n:06d}" if n % 1000 else f'{prefix}{n:06d}-é/"q"': [n, {"n": str(n)}] if n % 2 else n / 7
        for n in range(count)
    }


@pytest.fixture
def big(namespace: str) -> tuple[ThreadSafeState[Any], dict[str, Any]]:
    state: ThreadSafeState[Any] = ThreadSafeState(namespace=namespace, max_history_size=100)
    content = values(KEYS)
    state.update(content, changed_by="loader")
    return state, content


def test_an_update_of_100000_keys_is_one_version_with_every_value(big):
    state, content = big
    assert state.get_version() == 1
    assert len(state) == KEYS
    assert state.snapshot() == content


def test_clearing_100000_keys_is_one_version_and_one_record_that_rollback_undoes(big):
    state, content = big
    state.clear(changed_by="janitor")

    assert len(state) == 0
    assert state.get_version() == 2
    [record] = state.get_history(key="__ALL__")
    assert (record.version, record.operation, record.changed_by) == (2, "clear", "janitor")
    assert record.old_value == content
    assert sync_client().xlen(state.store_keys.state_log) < 200  # the update's records were trimmed (MAXLEN ~ 100)

    state.rollback(1)
    assert state.get_version() == 1
    assert state.snapshot() == content


def test_rollback_across_a_big_clear_and_later_writes_restores_the_old_state(namespace):
    state: ThreadSafeState[Any] = ThreadSafeState(namespace=namespace, max_history_size=10)
    content = values(20_000)
    state.update(content)  # version 1: 20,000 records, trimmed to about 10
    state.clear()  # version 2
    state.set("after", 1)  # version 3
    state.update({"k000001": "changed", "new": True})  # version 4

    state.rollback(2)
    assert state.get_version() == 2 and len(state) == 0
    state.rollback(1)
    assert state.get_version() == 1
    assert state.snapshot() == content


def test_a_clear_that_fails_changes_nothing(big):
    """A clear whose change record cannot be written (here: the log key holds a string) leaves the state whole."""
    state, content = big
    log = state.store_keys.state_log
    client = sync_client()
    client.delete(log)
    client.set(log, "not a stream")
    try:
        with pytest.raises(Exception, match="WRONGTYPE"):
            state.clear()
        assert state.snapshot() == content
        assert state.get_version() == 1
    finally:
        client.delete(log)


def test_the_archive_reads_a_big_clear_as_one_row_with_every_old_value(big):
    import json

    state, content = big
    state.clear()
    entry_id, fields = sync_client().xrevrange(state.store_keys.state_log, count=1)[0]
    row = state_change_row(state.namespace, None, entry_id, fields)
    assert row["operation"] == "clear" and row["version"] == 2
    assert json.loads(row["old_value"]) == content


def test_clear_records_of_the_old_layout_are_still_undone(namespace):
    """Change logs written before the snapshot field (one s:<key> field per key) still roll back."""
    state: ThreadSafeState[Any] = ThreadSafeState(namespace=namespace)
    state.update({"a": 1, "b": [2]})
    client = sync_client()
    client.delete(state.store_keys.state_data)
    client.hset(state.store_keys.state_meta, "version", 2)
    client.xadd(
        state.store_keys.state_log,
        {"v": 2, "op": "clear", "k": "__ALL__", "by": "", "ts": 0, "s:a": "1", "s:b": "[2]"},
    )
    assert state.get_history(key="__ALL__")[0].old_value == {"a": 1, "b": [2]}
    state.rollback(1)
    assert state.snapshot() == {"a": 1, "b": [2]}


def test_clearing_an_empty_state_is_a_version_with_an_empty_record(namespace):
    state: ThreadSafeState[Any] = ThreadSafeState(namespace=namespace)
    state.clear()
    assert state.get_version() == 1
    assert state.get_history()[0].old_value == {}
    state.rollback(0)
    assert state.get_version() == 0


def test_the_scripts_run_on_the_embedded_server_too():
    """The demo's no-Redis mode (fakeredis with Lua) runs the same clear and rollback scripts."""
    import fakeredis

    server = fakeredis.FakeRedis(decode_responses=True)
    keys = ["d", "m", "l"]
    server.hset("d", mapping={f"k{n}": str(n) for n in range(10_000)})
    status, version = script("state_write")(server, keys, ["clear", "", "", 0, 100, 0])
    assert (status, version) == (1, 1) and server.hlen("d") == 0
    status, _current, _lowest = script("state_rollback")(server, keys, [0, 0])
    assert status == 1 and server.hlen("d") == 10_000 and server.hget("d", "k9") == "9"
