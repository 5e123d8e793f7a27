"""Raw redis-py measurements: the floor each component figure is compared with, taken in the same run.

Each baseline does the bare Redis operation the component is built on, with the same client library
(redis-py, hiredis parser, ``decode_responses=True``), the same payload size and the same timing method as the
component figure beside it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import redis
import redis.asyncio as aioredis

from bench.env import store_url
from bench.peer import Peer
from bench.plan import PACE_S


def sync_raw_client() -> redis.Redis:
    """A plain blocking client on the coordination store (not the component's cached one)."""
    return redis.Redis.from_url(store_url(), decode_responses=True)


def async_raw_client() -> aioredis.Redis:
    """A plain asyncio client on the coordination store."""
    return aioredis.Redis.from_url(store_url(), decode_responses=True)


def signal_like_fields(t0: float, index: int) -> dict[str, str]:
    """Stream entry fields shaped like a stored signal (same names and sizes), plus ``t0`` for the reader."""
    return {
        "id": str(uuid.uuid4()),
        "type": "inter_agent_message",
        "sender": "bench-sender",
        "to": "[]",
        "ts": datetime.fromtimestamp(t0, tz=UTC).isoformat(),
        "sent": repr(t0),
        "data": json.dumps({"t0": t0, "i": index}, separators=(",", ":")),
        "meta": "{}",
        "t0": repr(t0),
    }


async def publish_to_subscriber(peer: Peer, channel: str, count: int, warmup: int) -> list[float]:
    """One process PUBLISHes its send time, the child's pub/sub connection receives it: delays in ms."""
    client = async_raw_client()
    samples: list[float] = []
    try:
        await client.ping()
        peer.start("raw_pubsub", {"channel": channel, "n": count + warmup})
        for index in range(count + warmup):
            t0 = time.time()
            await client.publish(channel, repr(t0))
            delay = float(peer.receive())
            if index >= warmup:
                samples.append(delay * 1000)
            await asyncio.sleep(PACE_S)
    finally:
        await client.aclose()
    return samples


async def timed_xadd_batch(client: aioredis.Redis, key: str, size: int) -> float:
    """``size`` signal-shaped XADDs (MAXLEN ~) in one pipeline round trip; returns ms."""
    started = time.perf_counter()
    pipe = client.pipeline(transaction=False)
    now = time.time()
    for index in range(size):
        pipe.xadd(key, signal_like_fields(now, index), maxlen=10_000, approximate=True)  # type: ignore[arg-type]
    await pipe.execute()
    return (time.perf_counter() - started) * 1000


async def timed_hset_batch(client: aioredis.Redis, hash_key: str, list_key: str, texts: dict[str, str]) -> float:
    """The writes of one context distribution done raw (MULTI, DEL, HSET of every text, RPUSH, EXEC); ms."""
    started = time.perf_counter()
    async with client.pipeline(transaction=True) as pipe:
        pipe.delete(hash_key, list_key)
        pipe.hset(hash_key, mapping=texts)  # type: ignore[arg-type]
        pipe.rpush(list_key, *texts)
        await pipe.execute()
    return (time.perf_counter() - started) * 1000


def timed_hget(client: redis.Redis, key: str, field: str) -> float:
    """One raw HGET round trip, in ms."""
    started = time.perf_counter()
    value: Any = client.hget(key, field)
    elapsed = (time.perf_counter() - started) * 1000
    if value is None:
        raise RuntimeError(f"baseline value {key}/{field} is missing")
    return elapsed
