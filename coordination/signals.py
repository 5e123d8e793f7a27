"""SignalCoordinator: durable signals in one Redis Stream per coordination, delivered across processes.

Emission is one Lua script (idempotent by signal id, capped history, counters, and resolution of the
dependencies an ``agent_completed`` signal satisfies). Subscriptions read the stream with ``XREAD BLOCK`` from
a cursor taken when ``subscribe_to_signals`` is called, so nothing sent after that call is missed, and they hold
no server-side state: leaving the loop with ``break`` leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from config.settings import get_settings
from coordination import jsonutil
from coordination.errors import InvalidInputError, UnknownSignalTypeError
from coordination.ids import new_uuid4, validate_id
from coordination.models.base import prevalidated
from coordination.models.signals import (
    SIGNAL_TYPE_VALUES,
    SIGNAL_TYPES,
    CoordinationSignal,
    SignalMetrics,
    SignalSubscription,
    SignalType,
)
from coordination.store.connection import (
    async_client,
    cancellation_requests,
    raise_lost_cancellation,
    sync_client,
)
from coordination.store.direct import read_stream
from coordination.store.keys import CoordinationKeys
from coordination.store.scripts import LuaScript, script
from coordination.streams import decode_signal, offset_from, sent_at, signals_sent

if TYPE_CHECKING:
    from coordination.metrics.collector import MetricsCollector
    from coordination.state import ThreadSafeState

logger = logging.getLogger(__name__)

# Where a signal's completing agents sit among the values _build returns (signal_emit.lua's layout).
_COMPLETING = 8
# XREAD BLOCK time of a subscription: well below the client's socket timeout (5 s by default in redis-py 8),
# so an idle read never ends in a socket time-out error; an abandoned read also ends within this time.
_BLOCK_MS = 1000
# How long a subscription gathers delivery figures before writing them to the coordination's counters.
_RECEIPTS_WINDOW_S = 0.05
_background: set[asyncio.Task[Any]] = set()


_SPEC_FIELDS = frozenset({"event_type", "event_data", "sender_agent_id", "recipient_agents", "metadata", "signal_id"})


class _Moment:
    """The emission time of one batch, in the forms the script needs (the datetime is made when asked for).

    ``posix`` ("<seconds>.<6 digits>") is stored as ``sent`` and ``iso`` as ``ts``; :attr:`timestamp`, the
    models' datetime, is read from ``posix``, so the emitter's signal and every reader's carry the same instant.
    Making a datetime before the command leaves would delay every subscriber (on an idle machine it costs about as
    much as the rest of the emitter's work): :func:`_iso_utc` spells the time without one.
    """

    __slots__ = ("iso", "milliseconds", "posix")

    def __init__(self, now: float) -> None:
        seconds, micro = divmod(int(now * 1_000_000 + 0.5), 1_000_000)  # now >= 0: rounded to the microsecond
        self.posix = f"{seconds}.{micro:06d}"
        self.iso = _iso_utc(seconds, micro)
        self.milliseconds = seconds * 1000 + micro // 1000

    @classmethod
    def now(cls) -> _Moment:
        """The current time."""
        return cls(time.time())

    @property
    def timestamp(self) -> datetime:
        """The instant as an aware UTC datetime (microseconds, as stored)."""
        return datetime.fromtimestamp(float(self.posix), tz=UTC)


# The ISO text of the current minute ("2026-12-04T05:06:"), made by datetime once a minute.
_minute: tuple[int, str] = (-1, "")


def _iso_utc(seconds: int, micro: int) -> str:
    """``datetime.fromtimestamp(seconds + micro / 1e6, UTC).isoformat()``, without a datetime (``seconds`` >= 0)."""
    global _minute
    minute, second = divmod(seconds, 60)
    cached = _minute  # one read: another thread may replace it meanwhile
    if cached[0] != minute:
        cached = (minute, datetime.fromtimestamp(minute * 60, tz=UTC).strftime("%Y-%m-%dT%H:%M:"))
        _minute = cached
    if micro == 0:
        return f"{cached[1]}{second:02d}+00:00"
    return f"{cached[1]}{second:02d}.{micro:06d}+00:00"


@dataclass(frozen=True)
class SettledDependency:
    """A dependency that an emission (or another event) settled, and the agent it made ready, if any.

    ``queued`` tells that the settlement also queued the ready agent's first attempt (a pipeline agent waiting in
    a running coordination): its message is the caller's to send.
    """

    coordination_id: str
    dependency_id: str
    status: str
    ready_agent: str | None
    queued: bool = False
    #: The number of the queued attempt (1, or the next one after a re-run: ``coord retry``).
    attempt: int = 1

    @classmethod
    def parse(cls, text: str, queued: Mapping[tuple[str, str], int] | None = None) -> SettledDependency:
        """Parse the ``cid/id/status/owner`` descriptor returned by the Lua scripts."""
        cid, dep_id, status, owner = text.split("/", 3)
        attempt = (queued or {}).get((cid, owner))
        return cls(cid, dep_id, status, owner or None, attempt is not None, attempt or 1)


def parse_settled(settled: list[str], queued: list[str]) -> list[SettledDependency]:
    """Parse a script's settled-dependency descriptors and the ``cid/agent/attempt/countdown_ms`` attempts it queued."""
    queued_agents = {(parts[0], parts[1]): int(parts[2]) for parts in (item.split("/") for item in queued)}
    return [SettledDependency.parse(item, queued_agents) for item in settled]


