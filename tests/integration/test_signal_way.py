"""What the shorter way of a signal to Redis must keep (real Redis).

The emitter spells the timestamp without making a datetime (the ISO text of the minute is kept), takes ids made
ahead of need, sends its command on a pooled connection without redis-py's per-command wrapper, and a coordination
joins the namespace's list with its first signal only. Each test here fails if one of those breaks what users see.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis

from coordination.signals import SignalCoordinator
from coordination.state import ThreadSafeState
from coordination.store.connection import async_client, sync_client
from coordination.store.direct import read_stream

CID = "coord-way"


@pytest.fixture
def coordinator(namespace: str) -> SignalCoordinator:
    return SignalCoordinator(ThreadSafeState(namespace=namespace))


async def test_an_emitted_signal_carries_the_instant_every_reader_sees(coordinator: SignalCoordinator) -> None:
    """The signal emit returns, the stored entry, the history and a subscriber agree to the microsecond."""
    stream = coordinator.subscribe_to_signals(CID, "reader")
    before = datetime.now(UTC)
    emitted = await coordinator.emit(CID, "inter_agent_message", {"n": 1})
    after = datetime.now(UTC)
    received = await asyncio.wait_for(anext(stream), 5.0)
    await stream.aclose()
    (entry_id, fields), *_ = sync_client().xrange(coordinator.state.store_keys.coordination(CID).signals)
    assert entry_id == emitted.stream_id
    assert fields["ts"] == emitted.timestamp.isoformat()
    assert datetime.fromtimestamp(float(fields["sent"]), UTC) == emitted.timestamp
    assert received.timestamp == emitted.timestamp == coordinator.get_signal_history(CID)[0].timestamp
    assert before - timedelta(milliseconds=1) <= emitted.timestamp <= after + timedelta(milliseconds=1)


async def test_signals_emitted_in_a_batch_share_their_instant(coordinator: SignalCoordinator) -> None:
    emitted = await coordinator.emit_many(CID, [{"event_type": "inter_agent_message"} for _ in range(3)])
    stored = sync_client().xrange(coordinator.state.store_keys.coordination(CID).signals)
    assert len({signal.timestamp for signal in emitted}) == 1
    assert [fields["ts"] for _id, fields in stored] == [emitted[0].timestamp.isoformat()] * 3


async def test_ids_made_ahead_are_unique_across_many_emits(coordinator: SignalCoordinator) -> None:
    emitted = await coordinator.emit_many(CID, [{"event_type": "inter_agent_message"} for _ in range(100)])
    emitted += [await coordinator.emit(CID, "inter_agent_message") for _ in range(100)]
    assert len({signal.signal_id for signal in emitted}) == 200


async def test_a_coordination_is_listed_from_its_first_signal_and_again_after_its_history_is_gone(
    coordinator: SignalCoordinator,
) -> None:
    keys = coordinator.state.store_keys
    await coordinator.emit(CID, "inter_agent_message")
    assert sync_client().sismember(keys.coordinations, CID)
    # Expiry removes a coordination from the list together with its history (archive/expiry.py).
    ckeys = keys.coordination(CID)
    sync_client().srem(keys.coordinations, CID)
    sync_client().delete(ckeys.signals, ckeys.signal_ids, ckeys.signal_order, ckeys.signal_metrics)
    await coordinator.emit(CID, "inter_agent_message")
    assert sync_client().sismember(keys.coordinations, CID)


async def test_an_emit_whose_pooled_connection_was_killed_is_stored_once(coordinator: SignalCoordinator) -> None:
    """The direct way meets a dead connection: the command goes again through the retry policy, once stored."""
    await coordinator.emit(CID, "inter_agent_message", {"n": 0})  # a connection of this loop's pool is now idle
    client = async_client()
    killed = 0
    for line in sync_client().client_list():
        if line["name"] == client.connection_pool.connection_kwargs.get("client_name") and line["cmd"] == "evalsha":
            killed += sync_client().client_kill_filter(_id=line["id"])
    assert killed >= 1
    signal = await coordinator.emit(CID, "inter_agent_message", {"n": 1}, signal_id="after-kill")
    history = coordinator.get_signal_history(CID)
    assert [s.signal_id for s in history].count("after-kill") == 1
    assert signal.stream_id == history[0].stream_id


async def test_a_cancelled_read_gives_its_connection_back_and_the_store_stays_usable(
    coordinator: SignalCoordinator,
) -> None:
    client = async_client()
    key = coordinator.state.store_keys.coordination(CID).signals
    read = asyncio.ensure_future(read_stream(client, key, "$", 10, 5000))
    await asyncio.sleep(0.1)  # waiting in XREAD BLOCK
    read.cancel()
    with pytest.raises(asyncio.CancelledError):
        await read
    _idle, in_use = client.connection_pool.get_connection_count()
    assert int(in_use[0]) == 0
    assert (await coordinator.emit(CID, "inter_agent_message", {"n": 2})).event_data == {"n": 2}


async def test_a_subscription_has_given_its_connection_back_when_the_consumer_gets_the_signal(
    coordinator: SignalCoordinator,
) -> None:
    stream = coordinator.subscribe_to_signals(CID, "reader")
    await coordinator.emit(CID, "inter_agent_message", {"n": 3})
    assert (await anext(stream)).event_data == {"n": 3}
    assert int(async_client().connection_pool.get_connection_count()[1][0]) == 0
    await stream.aclose()


def test_a_loop_closed_right_after_a_delivery_is_left_with_nothing_pending(namespace: str) -> None:
    """``run_until_complete`` then ``close()`` (no asyncio.run): no task of ours is left to be destroyed pending."""

    async def one_delivery() -> dict[str, Any]:
        coordinator = SignalCoordinator(ThreadSafeState(namespace=namespace))
        stream = coordinator.subscribe_to_signals(CID, "reader")
        await coordinator.emit(CID, "inter_agent_message", {"n": 1})
        return (await anext(stream)).event_data

    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(one_delivery()) == {"n": 1}
        assert [task for task in asyncio.all_tasks(loop) if not task.done()] == []
    finally:
        loop.close()


@pytest.mark.parametrize("protocol", [2, 3])
async def test_a_killed_read_returns_the_entries_whatever_protocol_the_client_speaks(
    coordinator: SignalCoordinator, protocol: int, namespace: str
) -> None:
    """The fallback read parses redis-py's reply shape of either protocol (a map with ``protocol=3``)."""
    from coordination.store.connection import store_url

    name = f"resp-test-{protocol}-{namespace}"  # this test's connections only
    client = aioredis.Redis.from_url(store_url(), protocol=protocol, decode_responses=True, client_name=name)
    key = coordinator.state.store_keys.coordination(CID).signals
    try:
        read = asyncio.ensure_future(read_stream(client, key, "0-0", 10, 5000))
        await asyncio.sleep(0.1)
        [waiting] = [line for line in sync_client().client_list() if line["name"] == name and line["cmd"] == "xread"]
        sync_client().client_kill_filter(_id=waiting["id"])
        await asyncio.sleep(0.1)
        emitted = await coordinator.emit(CID, "inter_agent_message", {"n": 5})
        entries = await asyncio.wait_for(read, 5.0)
        assert [(entry_id, fields["data"]) for entry_id, fields in entries] == [(emitted.stream_id, '{"n":5}')]
        # and the direct way too: the reply of an XREAD is a map on RESP3, a list on RESP2
        again = await read_stream(client, key, "0-0", 10, 100)
        assert [entry_id for entry_id, _fields in again] == [emitted.stream_id]
    finally:
        await client.aclose()
