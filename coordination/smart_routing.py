"""The routing orchestrator: a stateful shell around the pure decision of :mod:`coordination.routing.decision`.

``route()`` decides without I/O (inside the worker, after every agent step) and keeps the decision in an in-memory
history, lifetime statistics and, with a collector, two metrics. The history is written to the coordination store
explicitly, with :meth:`SmartRoutingOrchestrator.persist_history` or by a caller of
:meth:`SmartRoutingOrchestrator.take_unpersisted`, in the format of :mod:`coordination.routing.history_format`.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from coordination.errors import InvalidInputError
from coordination.ids import new_uuid4
from coordination.metrics.models import MetricTemplate, MetricType, metric_template
from coordination.models.routing import RoutingHistoryRecord, RoutingStrategy
from coordination.routing import history_format
from coordination.routing.consolidation import DEFAULT_STRATEGY_WEIGHTS, checked_weights
from coordination.routing.decision import MAX_TASK_LENGTH, RouterPlan, decision_input
from coordination.routing.history import HistoryEntry
from coordination.routing.outcomes import OUTCOMES, Outcome
from coordination.routing.routers import BaseRouter
from coordination.routing.statistics import RoutingStatistics
from coordination.store.connection import sync_client
from coordination.store.keys import Keys

if TYPE_CHECKING:
    from coordination.metrics import MetricsCollector

__all__ = ["MAX_TASK_LENGTH", "PERSISTED_HISTORY_CAP", "SmartRoutingOrchestrator"]

logger = logging.getLogger(__name__)

#: Approximate cap of the persisted routing stream (``XADD ... MAXLEN ~``).
PERSISTED_HISTORY_CAP = 10_000


class SmartRoutingOrchestrator:
    """Runs every registered router on a state and returns one consolidated decision.

    The decision itself is pure computation (:mod:`coordination.routing.decision`, consolidated by the one rule of
    :mod:`coordination.routing.consolidation`, which differs from the seed's): matched results beat the routers'
    "continue" defaults, then the highest ``confidence × strategy_priority[strategy]`` wins, ties going to the
    router added first. This class is the stateful shell around it: routers, history, lifetime statistics,
    metrics, and persistence of the history (the only I/O, never done by ``route()``).

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
            ``record_templates_nowait`` call when it has that method (a
            :class:`~coordination.metrics.MetricsCollector` does), else with ``record_timing_nowait`` and
            ``record_counter_nowait``.
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
        self.strategy_priority.update(checked_weights(strategy_weights))
        self._plan = RouterPlan()
        self._history: deque[HistoryEntry] = deque(maxlen=max_history_size)
        self._statistics = RoutingStatistics()
        self._lock = threading.Lock()  # guards the history, the statistics and the persisted count
        self._persist_lock = threading.Lock()  # one persist_history() at a time
        self._persisted = 0  # lifetime sequence number of the last decision written to the store

    def __repr__(self) -> str:
        return f"SmartRoutingOrchestrator(routers={len(self._plan.routers)}, decisions={self._statistics.count})"

    # -- routers ------------------------------------------------------------------------------------------------

    @property
    def routers(self) -> dict[RoutingStrategy, BaseRouter]:
        """Strategy → router (the most recently added one of each strategy), as in the seed; a copy."""
        return {router.strategy: router for router in self._plan.routers}

    @property
    def router_list(self) -> list[BaseRouter]:
        """Every registered router in evaluation order; a copy."""
        return list(self._plan.routers)

    def add_router(self, router: BaseRouter) -> None:
        """Register ``router``; it is evaluated after the routers added before it.

        Raises:
            InvalidInputError: ``router`` is not a :class:`~coordination.routing.BaseRouter` with a strategy.
        """
        if not isinstance(router, BaseRouter):
            raise InvalidInputError("router", f"must be a BaseRouter, got {type(router).__name__}")
        if not isinstance(getattr(router, "strategy", None), RoutingStrategy):
            raise InvalidInputError("router", f"{type(router).__name__}.strategy must be a RoutingStrategy")
        self._plan = RouterPlan([*self._plan.routers, router])  # replaced whole: see RouterPlan
        logger.info("added router %s", router.strategy.value)

    def remove_router(self, strategy: RoutingStrategy) -> None:
        """Remove every router of ``strategy`` (nothing happens when there is none)."""
        routers = self._plan.routers
        kept = [router for router in routers if router.strategy != strategy]
        if len(kept) != len(routers):
            self._plan = RouterPlan(kept)
            logger.info("removed router(s) %s", getattr(strategy, "value", strategy))

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
        given = decision_input(
            new_uuid4(), state, current_task, execution_time, retry_count, custom_data, correlation_id
        )
        proposal, outcome, evaluated = self._plan.decide(state, given, self.strategy_priority)
        elapsed_ms = (_perf_counter() - start) * 1000.0
        entry = _new_tuple(HistoryEntry, (_now(), given, proposal, elapsed_ms))
        with self._lock:
            self._history.append(entry)
            self._statistics.add(outcome, elapsed_ms)
        if self.metrics is not None:
            self._record_metrics(outcome, elapsed_ms, correlation_id)
        return {
            "routing_id": given.routing_id,
            "decision": outcome.decision_value,
            "confidence": proposal.confidence,
            "reasoning": proposal.reasoning,
            "strategy": outcome.strategy_value,
            "next_task": proposal.next_task,
            "metadata": dict(proposal.metadata),  # a copy: routers share proposals for state-independent outcomes
            "routing_time_ms": elapsed_ms,
            "routers_evaluated": evaluated,
        }

    def _record_metrics(self, outcome: Outcome, elapsed_ms: float, correlation_id: str | None) -> None:
        metrics = self.metrics
        try:
            # Looked up on every decision: the collector (or its method) may be replaced or patched at any time.
            record_templates = getattr(metrics, "record_templates_nowait", None)
            if record_templates is not None:  # our collector: names, units and tags were checked at import
                timing, counter = _METRIC_TEMPLATES[outcome]
                record_templates(((timing, elapsed_ms), (counter, 1)), correlation_id)
                return
            # a collector of the user's own with the seed's per-metric methods
            if metrics is None:
                return
            decision = outcome.decision_value
            metrics.record_timing_nowait(
                "routing_decision_time_ms",
                elapsed_ms,
                tags={"decision": decision, "strategy": outcome.strategy_value},
                correlation_id=correlation_id,
            )
            metrics.record_counter_nowait(
                "routing_decisions_count", 1, tags={"decision": decision}, correlation_id=correlation_id
            )
        except Exception:  # metrics must never cost a decision
            logger.debug("recording routing metrics failed", exc_info=True)

    # -- history and statistics --------------------------------------------------------------------------------

    @property
    def routing_history(self) -> deque[RoutingHistoryRecord]:
        """The retained decisions as records, oldest first (a snapshot built on access)."""
        with self._lock:
            entries = list(self._history)
        return deque((entry.to_record() for entry in entries), maxlen=self._history.maxlen)

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
        selected = (entry for entry in reversed(entries) if task is None or entry.given.current_task == task)
        return [entry.to_record() for entry in itertools.islice(selected, limit)]

    def get_stats(self) -> dict[str, Any]:
        """Return statistics over every decision this orchestrator made (not only the retained history).

        Returns:
            The seed's keys ``total_routings, avg_routing_time_ms, min_routing_time_ms, max_routing_time_ms,
            decisions, strategies`` (counts by value), plus ``history_size`` (decisions retained in memory).
        """
        with self._lock:
            return {**self._statistics.as_dict(), "history_size": len(self._history)}

    def clear_history(self) -> None:
        """Drop the retained decisions (also those not persisted yet); lifetime statistics are kept."""
        with self._lock:
            self._history.clear()
            self._persisted = self._statistics.count
        logger.info("routing history cleared")

    # -- persistence (the only I/O) -----------------------------------------------------------------------------

    def persist_history(self) -> int:
        """Write the retained decisions not written yet to the state's routing stream; return how many.

        One pipeline (``XADD ... MAXLEN ~ 10000`` per record, fields of
        :mod:`coordination.routing.history_format`). Calling it again writes only newer decisions, so a second
        call right after the first returns 0. Decisions dropped from memory before they were persisted (more than
        ``max_history_size`` since the last call) are not written. Without a state there is nowhere to write:
        returns 0.

        Raises:
            StoreUnavailableError: Redis could not be reached; nothing is marked as persisted.
        """
        keys = self._history_keys
        if keys is None:
            return 0
        with self._persist_lock:
            with self._lock:
                upto = self._statistics.count
                entries = self._unpersisted()
            encoded = _encoded(entries)
            if encoded:
                ttl_ms = int(getattr(self.state, "ttl_ms", 0) or 0)
                pipe = sync_client().pipeline(transaction=True)
                for fields in encoded:
                    pipe.xadd(keys.routing_history, fields, maxlen=PERSISTED_HISTORY_CAP, approximate=True)
                if ttl_ms > 0:
                    pipe.pexpire(keys.routing_history, ttl_ms)
                pipe.execute()
            with self._lock:
                self._persisted = max(self._persisted, upto)
        return len(encoded)

    def take_unpersisted(self) -> list[dict[str, str]]:
        """Return the decisions not persisted yet as routing-stream fields, and count them as persisted.

        For callers that write them themselves in a round trip they make anyway (the pipeline writes them in the
        same Lua script that records the agent's outcome); :meth:`persist_history` is the stand-alone way. The
        fields are those of :mod:`coordination.routing.history_format` (``FIELDS`` gives their order).
        """
        with self._lock:
            entries = self._unpersisted()
            self._persisted = max(self._persisted, self._statistics.count)
        return _encoded(entries)

    def _unpersisted(self) -> list[HistoryEntry]:
        # Called with the lock held: the retained decisions made since the last persisted one.
        pending = min(self._statistics.count - self._persisted, len(self._history))
        return list(itertools.islice(self._history, len(self._history) - pending, None))

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
        entries = sync_client().xrevrange(keys.routing_history, count=limit)
        records: list[RoutingHistoryRecord] = []
        for entry_id, fields in entries:
            try:
                records.append(history_format.decode(fields))
            except ValueError:
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


def _checked_limit(limit: object) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidInputError("limit", f"must be a non-negative integer or None, got {limit!r}")
    return limit


def _encoded(entries: list[HistoryEntry]) -> list[dict[str, str]]:
    # A decision that cannot be written (its task or reasoning holds text JSON cannot carry) is logged and left
    # out: the history is a record of decisions, and losing one must not fail the agent step that made it.
    encoded = []
    for entry in entries:
        try:
            encoded.append(history_format.encode(entry.to_record()))
        except InvalidInputError as error:
            logger.warning("routing decision %s not persisted: %s", entry.given.routing_id, error)
    return encoded


def _metric_templates(outcome: Outcome) -> tuple[MetricTemplate, MetricTemplate]:
    return (
        metric_template(
            "routing_decision_time_ms",
            MetricType.TIMING,
            "ms",
            {"decision": outcome.decision_value, "strategy": outcome.strategy_value},
        ),
        metric_template("routing_decisions_count", MetricType.COUNTER, "count", {"decision": outcome.decision_value}),
    )


# A decision's two metrics, for every kind of outcome (32), made at import: a process's first decisions pay nothing
# for them.
_METRIC_TEMPLATES: dict[Outcome, tuple[MetricTemplate, MetricTemplate]] = {
    outcome: _metric_templates(outcome) for outcome in OUTCOMES.values()
}
_new_tuple = tuple.__new__
_perf_counter = time.perf_counter
_now = time.time
