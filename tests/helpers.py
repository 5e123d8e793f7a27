"""Shared helpers for multi-process tests.

Every function that runs in a child process is defined at module level, so the "spawn" start method can pickle
it by name. Each child sets the session's root key prefix before importing ``coordination`` (spawned children
inherit the environment too, but saying it explicitly keeps them independent of how they were started).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

SPAWN = multiprocessing.get_context("spawn")

# Generous bounds for waiting on other processes: never reached when things work, they only stop a broken
# test from hanging.
CHILD_TIMEOUT_S = 30.0


def _use_root(root: str) -> None:
    os.environ["COORD_NAMESPACE"] = root


def start_child(target: Callable[..., None], *args: Any) -> Any:
    """Start ``target(*args)`` in a spawned process and return the process."""
    process = SPAWN.Process(target=target, args=args, daemon=True)
    process.start()
    return process


def join_all(*processes: Any) -> None:
    """Wait for the children and check they exited cleanly."""
    for process in processes:
        process.join(CHILD_TIMEOUT_S)
        if process.is_alive():
            process.kill()
            process.join()
            raise AssertionError(f"child {process.name} did not finish in {CHILD_TIMEOUT_S}s")
        assert process.exitcode == 0, f"child {process.name} exited with {process.exitcode}"


async def take(stream: AsyncIterator[Any], count: int, timeout: float = 5.0) -> list[Any]:
    """Read ``count`` items from an async iterator, failing if they do not arrive within ``timeout`` s."""
    items: list[Any] = []

    async def collect() -> None:
        async for item in stream:
            items.append(item)
            if len(items) >= count:
                break

    await asyncio.wait_for(collect(), timeout)
    return items


async def eventually(check: Callable[[], bool], timeout: float = 5.0, message: str = "condition") -> None:
    """Wait until ``check()`` is true (polling every 10 ms), failing after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} did not become true within {timeout}s")
        await asyncio.sleep(0.01)


# -- state ---------------------------------------------------------------------------------------------------


def state_updates(root: str, namespace: str, index: int, count: int, start: Any, results: Any) -> None:
    """Do ``count`` single-key updates on a shared state; report the version read after each one."""
    _use_root(root)
    from coordination.state import ThreadSafeState

    state: ThreadSafeState[int] = ThreadSafeState(max_history_size=10_000, namespace=namespace)
    start.wait(CHILD_TIMEOUT_S)
    versions = []
    for n in range(count):
        state.update({f"p{index}-{n}": n}, changed_by=f"process-{index}")
        versions.append(state.get_version())
    results.put((index, versions))


# -- signals -------------------------------------------------------------------------------------------------


def signal_subscriber(
    root: str,
    namespace: str,
    coordination_id: str,
    agent_id: str,
    signal_types: list[str] | None,
    ready: Any,
    results: Any,
) -> None:
    """Subscribe, say so, then report every signal received until one whose event data has ``last``."""
    _use_root(root)
    asyncio.run(_subscribe(namespace, coordination_id, agent_id, signal_types, ready, results))


async def _subscribe(
    namespace: str, coordination_id: str, agent_id: str, signal_types: list[str] | None, ready: Any, results: Any
) -> None:
    from coordination.signals import SignalCoordinator
    from coordination.state import ThreadSafeState

    coordinator = SignalCoordinator(ThreadSafeState(namespace=namespace))
    stream = coordinator.subscribe_to_signals(coordination_id, agent_id, signal_types)
    ready.put("subscribed")
    received: list[dict[str, Any]] = []

    async def collect() -> None:
        async for signal in stream:
            received.append(
                {
                    "signal_id": signal.signal_id,
                    "type": signal.signal_type.value,
                    "to": signal.recipient_agents,
                    "data": signal.event_data,
                }
            )
            if signal.event_data.get("last"):
                break

    await asyncio.wait_for(collect(), CHILD_TIMEOUT_S)
    results.put(received)


def signal_emitter(
    root: str, namespace: str, coordination_id: str, sender: str, count: int, start: Any, results: Any
) -> None:
    """Emit ``count`` signals one by one (blocking API) after ``start``; report their ids."""
    _use_root(root)
    from coordination.signals import SignalCoordinator
    from coordination.state import ThreadSafeState

    coordinator = SignalCoordinator(ThreadSafeState(namespace=namespace))
    start.wait(CHILD_TIMEOUT_S)
    ids = []
    for n in range(count):
        outcome = coordinator.emit_sync(
            coordination_id,
            [{"event_type": "inter_agent_message", "sender_agent_id": sender, "event_data": {"n": n}}],
        )
        ids.append(outcome.signals[0].signal_id)
    coordinator.emit_sync(coordination_id, [{"event_type": "agent_completed", "sender_agent_id": sender}])
    results.put((sender, ids))


# -- dependencies --------------------------------------------------------------------------------------------


def dependency_waiter(
    root: str, namespace: str, coordination_id: str, specs: list[dict[str, Any]], ready: Any, results: Any
) -> None:
    """Wait on dependencies (given as ``Dependency`` keyword dicts); report when each resolved (POSIX time)."""
    _use_root(root)
    asyncio.run(_wait_for_dependencies(namespace, coordination_id, specs, ready, results))


async def _wait_for_dependencies(
    namespace: str, coordination_id: str, specs: list[dict[str, Any]], ready: Any, results: Any
) -> None:
    from coordination.dependencies import DependencyResolver
    from coordination.dependency_events import waiting_count
    from coordination.models.dependencies import Dependency
    from coordination.signals import SignalCoordinator
    from coordination.state import ThreadSafeState

    resolver = DependencyResolver(SignalCoordinator(ThreadSafeState(namespace=namespace)))
    outcomes: dict[str, dict[str, Any]] = {}

    async def wait_one(spec: dict[str, Any]) -> None:
        dependency = Dependency(**spec)
        result = await resolver.resolve_dependency(coordination_id, dependency)
        outcomes[dependency.dependency_id] = {
            "success": result.success,
            "status": result.status.value,
            "at": time.time(),
        }

    tasks = [asyncio.create_task(wait_one(spec)) for spec in specs]
    # Ready only once every waiter listens for its event (registered in Redis and subscribed), so what the
    # parent does next can only reach the waiters as an event.
    await eventually(lambda: sum(waiting_count().values()) >= len(specs), CHILD_TIMEOUT_S, "all waiters listening")
    ready.put("waiting")
    await asyncio.wait_for(asyncio.gather(*tasks), CHILD_TIMEOUT_S)
    results.put(outcomes)
