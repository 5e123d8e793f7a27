"""The receiving side of the cross-process figures, run in a spawned child process.

The parent sends ``(phase, params)``; each phase answers ``"ready"`` once it is listening, then one message per
sample (a delay in seconds, or a receive time), so the parent sends the next event only after the previous one
arrived: every sample is one isolated event, never a queue. ``None`` ends the child.

Both processes run on one machine, so ``time.time()`` is one clock for sender and receiver.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from multiprocessing.connection import Connection
from typing import Any

import redis.asyncio as aioredis

from bench.env import store_url


def serve(conn: Connection) -> None:
    """Entry point of the child process."""
    asyncio.run(_serve(conn))


async def _serve(conn: Connection) -> None:
    phases = {
        "signal_mix": _signal_mix,
        "raw_pubsub": _raw_pubsub,
        "dependency_waiter": _dependency_waiter,
    }
    while True:
        message = conn.recv()
        if message is None:
            return
        phase, params = message
        try:
            await phases[phase](conn, params)
        except Exception as error:  # report instead of hanging the parent
            conn.send(("error", f"{type(error).__name__}: {error}"))


async def _signal_mix(conn: Connection, params: dict[str, Any]) -> None:
    """Receive on coordinations' signal subscriptions (one task each).

    Each received event is reported as ``(cid, delay)`` where delay = receive time - ``event_data['t0']`` (taken
    just before the sender called ``signal_coordination_event``). The raw baseline is received elsewhere, by a
    plain process (:mod:`bench.plain_reader`).
    """
    from coordination import SignalCoordinator, ThreadSafeState

    state: ThreadSafeState[Any] = ThreadSafeState(namespace=params["namespace"])
    coordinator = SignalCoordinator(state)
    count = params["n"]

    async def signal_reader(cid: str, stream: AsyncIterator[Any]) -> None:
        received = 0
        async for signal in stream:
            conn.send((cid, time.time() - float(signal.event_data["t0"])))
            received += 1
            if received >= count:
                break

    # Subscriptions take their starting offset here, so nothing emitted after "ready" can be missed.
    streams = {cid: coordinator.subscribe_to_signals(cid, "bench-receiver") for cid in params["cids"]}
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(signal_reader(cid, stream)) for cid, stream in streams.items()]
    conn.send("ready")
    await asyncio.gather(*tasks)


async def _raw_pubsub(conn: Connection, params: dict[str, Any]) -> None:
    """Raw redis.asyncio pub/sub subscriber: delay = receive time - the published ``t0``."""
    client = aioredis.Redis.from_url(store_url(), decode_responses=True)
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(params["channel"])
        while (await pubsub.get_message(timeout=5.0)) is None:
            pass  # the subscribe confirmation
        conn.send("ready")
        received = 0
        while received < params["n"]:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
            if message is None:
                continue
            conn.send(time.time() - float(message["data"]))
            received += 1
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()


async def _dependency_waiter(conn: Connection, params: dict[str, Any]) -> None:
    """``DependencyResolver.resolve_dependency`` on a resource; sends the time at which it returned.

    Per sample: start waiting on a fresh resource (sample ``i`` uses ``check_intervals[i % len]``, so the
    intervals are interleaved), tell the parent once the waiter is parked (its wake-up future registered and its
    first check done), then report the moment the call returned.
    """
    from coordination import DependencyResolver, SignalCoordinator, ThreadSafeState
    from coordination.dependency_events import listener_for, waiting_count
    from coordination.models.dependencies import Dependency, DependencyType

    state: ThreadSafeState[Any] = ThreadSafeState(namespace=params["namespace"])
    resolver = DependencyResolver(SignalCoordinator(state), state=state)
    channel = state.store_keys.dependency_events
    await listener_for(channel)  # subscribe once, as a long-running waiter process would have
    prefix, intervals = params["prefix"], params["check_intervals"]
    for index in range(params["n"]):
        dependency = Dependency(
            dependency_id=f"{prefix}-dep-{index}",
            dependency_type=DependencyType.RESOURCE_AVAILABILITY,
            target=f"{prefix}-res-{index}",
            timeout=30,
            metadata={"check_interval_ms": intervals[index % len(intervals)]},
        )
        task = asyncio.get_running_loop().create_task(resolver.resolve_dependency(params["cid"], dependency))
        deadline = time.monotonic() + 5
        while waiting_count().get(channel, 0) < 1:
            if task.done() or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.0002)
        await asyncio.sleep(0.003)  # let the waiter's first check (one round trip) finish: it is parked now
        conn.send("ready")
        result = await task
        done = time.time()
        conn.send(done if result.success else None)
