"""SignalCoordinator: durable signals in one Redis Stream per coordination (single process)."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coordination.errors import (
    InvalidIdError,
    InvalidInputError,
    NotSerializableError,
    PayloadTooLargeError,
    UnknownSignalTypeError,
)
from coordination.metrics.collector import MetricsCollector
from coordination.models.seed import SeedCompatibilityWarning, forget_warnings
from coordination.models.signals import CoordinationSignal, SignalType
from coordination.signals import SignalCoordinator
from coordination.state import ThreadSafeState
from coordination.store.connection import async_client, sync_client
from coordination.store.scripts import script
from tests.conftest import keys_of
from tests.helpers import eventually, take

CID = "coord-1"


@pytest.fixture
def coordinator(namespace: str) -> SignalCoordinator:
    return SignalCoordinator(ThreadSafeState(namespace=namespace))


def stream_length(coordinator: SignalCoordinator, coordination_id: str = CID) -> int:
    return int(sync_client().xlen(coordinator.state.store_keys.coordination(coordination_id).signals))


def signal_keys(coordinator: SignalCoordinator, coordination_id: str = CID) -> set[str]:
    keys = coordinator.state.store_keys
    ckeys = keys.coordination(coordination_id)
    return {ckeys.signals, ckeys.signal_ids, ckeys.signal_order, ckeys.signal_metrics, keys.coordinations}


def other_tasks() -> set[asyncio.Task[Any]]:
    return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]


# -- emission and history ------------------------------------------------------------------------------------


async def test_an_emitted_signal_is_stored_with_its_fields(coordinator: SignalCoordinator) -> None:
    stored = await coordinator.emit(CID, "agent_initialized", {"agent_id": "a1"}, "a1", ["a2"], {"priority": 3})

    (read,) = coordinator.get_signal_history(CID)
    assert read == stored
    assert read.signal_type is SignalType.AGENT_INITIALIZED
    assert (read.sender_agent_id, read.recipient_agents, read.coordination_id) == ("a1", ["a2"], CID)
    assert (read.event_data, read.metadata) == ({"agent_id": "a1"}, {"priority": 3})
    assert read.timestamp.tzinfo is not None
    assert read.stream_id is not None


async def test_signal_coordination_event_returns_true_and_defaults_the_sender_to_system(
    coordinator: SignalCoordinator,
) -> None:
    assert await coordinator.signal_coordination_event(CID, "stage_completed", {"stage": 1}) is True

    (signal,) = coordinator.get_signal_history(CID)
    assert signal.sender_agent_id == "system"
    assert signal.recipient_agents == []


async def test_the_stream_stays_near_its_cap_after_many_signals(namespace: str) -> None:
    coordinator = SignalCoordinator(ThreadSafeState(namespace=namespace), max_history_size=50)
    for batch in range(6):
        await coordinator.emit_many(
            CID, [{"event_type": "inter_agent_message", "event_data": {"n": batch * 100 + n}} for n in range(100)]
        )

    assert 50 <= stream_length(coordinator) <= 50 + 100
    history = coordinator.get_signal_history(CID)
    assert 50 <= len(history) <= 50 + 100
    assert history[0].event_data == {"n": 599}
    assert coordinator.get_signal_metrics(CID).total_signals_sent == 600


async def test_emitting_the_same_signal_id_twice_stores_one_signal(coordinator: SignalCoordinator) -> None:
    first = await coordinator.emit(CID, "agent_completed", {"agent_id": "a1"}, signal_id="sig-1")
    second = await coordinator.emit(CID, "agent_completed", {"agent_id": "a1"}, signal_id="sig-1")

    assert first.stream_id == second.stream_id
    assert stream_length(coordinator) == 1
    assert coordinator.get_signal_metrics(CID).total_signals_sent == 1


async def test_history_is_newest_first_and_limited(coordinator: SignalCoordinator) -> None:
    for n in range(5):
        await coordinator.emit(CID, "inter_agent_message", {"n": n})

    assert [s.event_data["n"] for s in coordinator.get_signal_history(CID)] == [4, 3, 2, 1, 0]
    assert [s.event_data["n"] for s in coordinator.get_signal_history(CID, limit=2)] == [4, 3]
    assert coordinator.get_signal_history(CID, limit=0) == []
    assert coordinator.get_signal_history("unknown-coordination") == []


async def test_history_filters_by_type_sender_and_event_data(coordinator: SignalCoordinator) -> None:
    await coordinator.emit(CID, "agent_completed", {"agent_id": "a1", "phase": "build"}, "a1")
    await coordinator.emit(CID, "agent_completed", {"agent_id": "a2"}, "a2")
    await coordinator.emit(CID, "inter_agent_message", {"phase": "build"}, "a1")

    def senders(filters: dict[str, Any], limit: int | None = None) -> list[tuple[str, str]]:
        history = coordinator.get_signal_history(CID, filters, limit)
        return [(s.signal_type.value, s.sender_agent_id) for s in history]

    assert senders({"signal_type": "agent_completed"}) == [("agent_completed", "a2"), ("agent_completed", "a1")]
    assert senders({"signal_type": SignalType.AGENT_COMPLETED}, limit=1) == [("agent_completed", "a2")]
    assert senders({"sender_agent_id": "a1"}) == [("inter_agent_message", "a1"), ("agent_completed", "a1")]
    assert senders({"phase": "build", "signal_type": "agent_completed"}) == [("agent_completed", "a1")]
    # A signal whose event data lacks the key does not match.
    assert senders({"agent_id": "a1"}) == [("agent_completed", "a1")]
    assert senders({"missing": None}) == []


async def test_get_coordination_signals_returns_json_ready_dicts(coordinator: SignalCoordinator) -> None:
    await coordinator.emit(CID, "agent_initialized", {"agent_id": "a1"}, "a1")
    await coordinator.emit(CID, "agent_completed", {"agent_id": "a1"}, "a1")

    signals = await coordinator.get_coordination_signals(CID, "agent_completed")

    assert len(signals) == 1
    assert signals[0]["signal_type"] == "agent_completed"
    assert isinstance(signals[0]["timestamp"], str)
    assert len(await coordinator.get_coordination_signals(CID)) == 2


async def test_clearing_a_coordination_deletes_its_signals(coordinator: SignalCoordinator) -> None:
    await coordinator.emit(CID, "agent_completed", {}, "a1")

    assert coordinator.clear_coordination_signals(CID) is True
    assert coordinator.get_signal_history(CID) == []
    assert coordinator.get_signal_metrics(CID).total_signals_sent == 0
    assert await coordinator.check_agent_completion(CID, "a1") is False
    assert coordinator.clear_coordination_signals(CID) is False


# -- batch emission ------------------------------------------------------------------------------------------


async def test_emit_many_stores_every_signal_in_one_round_trip(
    coordinator: SignalCoordinator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emit_script = script("signal_append")  # the batch completes no agent
    calls = []
    original = emit_script.run_async

    async def counting(*args: Any) -> Any:
        calls.append(args)
        return await original(*args)

    monkeypatch.setattr(emit_script, "run_async", counting)

    signals = await coordinator.emit_many(
        CID, [{"event_type": "inter_agent_message", "event_data": {"n": n}} for n in range(50)]
    )

    assert len(calls) == 1
    assert len({s.stream_id for s in signals}) == 50
    assert stream_length(coordinator) == 50


async def test_emit_many_validates_every_signal_before_storing_any(
    coordinator: SignalCoordinator, namespace: str
) -> None:
    specs = [
        {"event_type": "agent_initialized", "event_data": {"n": 1}},
        {"event_type": "agent_completed", "event_data": {"n": 2}},
        {"event_type": "no_such_type"},
    ]

    with pytest.raises(UnknownSignalTypeError) as raised:
        await coordinator.emit_many(CID, specs)

    assert raised.value.field == "signals[2].event_type"
    assert keys_of(namespace) == []


async def test_emit_many_refuses_an_empty_batch_and_unknown_fields(
    coordinator: SignalCoordinator, namespace: str
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        await coordinator.emit_many(CID, [])
    assert raised.value.field == "signals"

    with pytest.raises(InvalidInputError) as raised:
        await coordinator.emit_many(CID, [{"event_type": "agent_completed", "priority": 1}])
    assert raised.value.field == "priority"
    assert keys_of(namespace) == []


# -- subscriptions -------------------------------------------------------------------------------------------


async def test_a_signal_sent_between_subscribing_and_iterating_is_delivered(
    coordinator: SignalCoordinator,
) -> None:
    await coordinator.emit(CID, "inter_agent_message", {"n": "before"})
    stream = coordinator.subscribe_to_signals(CID, "a1")
    await coordinator.emit(CID, "inter_agent_message", {"n": "between"})

    (signal,) = await take(stream, 1)

    assert signal.event_data == {"n": "between"}


async def test_a_subscription_filters_by_type_and_recipient(coordinator: SignalCoordinator) -> None:
    stream = coordinator.subscribe_to_signals(CID, "me", ["agent_completed", SignalType.STAGE_COMPLETED])
    await coordinator.emit(CID, "agent_completed", {"n": 1})  # broadcast, wanted type
    await coordinator.emit(CID, "agent_initialized", {"n": 2})  # other type
    await coordinator.emit(CID, "agent_completed", {"n": 3}, recipient_agents=["someone-else"])
    await coordinator.emit(CID, "stage_completed", {"n": 4}, recipient_agents=["someone-else", "me"])
    await coordinator.emit(CID, "agent_completed", {"n": 5}, recipient_agents=["me"])

    received = await take(stream, 3)

    assert [s.event_data["n"] for s in received] == [1, 4, 5]


async def test_an_unknown_subscription_type_is_refused(coordinator: SignalCoordinator) -> None:
    with pytest.raises(UnknownSignalTypeError) as raised:
        coordinator.subscribe_to_signals(CID, "me", ["agent_completed", "bogus"])

    assert raised.value.field == "signal_types[1]"


async def test_since_a_stream_offset_replays_the_signals_after_it(coordinator: SignalCoordinator) -> None:
    first = await coordinator.emit(CID, "inter_agent_message", {"n": 0})
    for n in (1, 2):
        await coordinator.emit(CID, "inter_agent_message", {"n": n})

    after_first = await take(coordinator.subscribe_to_signals(CID, "a1", since=first.stream_id), 2)
    everything = await take(coordinator.subscribe_to_signals(CID, "a1", since="0"), 3)

    assert [s.event_data["n"] for s in after_first] == [1, 2]
    assert [s.event_data["n"] for s in everything] == [0, 1, 2]


@pytest.mark.parametrize("as_datetime", [True, False], ids=["aware datetime", "POSIX time"])
async def test_since_a_time_replays_the_signals_emitted_from_then(
    coordinator: SignalCoordinator, as_datetime: bool
) -> None:
    await coordinator.emit(CID, "inter_agent_message", {"n": 0})
    # Separate the emissions by a few milliseconds so that "from then" is unambiguous.
    await asyncio.sleep(0.02)
    moment = time.time()
    await asyncio.sleep(0.02)
    for n in (1, 2):
        await coordinator.emit(CID, "inter_agent_message", {"n": n})
    since: datetime | float = datetime.fromtimestamp(moment, UTC) if as_datetime else moment

    received = await take(coordinator.subscribe_to_signals(CID, "a1", since=since), 2)

    assert [s.event_data["n"] for s in received] == [1, 2]


@pytest.mark.parametrize(
    "since",
    [datetime.now() - timedelta(seconds=1), -1.0, "yesterday", True, [1]],  # naive on purpose
    ids=["naive datetime", "negative", "text", "bool", "list"],
)
async def test_an_invalid_since_is_refused(coordinator: SignalCoordinator, since: Any) -> None:
    with pytest.raises(InvalidInputError) as raised:
        coordinator.subscribe_to_signals(CID, "a1", since=since)

    assert raised.value.field == "since"


async def test_leaving_a_subscription_with_break_leaves_nothing_behind(
    coordinator: SignalCoordinator, namespace: str
) -> None:
    await coordinator.emit(CID, "inter_agent_message", {"n": 0})
    stream = coordinator.subscribe_to_signals(CID, "a1")
    await coordinator.emit(CID, "inter_agent_message", {"n": 1})
    async for _signal in stream:
        break

    await eventually(lambda: not other_tasks(), 2.0, "no task left running")
    assert set(keys_of(namespace)) <= signal_keys(coordinator)
    assert sync_client().xinfo_groups(coordinator.state.store_keys.coordination(CID).signals) == []
    # Later signals do not pile up anywhere for the abandoned subscription.
    for n in range(20):
        await coordinator.emit(CID, "inter_agent_message", {"n": n})
    assert set(keys_of(namespace)) <= signal_keys(coordinator)
    assert not other_tasks()


def pool_connections() -> int:
    """Connections (idle and in use) of this event loop's store pool."""
    idle, in_use = async_client().connection_pool.get_connection_count()
    return int(idle[0]) + int(in_use[0])


