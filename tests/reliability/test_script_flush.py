"""A store that lost its scripts (a restart, SCRIPT FLUSH) runs them again: single calls and MULTI/EXEC batches.

Runs on a redis-server of the test's own (SCRIPT FLUSH is server-wide).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from coordination.store.keys import Keys
from coordination.store.scripts import LuaScript, run_atomically, run_atomically_async, script
from tests.reliability.redis_server import PrivateRedis


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    started = PrivateRedis(tmp_path / "scripts").start()
    try:
        yield started
    finally:
        started.kill()


def _set(keys: Keys, field: str, value: str) -> tuple[LuaScript, list[str], list[Any]]:
    # state_write's arguments: op, expected version, changed_by, ts, max history, ttl, then field/JSON pairs.
    return (
        script("state_write"),
        [keys.state_data, keys.state_meta, keys.state_log],
        ["set", "", "t", 0, 100, 0, field, value],
    )


def test_a_batch_runs_again_after_the_server_dropped_its_scripts(server: PrivateRedis) -> None:
    client = redis.Redis.from_url(server.url(), decode_responses=True)
    keys = Keys("flush", "ns")
    assert run_atomically(client, [_set(keys, "a", "1"), _set(keys, "b", "2")]) == [[1, 1], [1, 2]]

    client.script_flush()
    assert run_atomically(client, [_set(keys, "c", "3")]) == [[1, 3]]  # loaded again, run once

    assert client.hget(keys.state_meta, "version") == "3"
    assert client.xlen(keys.state_log) == 3


def test_the_asyncio_batch_does_the_same(server: PrivateRedis) -> None:
    keys = Keys("flush", "ns-async")

    async def scenario() -> list[object]:
        client = aioredis.Redis.from_url(server.url(), decode_responses=True)
        try:
            first = await run_atomically_async(client, [_set(keys, "a", "1")])
            await client.script_flush()
            second = await run_atomically_async(client, [_set(keys, "b", "2")])
            return [first, second, await client.hget(keys.state_meta, "version")]
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == [[[1, 1]], [[1, 2]], "2"]


def test_a_single_asyncio_call_loads_the_script_again_and_runs_it_once(server: PrivateRedis) -> None:
    keys = Keys("flush", "ns-single")
    lua, script_keys, first_args = _set(keys, "a", "1")
    _lua, _keys, second_args = _set(keys, "b", "2")

    async def scenario() -> list[object]:
        client = aioredis.Redis.from_url(server.url(), decode_responses=True)
        try:
            first = await lua.run_async(client, script_keys, first_args)
            await client.script_flush()
            second = await lua.run_async(client, script_keys, second_args)
            return [first, second, await client.hget(keys.state_meta, "version"), await client.xlen(keys.state_log)]
        finally:
            await client.aclose()

    # Loaded again on NOSCRIPT and run once: version 2, two log entries (a double run would make them 3).
    assert asyncio.run(scenario()) == [[1, 1], [1, 2], "2", 2]


def test_a_batch_loads_the_scripts_it_is_told_to_preload_in_the_same_round_trip(server: PrivateRedis) -> None:
    """A resolver's first transaction loads its other scripts too (compiled once, before they are needed)."""
    keys = Keys("flush", "ns-preload")
    later = [script("deps_register"), script("deps_check")]

    async def scenario() -> tuple[list[bool], int, list[bool]]:
        client = aioredis.Redis.from_url(server.url(), decode_responses=True)
        try:
            before = await client.script_exists(*(lua.sha for lua in later))
            await run_atomically_async(client, [_set(keys, "a", "1")], preload=later)
            loads = (await client.info("commandstats"))["cmdstat_script|load"]["calls"]
            after = await client.script_exists(*(lua.sha for lua in later))
            await run_atomically_async(client, [_set(keys, "b", "2")], preload=later)  # all known: nothing loaded
            assert (await client.info("commandstats"))["cmdstat_script|load"]["calls"] == loads
            return before, loads, after
        finally:
            await client.aclose()

    before, loads, after = asyncio.run(scenario())
    assert before == [False, False] and after == [True, True]
    assert loads == 3  # state_write and the two preloaded ones
