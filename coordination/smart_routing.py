"""The routing orchestrator: runs every router, consolidates, keeps history and lifetime statistics.

``route()`` is pure computation (no I/O) and runs inside the worker after every agent step; the history can be
written to the coordination store explicitly with :meth:`SmartRoutingOrchestrator.persist_history`.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from coordination.errors import InvalidInputError, StoreUnavailableError
from coordination.metrics.models import MetricType
from coordination.models.routing import (
    RoutingContext,
    RoutingDecision,
    RoutingHistoryRecord,
    RoutingResult,
    RoutingStrategy,
    trusted_context,
)
from coordination.routing.analysis import has_errors
from coordination.routing.consolidation import DEFAULT_STRATEGY_WEIGHTS, UNKNOWN_STRATEGY_WEIGHT
from coordination.routing.proposals import (
    CONFIDENCE,
    MATCHED,
    METADATA,
    STRATEGY,
    Proposal,
    from_result,
    to_result,
)
from coordination.routing.routers import BaseRouter, Decider
from coordination.store.connection import sync_client
from coordination.store.keys import Keys

if TYPE_CHECKING:
    from coordination.metrics import MetricsCollector

logger = logging.getLogger(__name__)

#: Longest accepted ``current_task`` (the seed's RoutingContext limit).
MAX_TASK_LENGTH = 256
#: Approximate cap of the persisted routing stream (``XADD ... MAXLEN ~``).
PERSISTED_HISTORY_CAP = 10_000

_INF = float("inf")
_TIMING = MetricType.TIMING
_COUNTER = MetricType.COUNTER
_perf_counter = time.perf_counter
_time = time.time

# Routing ids are version-4 UUIDs made of a random per-process part (74 bits, drawn again after fork) and, in the
# last 48 bits, a per-process counter XOR random bits. They are unique within a process by construction and random
# across processes; building one costs a fraction of uuid4(), whose os.urandom call dominated route(). route()
# needs only the text; the UUID object is built when a context or a record asks for it.
_LOW_BITS = 48
_LOW_MASK = (1 << _LOW_BITS) - 1
_UUID_CLEAR = ((1 << 128) - 1) ^ ((0xF << 76) | (0x3 << 62))
_UUID_SET = (0x4 << 76) | (0x2 << 62)


class _IdSource:
    """Per-process routing id generator (see above)."""

    def __init__(self) -> None:
        salt = (int.from_bytes(os.urandom(16), "big") & _UUID_CLEAR) | _UUID_SET
        self.low = salt & _LOW_MASK
        self.prefix = str(UUID(int=salt))[:24]  # "xxxxxxxx-xxxx-4xxx-yxxx-": everything above the low 48 bits
        self.counter = itertools.count(1)


_ids = _IdSource()


def _reseed_ids() -> None:
    # A forked child (Celery prefork) must not repeat its parent's ids.
    global _ids
    _ids = _IdSource()


os.register_at_fork(after_in_child=_reseed_ids)


def new_routing_id() -> str:
    """Return a fresh version-4 routing id (its canonical string form)."""
    ids = _ids
    return ids.prefix + format(ids.low ^ (next(ids.counter) & _LOW_MASK), "012x")


# One history entry, kept as a flat tuple of plain values (see route()); records are built on demand.
_Entry = tuple[Any, ...]


class SmartRoutingOrchestrator:
    """Runs every registered router on a state and returns one consolidated decision.

    Consolidation (differs from the seed, whose ``confidence × strategy priority`` let a StateAnalysisRouter saying
    "nothing special" beat every parallel or priority decision):

    1. results whose router matched something (``RoutingResult.matched``: a rule matched, a parallel group is
       ready, the state has errors / incomplete data / too much complexity, the priority is high or low) beat
       default results (the routers' "continue" fallbacks);
    2. within that group the highest ``confidence × strategy_priority[strategy]`` wins;
    3. ties go to the router added first.

    With no router (or when every router failed) the decision is CONTINUE, 0.5, "No routers available, using
    default decision", strategy PRIORITY.

    Other differences from the seed: several routers of one strategy may be registered (all are evaluated, in
    the order added; :meth:`remove_router` removes all of a strategy); metrics are recorded with the collector's
    non-blocking ``*_nowait`` methods, with or without an event loop, and never raise; :meth:`get_stats` covers
    the orchestrator's whole lifetime, not only the retained history; ``route()`` validates its arguments
    (:class:`~coordination.errors.InvalidInputError` naming the field) and does no I/O; the history can be
    persisted to and read back from the coordination store.

    Args:
        metrics_collector: records ``routing_decision_time_ms`` (tags decision, strategy) and
            ``routing_decisions_count`` (tag decision) for every decision, with one
            ``record_many_nowait`` call when it has that method (a :class:`~coordination.metrics.MetricsCollector`
            does), else with ``record_timing_nowait`` and ``record_counter_nowait``.
        state: the :class:`~coordination.state.ThreadSafeState` whose namespace holds the persisted history
            (None: history stays in this process).
        max_history_size: decisions kept in memory (older ones are dropped; statistics still count them).
        strategy_weights: weights overriding the seed's strategy priorities (CONDITIONAL 100, STATE_ANALYSIS 80,
            PARALLEL 60, PRIORITY 40; a strategy without a weight counts 50).

    Raises:
        InvalidInputError: an argument is invalid.

    Attributes:
        strategy_priority: the weight of each strategy (may be changed at any time).
    """

    def __init__(
        self,
        metrics_collector: MetricsCollector | None = None,
        state: Any = None,
        max_history_size: int = 1000,
        *,
        strategy_weights: Mapping[RoutingStrategy, float] | Mapping[str, float] | None = None,
    ) -> None:
        if isinstance(max_history_size, bool) or not isinstance(max_history_size, int) or max_history_size < 0:
            raise InvalidInputError("max_history_size", f"must be a non-negative integer, got {max_history_size!r}")
        self.metrics = metrics_collector
        self.state = state
        self._history_keys = None if state is None else _keys_of(state)
        self.strategy_priority: dict[RoutingStrategy, float] = dict(DEFAULT_STRATEGY_WEIGHTS)
        self.strategy_priority.update(_checked_weights(strategy_weights))
        self._routers: list[BaseRouter] = []
        # What route() runs, in order: (router, its context-free decider or None); rebuilt when routers change.
        self._plan: tuple[tuple[BaseRouter, Decider | None], ...] = ()
        self._history: deque[_Entry] = deque(maxlen=max_history_size)
        self._lock = threading.Lock()
        self._persist_lock = threading.Lock()
        self._persisted = 0  # lifetime sequence number of the last decision written to the store
        self._count = 0
        self._time_total = 0.0
        self._time_min = _INF
        self._time_max = 0.0
        # Decisions counted by (decision, strategy): one dict update per decision; get_stats() sums per key.
        self._outcomes: dict[tuple[RoutingDecision, RoutingStrategy], int] = {}
        self._default: Proposal = (
            RoutingDecision.CONTINUE,
            0.5,
            "No routers available, using default decision",
            RoutingStrategy.PRIORITY,
            None,
            {},
            False,
        )

    def __repr__(self) -> str:
        return f"SmartRoutingOrchestrator(routers={len(self._routers)}, decisions={self._count})"

    # -- routers ------------------------------------------------------------------------------------------------

    @property
    def routers(self) -> dict[RoutingStrategy, BaseRouter]:
        """Strategy → router (the most recently added one of each strategy), as in the seed; a copy."""
        return {router.strategy: router for router in self._routers}

    @property
    def router_list(self) -> list[BaseRouter]:
        """Every registered router in evaluation order; a copy."""
        return list(self._routers)

    def add_router(self, router: BaseRouter) -> None:
        """Register ``router``; it is evaluated after the routers added before it.

        Raises:
            InvalidInputError: ``router`` is not a :class:`~coordination.routing.BaseRouter` with a strategy.
        """
        if not isinstance(router, BaseRouter):
            raise InvalidInputError("router", f"must be a BaseRouter, got {type(router).__name__}")
        if not isinstance(getattr(router, "strategy", None), RoutingStrategy):
            raise InvalidInputError("router", f"{type(router).__name__}.strategy must be a RoutingStrategy")
        self._set_routers([*self._routers, router])
        logger.info("added router %s", router.strategy.value)

    def remove_router(self, strategy: RoutingStrategy) -> None:
        """Remove every router of ``strategy`` (nothing happens when there is none)."""
        kept = [router for router in self._routers if router.strategy != strategy]
        if len(kept) != len(self._routers):
            self._set_routers(kept)
            logger.info("removed router(s) %s", getattr(strategy, "value", strategy))

    def _set_routers(self, routers: list[BaseRouter]) -> None:
        # New objects, replaced whole: a route() running in another thread keeps the plan it started with.
        plan = tuple((router, router.decider()) for router in routers)
        self._routers = routers
        self._plan = plan

    # -- routing ------------------------------------------------------------------------------------------------

    def route(
        self,
        state: dict[str, Any],
        current_task: str,
        execution_time: float = 0.0,
        retry_count: int = 0,
        custom_data: dict[str, Any] | None = None,
        correlation_id: str | None = None,
    ) -> dict[str, Any]:
        """Evaluate every router on ``state`` and return the consolidated decision.

        Args:
            state: the current state (not modified).
            current_task: the task being routed (1..256 characters).
            execution_time: time the task took (ms, >= 0).
            retry_count: retries of the task so far (>= 0).
            custom_data: extra data for the routers (e.g. ``{"priority": 90}``).
            correlation_id: passed on to the recorded metrics.

        Returns:
            ``routing_id, decision, confidence, reasoning, strategy, next_task, metadata, routing_time_ms,
            routers_evaluated`` (decision and strategy as their string values).

        Raises:
            InvalidInputError: an argument is invalid (the error names it); nothing is recorded.
        """
        start = _perf_counter()
        # Fast path for the common exact types; anything else goes through the thorough (slower) check.
        if not (
            type(state) is dict
            and type(current_task) is str
            and 0 < len(current_task) <= MAX_TASK_LENGTH
            and (type(execution_time) is float or type(execution_time) is int)
            and 0 <= execution_time < _INF
            and type(retry_count) is int
            and retry_count >= 0
            and (custom_data is None or type(custom_data) is dict)
            and (correlation_id is None or type(correlation_id) is str)
        ):
            execution_time, retry_count = _checked_route_args(
                state, current_task, execution_time, retry_count, custom_data, correlation_id
            )
        completed = state.get("completed_tasks")
        if completed is None:
            completed = []
        elif type(completed) is list:
            completed = completed[:]  # the history must not change when the caller's list does
        key_count = len(state)
        errors = has_errors(state)
        task_priority = state.get("task_priority", 50)
        custom = {} if custom_data is None else dict(custom_data)
        routing_id = new_routing_id()
        context: RoutingContext | None = None
        # Consolidation (coordination.routing.consolidation.consolidate) is done as proposals come in, without
        # collecting them: a matched one beats every default one, then the higher confidence × weight wins, and
        # a tie keeps the earlier router (the loop visits routers in order, so ">" alone keeps it).
        weight_of = self.strategy_priority.get
        final = self._default
        best_matched = False
        best_score = -1.0  # below any real score: the first proposal always wins
        evaluated = 0
        for router, decide in self._plan:
            try:
                if decide is not None:
                    proposal = decide(state, current_task, retry_count, custom)
                else:  # a router of its own: the seed's evaluate(state, context)
                    if context is None:
                        summary = _summary(key_count, errors, completed, task_priority)
                        context = trusted_context(
                            UUID(routing_id), current_task, summary, execution_time, retry_count, custom, correlation_id
                        )
                    result = router.evaluate(state, context)
                    if not isinstance(result, RoutingResult):
                        logger.warning(
                            "router %r returned %s, not a RoutingResult; skipped", router, type(result).__name__
                        )
                        continue
                    proposal = from_result(result)
                matched = proposal[MATCHED]
                if best_matched and not matched:
                    evaluated += 1
                    continue
                value = proposal[CONFIDENCE] * weight_of(proposal[STRATEGY], UNKNOWN_STRATEGY_WEIGHT)
            except Exception:  # one failing router must not lose the decision (seed behaviour: log, skip)
                logger.warning("router %r failed on task %r; skipped", router, current_task, exc_info=True)
                continue
            evaluated += 1
            if value > best_score or matched != best_matched:
                final, best_matched, best_score = proposal, matched, value
        elapsed_ms = (_perf_counter() - start) * 1000.0
        decision, confidence, reasoning, strategy, next_task, metadata, _matched = final
        # The history keeps plain values, no model objects (records are built when asked for): cheap to store,
        # and fewer objects for the garbage collector to walk. The winning proposal is kept as it is (read-only).
        entry = (
            _time(),
            routing_id,
            current_task,
            key_count,
            errors,
            completed,
            task_priority,
            execution_time,
            retry_count,
            custom,
            correlation_id,
            final,
            elapsed_ms,
        )
        outcome = (decision, strategy)
        self._lock.acquire()  # (not ``with``: a third of the cost on this hot path)
        try:
            self._history.append(entry)
            self._count += 1
            self._time_total += elapsed_ms
            if elapsed_ms < self._time_min:
                self._time_min = elapsed_ms
            if elapsed_ms > self._time_max:
                self._time_max = elapsed_ms
            outcomes = self._outcomes
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        finally:
            self._lock.release()
        decision_value = decision._value_  # (not ``.value``: the enum property costs more than the rest here)
        strategy_value = strategy._value_
        if self.metrics is not None:
            self._record_metrics(decision_value, strategy_value, elapsed_ms, correlation_id)
        return {
            "routing_id": routing_id,
            "decision": decision_value,
            "confidence": confidence,
            "reasoning": reasoning,
            "strategy": strategy_value,
            "next_task": next_task,
            "metadata": dict(metadata),  # a copy: routers return shared proposals for state-independent outcomes
            "routing_time_ms": elapsed_ms,
            "routers_evaluated": evaluated,
        }

    def _record_metrics(self, decision: str, strategy: str, elapsed_ms: float, correlation_id: str | None) -> None:
        metrics = self.metrics
        if metrics is None:
            return
        timing_tags = {"decision": decision, "strategy": strategy}
        counter_tags = {"decision": decision}
        try:
            record_many = getattr(metrics, "record_many_nowait", None)
            if record_many is not None:  # our collector: one buffer write for both
                record_many(
                    [
                        ("routing_decision_time_ms", _TIMING, elapsed_ms, "ms", timing_tags),
                        ("routing_decisions_count", _COUNTER, 1, "count", counter_tags),
                    ],
                    correlation_id,
                )
            else:  # a collector of the user's own with the seed's per-metric methods
                metrics.record_timing_nowait(
                    "routing_decision_time_ms", elapsed_ms, tags=timing_tags, correlation_id=correlation_id
                )
                metrics.record_counter_nowait(
                    "routing_decisions_count", 1, tags=counter_tags, correlation_id=correlation_id
                )
        except Exception:  # metrics must never cost a decision
            logger.debug("recording routing metrics failed", exc_info=True)

    # -- history and statistics --------------------------------------------------------------------------------

    @property
    def routing_history(self) -> deque[RoutingHistoryRecord]:
        """The retained decisions as records, oldest first (a snapshot built on access)."""
        with self._lock:
            entries = list(self._history)
        return deque((_record(entry) for entry in entries), maxlen=self._history.maxlen)

    def get_history(self, task: str | None = None, limit: int | None = None) -> list[RoutingHistoryRecord]:
        """Return retained decisions, newest first.

        Args:
            task: only decisions for this ``current_task`` (None: all).
            limit: at most this many records (None: all), applied after the filter.

        Raises:
            InvalidInputError: ``limit`` is negative or not an integer.
        """
        limit = _checked_limit(limit)
        with self._lock:
            entries = list(self._history)
        selected: list[RoutingHistoryRecord] = []
        for entry in reversed(entries):
            if limit is not None and len(selected) >= limit:
                break
            if task is None or entry[2] == task:
                selected.append(_record(entry))
        return selected

    def get_stats(self) -> dict[str, Any]:
        """Return statistics over every decision this orchestrator made (not only the retained history).

        Returns:
            The seed's keys ``total_routings, avg_routing_time_ms, min_routing_time_ms, max_routing_time_ms,
            decisions, strategies`` (counts by value), plus ``history_size`` (decisions retained in memory).
        """
        with self._lock:
            count = self._count
            outcomes = self._outcomes
            if count == 0:
                return {
                    "total_routings": 0,
                    "avg_routing_time_ms": 0.0,
                    "min_routing_time_ms": 0.0,
                    "max_routing_time_ms": 0.0,
                    "decisions": {},
                    "strategies": {},
                    "history_size": len(self._history),
                }
            return {
                "total_routings": count,
                "avg_routing_time_ms": self._time_total / count,
                "min_routing_time_ms": self._time_min,
                "max_routing_time_ms": self._time_max,
                "decisions": _totals(outcomes, 0),
                "strategies": _totals(outcomes, 1),
                "history_size": len(self._history),
            }

    def clear_history(self) -> None:
        """Drop the retained decisions (also those not persisted yet); lifetime statistics are kept."""
        with self._lock:
            self._history.clear()
            self._persisted = self._count
        logger.info("routing history cleared")

    # -- persistence (the only I/O) -----------------------------------------------------------------------------

    def persist_history(self) -> int:
        """Write the retained decisions not written yet to the state's routing stream; return how many.

        One pipeline (``XADD ... MAXLEN ~ 10000`` per record, JSON fields). Calling it again writes only newer
        decisions, so a second call right after the first returns 0. Decisions dropped from memory before they
        were persisted (more than ``max_history_size`` since the last call) are not written. Without a state
        there is nowhere to write: returns 0.

        Raises:
            StoreUnavailableError: Redis could not be reached; nothing is marked as persisted.
        """
        keys = self._history_keys
        if keys is None:
            return 0
        with self._persist_lock:
            with self._lock:
                upto = self._count
                pending = min(upto - self._persisted, len(self._history))
                entries = list(itertools.islice(self._history, len(self._history) - pending, None))
            if entries:
                stream = keys.routing_history
                ttl_ms = int(getattr(self.state, "ttl_ms", 0) or 0)
                try:
                    pipe = sync_client().pipeline(transaction=True)
                    for entry in entries:
                        pipe.xadd(
                            stream,
                            _stream_fields(_record(entry)),
                            maxlen=PERSISTED_HISTORY_CAP,
                            approximate=True,
                        )
                    if ttl_ms > 0:
                        pipe.pexpire(stream, ttl_ms)
                    pipe.execute()
                except (RedisConnectionError, RedisTimeoutError) as error:
                    raise StoreUnavailableError(
                        f"coordination store unreachable ({error}); check COORD_REDIS_URL and that Redis runs"
                    ) from error
            with self._lock:
                self._persisted = max(self._persisted, upto)
        return len(entries)

    def take_unpersisted(self) -> list[dict[str, str]]:
        """Return the decisions not persisted yet as routing-stream fields, and count them as persisted.

        For callers that write them themselves in a round trip they make anyway (the pipeline writes them in the
        same Lua script that records the agent's outcome); :meth:`persist_history` is the stand-alone way.
        """
        with self._lock:
            upto = self._count
            pending = min(upto - self._persisted, len(self._history))
            entries = list(itertools.islice(self._history, len(self._history) - pending, None))
            self._persisted = max(self._persisted, upto)
        return [_stream_fields(_record(entry)) for entry in entries]

    def read_persisted_history(self, limit: int | None = None) -> list[RoutingHistoryRecord]:
        """Read decisions back from the state's routing stream, newest first (any process may read them).

        Args:
            limit: at most this many records (None: all retained in the stream).

        Raises:
            InvalidInputError: ``limit`` is negative or not an integer.
            StoreUnavailableError: Redis could not be reached.
        """
        limit = _checked_limit(limit)
        keys = self._history_keys
        if keys is None or limit == 0:
            return []
        try:
            entries = sync_client().xrevrange(keys.routing_history, count=limit)
        except (RedisConnectionError, RedisTimeoutError) as error:
            raise StoreUnavailableError(
                f"coordination store unreachable ({error}); check COORD_REDIS_URL and that Redis runs"
            ) from error
        records: list[RoutingHistoryRecord] = []
        for entry_id, fields in entries:
            try:
                records.append(RoutingHistoryRecord.model_validate_json(fields["record"]))
            except (KeyError, ValueError):
                logger.warning("skipping unreadable routing history entry %s", entry_id)
        return records


# -- helpers -------------------------------------------------------------------------------------------------


def _keys_of(state: Any) -> Keys:
    # ThreadSafeState exposes its key builder as ``store_keys`` (``keys()`` is the seed's method); other state
    # handles may call it ``keys``.
    for name in ("store_keys", "keys"):
        candidate = getattr(state, name, None)
        if isinstance(candidate, Keys):
            return candidate
    raise InvalidInputError(
        "state",
        f"must be a ThreadSafeState (an object with a Keys builder and ttl_ms), got {type(state).__name__}",
    )


def _checked_weights(
    weights: Mapping[RoutingStrategy, float] | Mapping[str, float] | None,
) -> dict[RoutingStrategy, float]:
    if weights is None:
        return {}
    if not isinstance(weights, Mapping):
        raise InvalidInputError("strategy_weights", f"must be a mapping, got {type(weights).__name__}")
    checked: dict[RoutingStrategy, float] = {}
    for key, value in weights.items():
        try:
            strategy = RoutingStrategy(key)
        except ValueError:
            choices = ", ".join(member.value for member in RoutingStrategy)
            raise InvalidInputError("strategy_weights", f"unknown strategy {key!r}; expected {choices}") from None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < _INF:
            raise InvalidInputError(
                f"strategy_weights[{strategy.value}]", f"must be a finite number >= 0, got {value!r}"
            )
        checked[strategy] = float(value)
    return checked


def _checked_route_args(
    state: object,
    current_task: object,
    execution_time: object,
    retry_count: object,
    custom_data: object,
    correlation_id: object,
) -> tuple[float, int]:
    if not isinstance(state, dict):
        raise InvalidInputError("state", f"must be a dict, got {type(state).__name__}")
    if not isinstance(current_task, str):
        raise InvalidInputError("current_task", f"must be a string, got {type(current_task).__name__}")
    if not 0 < len(current_task) <= MAX_TASK_LENGTH:
        raise InvalidInputError(
            "current_task", f"must be 1 to {MAX_TASK_LENGTH} characters long, got {len(current_task)}"
        )
    if isinstance(execution_time, bool) or not isinstance(execution_time, int | float):
        raise InvalidInputError("execution_time", f"must be a number of ms, got {type(execution_time).__name__}")
    if not 0 <= execution_time < _INF:
        raise InvalidInputError("execution_time", f"must be a finite number >= 0, got {execution_time!r}")
    if isinstance(retry_count, bool) or not isinstance(retry_count, int):
        raise InvalidInputError("retry_count", f"must be an integer, got {type(retry_count).__name__}")
    if retry_count < 0:
        raise InvalidInputError("retry_count", f"must be >= 0, got {retry_count}")
    if custom_data is not None and not isinstance(custom_data, dict):
        raise InvalidInputError("custom_data", f"must be a dict or None, got {type(custom_data).__name__}")
    if correlation_id is not None and not isinstance(correlation_id, str):
        raise InvalidInputError("correlation_id", f"must be a string or None, got {type(correlation_id).__name__}")
    return float(execution_time), int(retry_count)


def _checked_limit(limit: object) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidInputError("limit", f"must be a non-negative integer or None, got {limit!r}")
    return limit


def _totals(outcomes: dict[tuple[RoutingDecision, RoutingStrategy], int], position: int) -> dict[str, int]:
    # Decisions (position 0) or strategies (1) counted over the (decision, strategy) outcomes.
    totals: dict[str, int] = {}
    for outcome, count in outcomes.items():
        key = outcome[position].value
        totals[key] = totals.get(key, 0) + count
    return totals


def _summary(key_count: int, errors: bool, completed: Any, task_priority: Any) -> dict[str, Any]:
    return {
        "key_count": key_count,
        "has_errors": errors,
        "completed_tasks": completed,
        "task_priority": task_priority,
    }


def _record(entry: _Entry) -> RoutingHistoryRecord:
    (
        timestamp,
        routing_id,
        task,
        key_count,
        errors,
        completed,
        task_priority,
        execution_time,
        retry_count,
        custom,
        correlation_id,
        proposal,
        elapsed,
    ) = entry
    uuid = UUID(routing_id)
    summary = _summary(key_count, errors, completed, task_priority)
    return RoutingHistoryRecord.model_construct(
        timestamp=datetime.fromtimestamp(timestamp, UTC),
        routing_id=uuid,
        context=RoutingContext.model_construct(
            routing_id=uuid,
            current_task=task,
            state_summary=summary,
            execution_time=execution_time,
            retry_count=retry_count,
            custom_data=custom,
            correlation_id=correlation_id,
        ),
        # The metadata is copied: routers share proposals, which a caller must not be able to change.
        result=to_result((*proposal[:METADATA], dict(proposal[METADATA]), proposal[MATCHED])),
        routing_time_ms=elapsed,
    )


def _json_fallback(value: Any) -> str:
    # custom_data and metadata may hold objects JSON cannot carry; persist their text rather than fail.
    return str(value)


def _stream_fields(record: RoutingHistoryRecord) -> dict[str, str]:
    return {
        "routing_id": str(record.routing_id),
        "ts": record.timestamp.isoformat(),
        "task": record.context.current_task,
        "decision": record.result.decision.value,
        "strategy": record.result.strategy.value,
        "record": record.model_dump_json(fallback=_json_fallback),
    }