async def test_subscriptions_that_are_not_reading_hold_no_connection(coordinator: SignalCoordinator) -> None:
    """A subscription holds a connection only while it reads: 120 open ones leave the pool to everyone else.

    Each of them has read a signal and is kept open (not closed, not dropped). Emits, concurrent ones included,
    and other commands still get connections (redis-py's asyncio pool allows 100), and the pool is not holding one
    per subscription.
    """
    streams = [coordinator.subscribe_to_signals(CID, f"a{n}") for n in range(120)]
    await coordinator.emit(CID, "inter_agent_message", {"n": "first"})
    for stream in streams:
        assert (await anext(stream)).event_data == {"n": "first"}
    emitted = await asyncio.gather(*(coordinator.emit(CID, "inter_agent_message", {"n": n}) for n in range(10)))
    assert len({signal.stream_id for signal in emitted}) == 10
    assert await coordinator.check_agent_completion(CID, "a1") is False
    assert pool_connections() <= 12
    for stream in streams:
        await stream.aclose()


async def test_closing_a_subscription_while_another_task_reads_it_leaves_the_store_usable(
    coordinator: SignalCoordinator,
) -> None:
    """aclose() from one task while another waits in the subscription's read: later commands all work."""
    stream = coordinator.subscribe_to_signals(CID, "a1")
    reader = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.1)  # the reader waits in XREAD BLOCK now
    await stream.aclose()
    emitted = await asyncio.gather(
        *(coordinator.emit(CID, "inter_agent_message", {"n": n}, signal_id=f"s{n}") for n in range(2))
    )
    assert [signal.signal_id for signal in emitted] == ["s0", "s1"]
    for _ in range(20):
        await asyncio.gather(
            coordinator.emit(CID, "inter_agent_message", {"n": "more"}),
            coordinator.check_agent_completion(CID, "a1"),
        )
    await asyncio.wait_for(reader, 5.0)  # its read ends (with the signal emitted meanwhile)
    assert stream_length(coordinator) == 22