@dataclass(frozen=True)
class EmitOutcome:
    """What one emission call did."""

    signals: list[CoordinationSignal]
    settled: list[SettledDependency]


class Emission:
    """A validated batch of signals and the script call that stores it (the core every emit method adapts).

    ``script`` and ``args`` are the call (no keys: the script builds them); :meth:`finish` turns its reply into
    the stored signals and records the emission's metrics. :meth:`SignalCoordinator.prepare_emission` hands one
    out for a caller that runs the call inside a transaction of its own.

    Only what the script needs is built before it runs; the signal models are built from ``fields`` once the
    reply is back, so the command leaves for Redis (and reaches subscribers) sooner.
    """

    __slots__ = ("args", "coordinator", "fields", "keys", "moment", "script", "started")

    def __init__(
        self,
        coordinator: SignalCoordinator,
        started: float,
        moment: _Moment,
        fields: list[dict[str, Any]],
        args: list[Any],
        script: LuaScript,
    ) -> None:
        self.coordinator = coordinator
        self.started = started
        self.moment = moment
        self.fields = fields
        self.keys: list[str] = []  # the script builds its keys through keys_lib
        self.args = args
        self.script = script

    def finish(self, reply: list[str]) -> EmitOutcome:
        """Read the script's reply into the outcome and record the emission's metrics."""
        first = reply.index("|")
        second = reply.index("|", first + 1)
        signals = []
        timestamp = self.moment.timestamp
        for fields, stream_id in zip(self.fields, reply[:first], strict=True):
            fields["stream_id"] = stream_id
            fields["timestamp"] = timestamp
            signals.append(prevalidated(CoordinationSignal, fields))
        outcome = EmitOutcome(signals, parse_settled(reply[first + 1 : second], reply[second + 1 :]))
        self.coordinator._record_emission(signals, self.started)
        return outcome


