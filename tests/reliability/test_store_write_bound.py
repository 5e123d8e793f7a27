"""A write to a store that stopped reading ends in a time-out, not a hang; small commands skip the timer only.

The store's asyncio connection writes a command smaller than the transport's high-water mark without a timer
(its write buffer is empty, so ``drain()`` cannot wait). A large one still runs under the socket timeout: with the
server frozen (SIGSTOP), the kernel's buffers fill and the write must give up after ``socket_timeout``.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import TimeoutError as RedisTimeoutError

from coordination.store.connection import StoreConnection
from tests.reliability.redis_server import PrivateRedis


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    started = PrivateRedis(tmp_path / "redis").start()
    yield started
    if started.process is not None:
        started.process.send_signal(signal.SIGCONT)
    started.kill()


def _client(server: PrivateRedis) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        server.url(), connection_class=StoreConnection, socket_timeout=1.0, retry=Retry(NoBackoff(), 0)
    )


async def test_a_large_write_to_a_frozen_server_times_out(server: PrivateRedis) -> None:
    client = _client(server)
    try:
        assert await client.ping()
        assert server.process is not None
        server.process.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError):
            await asyncio.wait_for(client.set("big", b"x" * (64 * 1024 * 1024)), 20.0)
        assert time.monotonic() - started < 10.0
    finally:
        if server.process is not None:
            server.process.send_signal(signal.SIGCONT)
        await client.aclose()


async def test_small_commands_are_written_and_answered_as_before(server: PrivateRedis) -> None:
    client = _client(server)
    try:
        for n in range(50):
            assert await client.set(f"k{n}", "v" * 1000)
        assert await client.mget([f"k{n}" for n in range(50)]) == [b"v" * 1000] * 50
        assert await client.set("exactly-at-the-mark", b"y" * (64 * 1024))  # the bounded way, answered
    finally:
        await client.aclose()