async def test_concurrent_emits_all_land_and_dropped_coordinators_hold_no_connection(
    coordinator: SignalCoordinator, namespace: str
) -> None:
    """Thirty emits at once of one coordinator all land, once each; thirty coordinators used once and dropped
    leave the pool as it was, with no "unclosed" warning.
    """
    emitted = await asyncio.gather(*(coordinator.emit(CID, "inter_agent_message", {"n": n}) for n in range(30)))
    assert len({signal.stream_id for signal in emitted}) == 30
    assert sorted(s.event_data["n"] for s in coordinator.get_signal_history(CID)) == list(range(30))

    gc.collect()  # what earlier tests left for the collector is not this test's
    before = pool_connections()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(30):
            other = SignalCoordinator(ThreadSafeState(namespace=namespace))
            await other.emit(CID, "inter_agent_message", {"n": 100 + n})
            del other
            gc.collect()
        await eventually(lambda: not other_tasks(), 2.0, "no task left running")
    assert pool_connections() <= before + 1
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert stream_length(coordinator) == 60


@pytest.mark.parametrize(
    "types",
    [(None, None), (None, ["agent_completed"]), (["agent_initialized"], ["agent_completed"])],
    ids=["no filters", "one filtered", "different filters"],
)
async def test_two_subscriptions_of_one_agent_each_get_every_matching_signal_once(
    coordinator: SignalCoordinator, types: tuple[list[str] | None, list[str] | None]
) -> None:
    first = coordinator.subscribe_to_signals(CID, "a1", types[0])
    second = coordinator.subscribe_to_signals(CID, "a1", types[1])
    emitted = []
    for n in range(6):
        kind = "agent_initialized" if n % 2 == 0 else "agent_completed"
        emitted.append(await coordinator.emit(CID, kind, {"n": n}))
    await coordinator.emit(CID, "agent_initialized", {"n": "end"})
    await coordinator.emit(CID, "agent_completed", {"n": "end"})

    def expected(wanted: list[str] | None) -> list[Any]:
        return [s.event_data["n"] for s in emitted if wanted is None or s.signal_type.value in wanted]

    for stream, wanted in ((first, types[0]), (second, types[1])):
        count = len(expected(wanted)) + (2 if wanted is None else 1)
        received = [s.event_data["n"] for s in await take(stream, count)]
        assert received[: -1 if wanted else -2] == expected(wanted)
        assert received.count("end") == (2 if wanted is None else 1)


