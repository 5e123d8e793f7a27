"""SignalCoordinator across processes: subscribers and emitters in different processes share one stream."""

from __future__ import annotations

import asyncio

from coordination.signals import SignalCoordinator
from coordination.state import ThreadSafeState
from tests.conftest import SESSION_ROOT
from tests.helpers import CHILD_TIMEOUT_S, SPAWN, join_all, signal_emitter, signal_subscriber, start_child, take

CID = "coord-mp"


async def test_a_subscriber_in_another_process_receives_exactly_the_matching_signals(namespace: str) -> None:
    ready = SPAWN.Queue()
    results = SPAWN.Queue()
    child = start_child(signal_subscriber, SESSION_ROOT, namespace, CID, "watcher", ["agent_completed"], ready, results)
    assert ready.get(timeout=CHILD_TIMEOUT_S) == "subscribed"
    coordinator = SignalCoordinator(ThreadSafeState(namespace=namespace))

    expected = [
        await coordinator.emit(CID, "agent_completed", {"n": 1}, "a1"),  # broadcast of the wanted type
        await coordinator.emit(CID, "agent_completed", {"n": 2}, "a1", ["watcher"]),
    ]
    await coordinator.emit(CID, "agent_initialized", {"n": 3}, "a1")  # other type
    await coordinator.emit(CID, "agent_completed", {"n": 4}, "a1", ["someone-else"])  # other recipient
    expected.append(await coordinator.emit(CID, "agent_completed", {"last": True}, "a1", ["watcher"]))

    received = await asyncio.to_thread(results.get, timeout=CHILD_TIMEOUT_S)
    join_all(child)
    assert [item["signal_id"] for item in received] == [signal.signal_id for signal in expected]
    assert [item["data"] for item in received] == [{"n": 1}, {"n": 2}, {"last": True}]


async def test_processes_emitting_concurrently_into_one_coordination_lose_nothing(namespace: str) -> None:
    count = 200
    coordinator = SignalCoordinator(ThreadSafeState(namespace=namespace))
    stream = coordinator.subscribe_to_signals(CID, "observer", ["inter_agent_message"])
    start = SPAWN.Event()
    results = SPAWN.Queue()
    children = [
        start_child(signal_emitter, SESSION_ROOT, namespace, CID, sender, count, start, results)
        for sender in ("left", "right")
    ]
    start.set()

    received = await take(stream, 2 * count, timeout=CHILD_TIMEOUT_S)
    reports = dict([await asyncio.to_thread(results.get, timeout=CHILD_TIMEOUT_S) for _ in children])
    join_all(*children)

    emitted = {signal_id for ids in reports.values() for signal_id in ids}
    assert len(emitted) == 2 * count
    assert {signal.signal_id for signal in received} == emitted
    for sender in ("left", "right"):
        # Each emitter's signals arrive in the order it sent them.
        numbers = [s.event_data["n"] for s in received if s.sender_agent_id == sender]
        assert numbers == list(range(count))
        assert await coordinator.check_agent_completion(CID, sender)
    metrics = coordinator.get_signal_metrics(CID)
    assert metrics.total_signals_sent == 2 * count + 2
    assert metrics.signals_by_type == {"inter_agent_message": 2 * count, "agent_completed": 2}
    assert len(coordinator.get_signal_history(CID, {"signal_type": "inter_agent_message"})) == 2 * count