class SignalCoordinator:
    """Signals between agents, shared through Redis (seed-compatible API).

    Args:
        state: the state whose namespace holds the signals.
        metrics_collector: optional; receives the seed's ``signal_propagation_time_ms`` (time to validate and
            store a signal) and ``signals_sent`` at emission, ``signals_received`` at delivery, plus
            ``signal_delivery_time_ms`` (emit to delivery to a subscriber, in any process).
        max_history_size: signals kept per coordination (the stream is trimmed in blocks by Redis).
    """

    def __init__(
        self,
        state: ThreadSafeState[Any],
        metrics_collector: MetricsCollector | None = None,
        max_history_size: int = 10000,
    ) -> None:
        if not isinstance(max_history_size, int) or max_history_size <= 0:
            raise InvalidInputError("max_history_size", f"must be a positive integer, got {max_history_size!r}")
        self.state = state
        self.metrics = metrics_collector
        self._max_history_size = max_history_size
        self._keys = state.store_keys
        self._data_limit = get_settings().max_signal_bytes
        # Read (and hash) the Lua sources now, not inside the first emission.
        script("signal_emit")
        script("signal_append")

    @property
    def max_history_size(self) -> int:
        """Signals kept per coordination."""
        return self._max_history_size

    # -- emission ----------------------------------------------------------------------------------------------
    #
    # One core, two transports: ``_emission`` validates a batch and builds its script call (every check, nothing
    # written), the script runs with the asyncio or the blocking client, and ``Emission.finish`` reads the reply
    # and records the metrics. The public methods only adapt arguments and return shapes:
    #
    #   signal_coordination_event (seed)  one signal; False (logged) for refused input
    #   signal_event (seed adapter)       one signal, sender from event_data["agent_id"]; returns None
    #   emit                              one signal; raises; returns it as stored
    #   emit_many                         a batch; returns the stored signals
    #   emit_many_detailed                a batch; returns the signals and the dependencies they settled
    #   emit_sync                         emit_many_detailed for sync code (blocking client)

    async def signal_coordination_event(
        self,
        coordination_id: str,
        event_type: str,
        event_data: dict[str, Any],
        sender_agent_id: str | None = None,
        recipient_agents: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> bool:
        """Emit a signal; return False, and log why, when the input is refused (the seed's contract).

        Refused input is anything :meth:`emit` raises an :class:`~coordination.errors.InvalidInputError` for: an
        empty or invalid coordination id, an unknown event type, event data or metadata that is not a dict, is
        not JSON or is too large, a malformed sender or recipient. Nothing is stored then. A store that cannot be
        reached still raises :class:`~coordination.errors.StoreUnavailableError` (it is not the input's fault, and
        retrying is safe). Use :meth:`emit` to get the error instead of False.
        """
        try:
            await self.emit(coordination_id, event_type, event_data, sender_agent_id, recipient_agents, metadata)
        except InvalidInputError as error:
            logger.error("signal %r refused for coordination %r: %s", event_type, coordination_id, error)
            return False
        return True

    async def emit(
        self,
        coordination_id: str,
        event_type: str | SignalType,
        event_data: dict[str, Any] | None = None,
        sender_agent_id: str | None = None,
        recipient_agents: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        signal_id: str | None = None,
    ) -> CoordinationSignal:
        """Emit one signal and return it as stored; every refused input raises (see :meth:`signal_coordination_event`).

        Re-emitting a signal id already in the history stores nothing new (idempotent).

        Raises:
            InvalidInputError: the input is refused (the subclass and message name the field); nothing is stored.
            StoreUnavailableError: Redis could not be reached.
        """
        started = time.perf_counter()
        validate_id(coordination_id, "coordination_id")
        moment = _Moment.now()
        fields, values = self._build(
            coordination_id, "", moment, event_type, event_data, sender_agent_id, recipient_agents, metadata, signal_id
        )
        emission = self._emission_of(started, coordination_id, moment, [fields], values, bool(values[_COMPLETING]))
        return (await self._store(emission)).signals[0]

    async def emit_many(self, coordination_id: str, signals: Sequence[Mapping[str, Any]]) -> list[CoordinationSignal]:
        """Emit many signals in one round trip.

        Each item is a mapping with ``event_type`` and optionally ``event_data``, ``sender_agent_id``,
        ``recipient_agents``, ``metadata`` and ``signal_id``. Every item is validated before anything is stored.
        """
        return (await self.emit_many_detailed(coordination_id, signals)).signals

    async def emit_many_detailed(self, coordination_id: str, signals: Sequence[Mapping[str, Any]]) -> EmitOutcome:
        """Like :meth:`emit_many`, also returning the dependencies the signals settled."""
        return await self._store(self._emission(coordination_id, signals))

    async def _store(self, emission: Emission) -> EmitOutcome:
        """Run an emission's script and read its reply into the outcome."""
        return emission.finish(await emission.script.run_async(async_client(), emission.keys, emission.args))

    def emit_sync(self, coordination_id: str, signals: Sequence[Mapping[str, Any]]) -> EmitOutcome:
        """Blocking variant of :meth:`emit_many_detailed`, for Celery workers and other sync code."""
        emission = self._emission(coordination_id, signals)
        return emission.finish(emission.script(sync_client(), emission.keys, emission.args))

    def prepare_emission(self, coordination_id: str, signals: Sequence[Mapping[str, Any]]) -> Emission:
        """Validate a batch as :meth:`emit_many` does and return its script call without running it.

        For a caller that runs the call inside a MULTI/EXEC of its own (``Emission.script``, ``Emission.args``),
        then passes the reply to ``Emission.finish``.

        Raises:
            InvalidInputError: as :meth:`emit_many` would; nothing is stored.
        """
        return self._emission(coordination_id, signals)

    def _emission(self, coordination_id: str, specs: Sequence[Mapping[str, Any]]) -> Emission:
        """Validate a batch of signal specs (every one before anything is stored) and build its script call."""
        started = time.perf_counter()
        validate_id(coordination_id, "coordination_id")
        if not specs:
            raise InvalidInputError("signals", "must contain at least one signal")
        # One timestamp for the whole batch: they are emitted by one script, in one instant.
        moment = _Moment.now()
        built: list[dict[str, Any]] = []
        flat: list[Any] = []
        completes = False
        for index, spec in enumerate(specs):
            where = f"signals[{index}]." if len(specs) > 1 else ""
            fields, values = self._build_spec(coordination_id, spec, where, moment)
            built.append(fields)
            flat.extend(values)
            completes = completes or bool(values[_COMPLETING])
        return self._emission_of(started, coordination_id, moment, built, flat, completes)

    def _emission_of(
        self,
        started: float,
        coordination_id: str,
        moment: _Moment,
        built: list[dict[str, Any]],
        flat: list[Any],
        completes: bool,
    ) -> Emission:
        args: list[Any] = [
            self._keys.namespace_prefix,
            self._keys.coordination_prefix,
            moment.milliseconds,
            coordination_id,
            self._max_history_size,
            self.state.ttl_ms,
            len(built),
            *flat,
        ]
        # A batch that completes no agent settles nothing: the lighter script without the dependency libraries.
        return Emission(self, started, moment, built, args, script("signal_emit" if completes else "signal_append"))

    def _build_spec(
        self, coordination_id: str, spec: Mapping[str, Any], where: str, moment: _Moment
    ) -> tuple[dict[str, Any], list[Any]]:
        """:meth:`_build` for a spec mapping (``emit_many``'s items), refusing fields a signal does not have."""
        if not spec.keys() <= _SPEC_FIELDS:
            raise InvalidInputError(f"{where}{sorted(spec.keys() - _SPEC_FIELDS)[0]}", "is not a signal field")
        return self._build(
            coordination_id,
            where,
            moment,
            spec.get("event_type"),
            spec.get("event_data"),
            spec.get("sender_agent_id"),
            spec.get("recipient_agents"),
            spec.get("metadata"),
            spec.get("signal_id"),
        )

    def _build(
        self,
        coordination_id: str,
        where: str,
        moment: _Moment,
        raw_type: object,
        raw_data: object,
        raw_sender: object,
        raw_recipients: object,
        raw_metadata: object,
        signal_id: object,
    ) -> tuple[dict[str, Any], list[Any]]:
        """Validate one signal; return its model fields (no ``stream_id``, no ``timestamp`` yet) and its script values.

        ``where`` prefixes the field names in error messages (``signals[3].`` in a batch).
        """
        type_value = raw_type.value if isinstance(raw_type, SignalType) else raw_type
        if type_value not in SIGNAL_TYPE_VALUES:
            raise UnknownSignalTypeError(f"{where}event_type", _not_a_signal_type(raw_type))
        event_data = raw_data or {}
        if not isinstance(event_data, dict):
            raise InvalidInputError(f"{where}event_data", f"must be a dict, got {type(event_data).__name__}")
        metadata = raw_metadata or {}
        if not isinstance(metadata, dict):
            raise InvalidInputError(f"{where}metadata", f"must be a dict, got {type(metadata).__name__}")
        # Only an absent sender means "system"; an empty or malformed one is refused, not replaced.
        sender = "system" if raw_sender is None else validate_id(raw_sender, f"{where}sender_agent_id")
        recipients = list(raw_recipients or [])  # type: ignore[call-overload]
        for position, recipient in enumerate(recipients):
            validate_id(recipient, f"{where}recipient_agents[{position}]")
        data_json = jsonutil.dumps(event_data, f"{where}event_data", self._data_limit) if event_data else "{}"
        meta_json = jsonutil.dumps(metadata, f"{where}metadata", self._data_limit) if metadata else "{}"
        # Every field was checked above: the model is built from these without validating them again (hot path).
        fields = {
            "signal_id": new_uuid4() if signal_id is None else validate_id(signal_id, f"{where}signal_id"),
            "signal_type": SIGNAL_TYPES[type_value],
            "sender_agent_id": sender,
            "recipient_agents": recipients,
            "timestamp": None,  # from the moment, once stored (Emission.finish)
            "event_data": event_data,
            "metadata": metadata,
            "coordination_id": coordination_id,
            "stream_id": None,
        }
        completing = ""
        success = "1"
        # A skipped agent counts as done for the agents that wait for it (the pipeline's SKIP decision).
        if type_value in (SignalType.AGENT_COMPLETED.value, SignalType.AGENT_SKIPPED.value):
            agents = {sender}
            subject = event_data.get("agent_id")
            if isinstance(subject, str) and subject:
                agents.add(validate_id(subject, f"{where}event_data.agent_id"))
            agents.discard("system")
            completing = " ".join(sorted(agents))
            success = "0" if event_data.get("error") else "1"
        values = [
            fields["signal_id"],
            type_value,
            sender,
            jsonutil.dumps(recipients, "recipient_agents") if recipients else "[]",
            moment.iso,
            moment.posix,
            data_json,
            meta_json,
            completing,
            success,
        ]
        return fields, values

    def prepare(self, coordination_id: str, spec: Mapping[str, Any]) -> list[str]:
        """Validate one signal and return the values a Lua script appends to the stream (``signal_lib.lua``).

        For transitions that emit a signal as part of a larger atomic step (the pipeline's scripts). ``spec``
        has the fields :meth:`emit_many` accepts.

        Raises:
            InvalidInputError: as :meth:`emit` would.
        """
        validate_id(coordination_id, "coordination_id")
        _fields, values = self._build_spec(coordination_id, spec, "", _Moment.now())
        return [str(value) for value in values[:8]]

    def _record_emission(self, signals: list[CoordinationSignal], started: float) -> None:
        """The seed's emission metrics, with its names, tags and correlation id.

        ``signal_propagation_time_ms`` is, as in the seed, the time the emitting call took to validate and store
        the signal (the time a subscriber in another process receives it is ``signal_delivery_time_ms``).
        """
        if self.metrics is None:
            return
        elapsed = (time.perf_counter() - started) * 1000 / len(signals)
        for signal in signals:
            cid = signal.coordination_id
            tags = {"signal_type": signal.signal_type.value, "coordination_id": cid}
            self.metrics.record_timing_nowait("signal_propagation_time_ms", elapsed, tags=tags, correlation_id=cid)
            self.metrics.record_counter_nowait("signals_sent", 1, tags=tags)

    # -- subscription ----------------------------------------------------------------------------------------

    def subscribe_to_signals(
        self,
        coordination_id: str,
        agent_id: str,
        signal_types: list[str] | None = None,
        *,
        since: str | datetime | float | None = None,
    ) -> SignalStream:
        """Subscribe ``agent_id`` to a coordination's signals, from this call on (or from ``since``).

        Use it as ``async for signal in coordinator.subscribe_to_signals(...)``. The starting position is taken
        now, so a signal emitted between this call and the first iteration is delivered. ``since`` replays from a
        stream offset (``signal.stream_id``, or ``"0"`` for the whole retained history), an aware ``datetime`` or
        a POSIX time. Signals are filtered by type and by recipient (a signal with no recipients is a broadcast).
        Each subscription receives every matching signal once, whatever other subscriptions exist.
        """
        validate_id(coordination_id, "coordination_id")
        validate_id(agent_id, "agent_id")
        wanted: list[SignalType] = []
        for position, value in enumerate(signal_types or []):
            raw = value.value if isinstance(value, SignalType) else value
            if raw not in SIGNAL_TYPE_VALUES:
                raise UnknownSignalTypeError(f"signal_types[{position}]", _not_a_signal_type(value))
            wanted.append(SignalType(raw))
        ckeys = self._keys.coordination(coordination_id)
        if since is None:
            last = sync_client().xrevrange(ckeys.signals, "+", "-", count=1)
            start = last[0][0] if last else "0-0"
        else:
            start = offset_from(since, "since")
        subscription = SignalSubscription(
            coordination_id=coordination_id, agent_id=agent_id, signal_types=wanted, start_offset=start
        )
        return SignalStream(self, subscription, ckeys)

    def _record_deliveries(
        self, delivered: list[CoordinationSignal], sent: list[float], agent_id: str, now: float
    ) -> list[float]:
        """Record the delivery metrics of signals received at ``now``; return their emit-to-delivery delays (ms)."""
        delays = [max(0.0, (now - moment) * 1000) for moment in sent]
        if self.metrics is not None:
            for signal, delay in zip(delivered, delays, strict=True):
                kind = signal.signal_type.value
                # The seed's counter (its tags); the delivery delay is this project's own figure.
                received_tags = {"signal_type": kind, "agent_id": agent_id}
                self.metrics.record_counter_nowait("signals_received", 1, tags=received_tags)
                self.metrics.record_timing_nowait(
                    "signal_delivery_time_ms",
                    delay,
                    tags={"signal_type": kind, "coordination_id": signal.coordination_id, "agent_id": agent_id},
                    correlation_id=signal.coordination_id,
                )
        return delays

    # -- queries ---------------------------------------------------------------------------------------------

    def get_signal_history(
        self, coordination_id: str, filters: dict[str, Any] | None = None, limit: int | None = None
    ) -> list[CoordinationSignal]:
        """Return retained signals, newest first, optionally filtered and limited.

        Filters: ``signal_type``, ``sender_agent_id``, ``recipient`` (delivered to that agent), any other key is
        compared with ``event_data[key]`` and a signal whose event data lacks the key does not match.
        """
        ckeys = self._keys.coordination(coordination_id)
        if limit is not None and limit <= 0:
            return []
        count = limit if not filters and limit is not None else self._max_history_size
        entries = sync_client().xrevrange(ckeys.signals, "+", "-", count=count)
        result: list[CoordinationSignal] = []
        for entry_id, fields in entries:
            signal = decode_signal(coordination_id, entry_id, fields)
            if filters and not _matches(signal, filters):
                continue
            result.append(signal)
            if limit is not None and len(result) >= limit:
                break
        return result

    def get_signal_metrics(self, coordination_id: str) -> SignalMetrics:
        """Return the coordination's signal figures (an empty ``SignalMetrics`` for an unknown one)."""
        raw = sync_client().hgetall(self._keys.coordination(coordination_id).signal_metrics)
        count = int(raw.get("prop_n", 0))
        return SignalMetrics(
            total_signals_sent=signals_sent(raw),
            total_signals_received=int(raw.get("received", 0)),
            average_propagation_ms=float(raw.get("prop_sum", 0.0)) / count if count else 0.0,
            max_propagation_ms=float(raw.get("prop_max", 0.0)),
            signals_by_type={name[5:]: int(value) for name, value in raw.items() if name.startswith("type:")},
        )

    def clear_coordination_signals(self, coordination_id: str) -> bool:
        """Delete a coordination's signals, ids and figures; return False if there were none."""
        ckeys = self._keys.coordination(coordination_id)
        removed = sync_client().delete(
            ckeys.signals,
            ckeys.signal_ids,
            ckeys.signal_order,
            ckeys.signal_metrics,
            ckeys.completed,
            ckeys.failed,
        )
        return bool(removed)

    # -- seed adapter (ISignalCoordinator) -------------------------------------------------------------------

    async def signal_event(
        self, coordination_id: str, event_type: str, event_data: dict[str, Any], priority: int = 5
    ) -> None:
        """Emit with the sender taken from ``event_data['agent_id']`` (seed adapter; refused input is logged)."""
        sender = event_data.get("agent_id", "system") if isinstance(event_data, dict) else None
        await self.signal_coordination_event(
            coordination_id, event_type, event_data, sender_agent_id=sender, metadata={"priority": priority}
        )

    async def check_agent_completion(
        self, coordination_id: str, agent_id: str, completion_event: str = "completion"
    ) -> bool:
        """Tell whether ``agent_id`` completed successfully (by sender or ``event_data.agent_id``)."""
        del completion_event  # accepted for compatibility; completion is the agent_completed signal
        ckeys = self._keys.coordination(coordination_id)
        return bool(await async_client().sismember(ckeys.completed, validate_id(agent_id, "agent_id")))

    async def get_coordination_signals(
        self, coordination_id: str, event_type: str | None = None
    ) -> list[dict[str, Any]]:
        """Return the history as JSON-ready dicts, newest first (seed adapter)."""
        filters = {"signal_type": event_type} if event_type else None
        return [signal.model_dump(mode="json") for signal in self.get_signal_history(coordination_id, filters)]


class SignalStream(AsyncIterator[CoordinationSignal]):
    """An async iterator over one subscription; holds nothing in Redis, so abandoning it leaks nothing."""

    def __init__(self, coordinator: SignalCoordinator, subscription: SignalSubscription, ckeys: CoordinationKeys):
        self.subscription = subscription
        self._coordinator = coordinator
        self._ckeys = ckeys
        self._cursor = subscription.start_offset
        self._pending: list[CoordinationSignal] = []
        self._types = frozenset(subscription.signal_types)
        # Delivery figures not yet written to the coordination's counters: (count, sum of delays, max delay).
        self._receipts: tuple[int, float, float] = (0, 0.0, 0.0)
        self._receipts_timer: asyncio.TimerHandle | None = None
        # Batches delivered whose figures are still to be recorded (by _account, at the loop's next turn).
        self._unaccounted: list[tuple[list[CoordinationSignal], list[float], float]] = []

    def __aiter__(self) -> SignalStream:
        return self

    async def __anext__(self) -> CoordinationSignal:
        while not self._pending:
            await self._read()
        return self._pending.pop(0)

    async def aclose(self) -> None:
        """Stop the subscription (nothing to release on the server; pending delivery figures are written now)."""
        self._pending.clear()
        self._account()  # batches received but not yet recorded (their callback may not have run yet)
        if self._receipts_timer is not None:
            self._receipts_timer.cancel()
            self._write_receipts()

    async def _read(self) -> None:
        # A plain await: the store's connection bounds its writes with asyncio.timeout, so a cancellation reaches
        # the read at once (redis-py's wait_for could swallow it on Python 3.11; see StoreConnection). A cancelled
        # read has no effect: the cursor only moves when a reply is used.
        cancelled_before = cancellation_requests()
        # Straight on a pooled connection, entries from the raw reply (read_stream: not execute_command's layers).
        entries = await read_stream(async_client(), self._ckeys.signals, self._cursor, 500, _BLOCK_MS)
        received = time.time()
        raise_lost_cancellation(cancelled_before)  # with redis-py's own connection classes (TLS, unix sockets)
        if not entries:
            return
        self._cursor = entries[-1][0]
        agent = self.subscription.agent_id
        cid = self.subscription.coordination_id
        delivered: list[CoordinationSignal] = []
        sent: list[float] = []
        for entry_id, fields in entries:
            signal = decode_signal(cid, entry_id, fields)
            if self._types and signal.signal_type not in self._types:
                continue
            if signal.recipient_agents and agent not in signal.recipient_agents:
                continue
            if self.subscription.sender_filter and signal.sender_agent_id != self.subscription.sender_filter:
                continue
            delivered.append(signal)
            sent.append(sent_at(fields))
        if delivered:
            self._pending.extend(delivered)
            # The figures are recorded at the loop's next turn: by then the consumer holds the signals (delivery
            # is not held up by its own bookkeeping); the delays are measured at ``received`` all the same.
            self._unaccounted.append((delivered, sent, received))
            if len(self._unaccounted) == 1:
                asyncio.get_running_loop().call_soon(self._account)

    def _account(self) -> None:
        """Record the delivery figures of the batches received since the last call."""
        batches, self._unaccounted = self._unaccounted, []
        agent = self.subscription.agent_id
        for delivered, sent, received in batches:
            self._note_receipts(self._coordinator._record_deliveries(delivered, sent, agent, received))

    def _note_receipts(self, delays: list[float]) -> None:
        """Add deliveries to the coordination's shared figures, written at most once per ``_RECEIPTS_WINDOW_S``.

        The write is one more round trip; doing it per delivery would double a subscriber's traffic. The timer
        belongs to the event loop, so the figures are written even when the consumer leaves the loop with break.
        """
        count, total, peak = self._receipts
        self._receipts = (count + len(delays), total + sum(delays), max(peak, *delays))
        if self._receipts_timer is None:
            self._receipts_timer = asyncio.get_running_loop().call_later(_RECEIPTS_WINDOW_S, self._write_receipts)

    def _write_receipts(self) -> None:
        self._receipts_timer = None
        count, total, peak = self._receipts
        if not count:
            return
        self._receipts = (0, 0.0, 0.0)
        write = script("signal_received").run_async(
            async_client(), [self._ckeys.signal_metrics], [count, repr(total), repr(peak)]
        )
        task = asyncio.get_running_loop().create_task(write)
        # Keep a reference until done (a bare create_task may be garbage-collected) and log failures.
        _background.add(task)
        task.add_done_callback(_forget)


def _not_a_signal_type(value: object) -> str:
    # The seed's wording (SignalType's own ValueError), with the accepted values.
    return f"{value!r} is not a valid SignalType (expected one of: {', '.join(sorted(SIGNAL_TYPE_VALUES))})"


def _matches(signal: CoordinationSignal, filters: dict[str, Any]) -> bool:
    for key, expected in filters.items():
        if key == "signal_type":
            wanted = expected.value if isinstance(expected, SignalType) else expected
            if signal.signal_type.value != wanted:
                return False
        elif key == "sender_agent_id":
            if signal.sender_agent_id != expected:
                return False
        elif key == "recipient":
            if signal.recipient_agents and expected not in signal.recipient_agents:
                return False
        elif key not in signal.event_data or signal.event_data[key] != expected:
            return False
    return True


def _forget(task: asyncio.Task[Any]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.warning("recording signal deliveries failed: %s", task.exception())