async def test_giving_up_on_a_subscription_read_stops_it_at_once(coordinator: SignalCoordinator) -> None:
    # On Python 3.11 a cancellation arriving as a Redis write completes used to be swallowed, and the read
    # then went on blocking until a signal came.
    stream = coordinator.subscribe_to_signals(CID, "a1")
    for attempt in range(20):
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(stream.__anext__(), attempt / 2000)
        assert time.monotonic() - started < 1.0, attempt
    await coordinator.emit(CID, "inter_agent_message", {"n": 1})
    (signal,) = await take(stream, 1)
    assert signal.event_data == {"n": 1}


async def test_a_sender_receives_its_own_broadcast(coordinator: SignalCoordinator) -> None:
    stream = coordinator.subscribe_to_signals(CID, "a1")
    await coordinator.emit(CID, "inter_agent_message", {"n": 1}, "a1")

    (signal,) = await take(stream, 1)

    assert signal.sender_agent_id == "a1"


# -- metrics -------------------------------------------------------------------------------------------------


async def test_signal_metrics_count_sent_received_and_emit_to_delivery_time(
    coordinator: SignalCoordinator,
) -> None:
    stream = coordinator.subscribe_to_signals(CID, "a1")
    await coordinator.emit(CID, "agent_initialized", {})
    await coordinator.emit(CID, "agent_completed", {})
    await coordinator.emit(CID, "agent_completed", {})
    await take(stream, 3)

    await eventually(lambda: coordinator.get_signal_metrics(CID).total_signals_received == 3)
    metrics = coordinator.get_signal_metrics(CID)
    assert metrics.total_signals_sent == 3
    assert metrics.signals_by_type == {"agent_initialized": 1, "agent_completed": 2}
    assert 0 < metrics.average_propagation_ms <= metrics.max_propagation_ms < 5000


async def test_a_subscriber_writes_its_delivery_figures_in_a_few_writes_even_after_break(
    coordinator: SignalCoordinator, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[list[Any]] = []
    received_script = script("signal_received")
    original = type(received_script).run_async

    async def counted(self: Any, client: Any, keys: list[str], args: list[Any]) -> Any:
        if self is received_script:
            writes.append(args)
        return await original(self, client, keys, args)

    monkeypatch.setattr(type(received_script), "run_async", counted)
    stream = coordinator.subscribe_to_signals(CID, "a1")
    await coordinator.emit_many(CID, [{"event_type": "agent_completed"} for _ in range(20)])
    async for index, _signal in _enumerate(stream):
        if index == 19:
            break  # the figures of the twenty deliveries are still written

    await eventually(lambda: coordinator.get_signal_metrics(CID).total_signals_received == 20)
    assert 1 <= len(writes) < 20  # gathered, not one round trip per delivered signal
    assert sum(int(args[0]) for args in writes) == 20


async def _enumerate(stream: Any) -> Any:
    index = 0
    async for item in stream:
        yield index, item
        index += 1


async def test_metrics_of_an_unknown_coordination_are_empty(coordinator: SignalCoordinator) -> None:
    assert coordinator.get_signal_metrics("never-used").total_signals_sent == 0


async def test_a_metrics_collector_receives_sent_and_received_figures(namespace: str) -> None:
    collector = MetricsCollector(kafka_enabled=False, postgres_enabled=False)
    coordinator = SignalCoordinator(ThreadSafeState(namespace=namespace), metrics_collector=collector)
    stream = coordinator.subscribe_to_signals(namespace, "a1")
    await coordinator.emit(namespace, "agent_completed", {}, "a2")
    await take(stream, 1)

    def values(name: str, **tags: str) -> list[float]:
        return [m.value for m in collector.read_metrics(name) if all(m.tags.get(k) == v for k, v in tags.items())]

    # The seed's names, tags and correlation id: at emission ...
    assert values("signals_sent", coordination_id=namespace, signal_type="agent_completed") == [1.0]
    (emitted,) = [m for m in collector.read_metrics("signal_propagation_time_ms") if m.correlation_id == namespace]
    assert emitted.tags == {"signal_type": "agent_completed", "coordination_id": namespace}
    assert emitted.correlation_id == namespace and emitted.unit == "ms" and emitted.value >= 0
    # ... and at delivery.
    assert values("signals_received", agent_id="a1", signal_type="agent_completed") == [1.0]
    (delivered,) = [m for m in collector.read_metrics("signal_delivery_time_ms") if m.correlation_id == namespace]
    assert delivered.tags == {"signal_type": "agent_completed", "coordination_id": namespace, "agent_id": "a1"}
    assert delivered.correlation_id == namespace and delivered.value >= 0


# -- completion ----------------------------------------------------------------------------------------------


async def test_an_agent_is_complete_when_it_sent_agent_completed(coordinator: SignalCoordinator) -> None:
    await coordinator.emit(CID, "agent_completed", {}, "builder")

    assert await coordinator.check_agent_completion(CID, "builder") is True
    assert await coordinator.check_agent_completion(CID, "other") is False
    assert await coordinator.check_agent_completion("other-coordination", "builder") is False


async def test_an_agent_is_complete_when_named_in_the_event_data(coordinator: SignalCoordinator) -> None:
    # The seed's own workflow example sends completion this way (seed weakness 9).
    await coordinator.signal_coordination_event(CID, "agent_completed", {"agent_id": "builder"})

    assert await coordinator.check_agent_completion(CID, "builder") is True
    assert await coordinator.check_agent_completion(CID, "system") is False


async def test_a_completion_with_an_error_does_not_count_as_complete(coordinator: SignalCoordinator) -> None:
    await coordinator.emit(CID, "agent_completed", {"agent_id": "builder", "error": "boom"})

    assert await coordinator.check_agent_completion(CID, "builder") is False


async def test_the_seed_adapter_signal_event_uses_the_agent_id_as_sender(coordinator: SignalCoordinator) -> None:
    await coordinator.signal_event(CID, "agent_completed", {"agent_id": "builder"}, priority=7)

    (signal,) = coordinator.get_signal_history(CID)
    assert signal.sender_agent_id == "builder"
    assert signal.metadata == {"priority": 7}
    assert await coordinator.check_agent_completion(CID, "builder") is True


# -- bad input -----------------------------------------------------------------------------------------------


async def test_an_unknown_type_makes_signal_coordination_event_return_false_and_log_why(
    coordinator: SignalCoordinator, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="coordination.signals"):
        assert await coordinator.signal_coordination_event(CID, "no_such_type", {}) is False

    assert "no_such_type" in caplog.text
    assert "event_type" in caplog.text
    assert keys_of(namespace) == []


async def test_an_unknown_type_makes_emit_raise(coordinator: SignalCoordinator, namespace: str) -> None:
    with pytest.raises(UnknownSignalTypeError) as raised:
        await coordinator.emit(CID, "no_such_type", {})

    assert raised.value.field == "event_type"
    assert keys_of(namespace) == []


async def test_event_data_over_the_limit_is_refused_and_nothing_is_stored(
    coordinator: SignalCoordinator, namespace: str
) -> None:
    big = {"blob": "x" * (64 * 1024)}

    with pytest.raises(PayloadTooLargeError) as raised:
        await coordinator.emit(CID, "inter_agent_message", big)
    assert raised.value.field == "event_data"
    assert await coordinator.signal_coordination_event(CID, "inter_agent_message", big) is False

    assert keys_of(namespace) == []
    # Just under the limit is fine.
    await coordinator.emit(CID, "inter_agent_message", {"blob": "x" * (60 * 1024)})
    assert stream_length(coordinator) == 1


async def test_event_data_json_cannot_carry_is_refused_and_nothing_is_stored(
    coordinator: SignalCoordinator, namespace: str
) -> None:
    cases = [
        ({"when": datetime.now(UTC)}, "event_data.when"),
        ({"x": float("nan")}, "event_data.x"),
        ({(1, 2): "tuple key"}, "event_data[(1, 2)]"),
    ]
    for data, field in cases:
        with pytest.raises(NotSerializableError) as raised:
            await coordinator.emit(CID, "inter_agent_message", data)
        assert raised.value.field == field  # the path inside the value is named too
    assert keys_of(namespace) == []


BAD_IDS = ["a:b", "a{b}", "has space", "x" * 129, "", "-leading-dash"]


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize(
    ("field", "call"),
    [
        ("coordination_id", lambda c, bad: c.emit(bad, "agent_completed", {})),
        ("sender_agent_id", lambda c, bad: c.emit(CID, "agent_completed", {}, bad)),
        ("recipient_agents[1]", lambda c, bad: c.emit(CID, "agent_completed", {}, "a1", ["ok", bad])),
        # An empty event_data.agent_id means "not given", so a space stands in for the empty id here.
        ("event_data.agent_id", lambda c, bad: c.emit(CID, "agent_completed", {"agent_id": bad or " "})),
        ("signal_id", lambda c, bad: c.emit(CID, "agent_completed", {}, signal_id=bad)),
    ],
)
async def test_a_bad_id_is_refused_naming_the_field_and_nothing_is_written(
    coordinator: SignalCoordinator, namespace: str, field: str, call: Any, bad: str
) -> None:
    with pytest.raises(InvalidIdError) as raised:
        await call(coordinator, bad)

    assert raised.value.field == field
    assert keys_of(namespace) == []


@pytest.mark.parametrize("bad", ["a:b", "x" * 129])
async def test_a_bad_id_is_refused_by_every_query(coordinator: SignalCoordinator, bad: str) -> None:
    with pytest.raises(InvalidIdError):
        coordinator.subscribe_to_signals(bad, "a1")
    with pytest.raises(InvalidIdError):
        coordinator.subscribe_to_signals(CID, bad)
    with pytest.raises(InvalidIdError):
        coordinator.get_signal_history(bad)
    with pytest.raises(InvalidIdError):
        await coordinator.check_agent_completion(CID, bad)


async def test_event_data_and_metadata_must_be_dicts(coordinator: SignalCoordinator, namespace: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        await coordinator.emit(CID, "agent_completed", ["not", "a", "dict"])  # type: ignore[arg-type]
    assert raised.value.field == "event_data"
    with pytest.raises(InvalidInputError) as raised:
        await coordinator.emit(CID, "agent_completed", {}, metadata="x")  # type: ignore[arg-type]
    assert raised.value.field == "metadata"
    assert keys_of(namespace) == []


def test_signal_models_ignore_unknown_fields_as_the_seed_did_with_a_warning() -> None:
    forget_warnings()
    with pytest.warns(SeedCompatibilityWarning, match="CoordinationSignal: unknown field 'extra_field'"):
        signal = CoordinationSignal(
            signal_type="agent_completed", sender_agent_id="a", coordination_id="c", extra_field=1
        )
    assert "extra_field" not in signal.model_dump()


REFUSED_INPUTS = {
    "empty coordination id": ("", "agent_completed", {}, None),
    "invalid coordination id": ("a:b", "agent_completed", {}, None),
    "coordination id not a string": (42, "agent_completed", {}, None),
    "unknown type": (CID, "no_such_type", {}, None),
    "event data not a dict": (CID, "agent_completed", ["x"], None),
    "event data not JSON": (CID, "agent_completed", {"x": float("nan")}, None),
    "event data too large": (CID, "agent_completed", {"blob": "x" * (64 * 1024)}, None),
    "bad sender": (CID, "agent_completed", {}, "has space"),
    "bad completed agent": (CID, "agent_completed", {"agent_id": "a:b"}, None),
}


@pytest.mark.parametrize("arguments", REFUSED_INPUTS.values(), ids=REFUSED_INPUTS.keys())
async def test_signal_coordination_event_returns_false_and_logs_why_for_any_refused_input(
    coordinator: SignalCoordinator, namespace: str, caplog: pytest.LogCaptureFixture, arguments: tuple[Any, ...]
) -> None:
    coordination_id, event_type, event_data, sender = arguments
    with caplog.at_level(logging.ERROR, logger="coordination.signals"):
        sent = await coordinator.signal_coordination_event(coordination_id, event_type, event_data, sender)

    assert sent is False  # the seed's contract: refused input is False, never an exception
    assert "refused" in caplog.text
    assert keys_of(namespace) == []
    # emit() is the raising variant of the same call.
    with pytest.raises(InvalidInputError):
        await coordinator.emit(coordination_id, event_type, event_data, sender)
