"""MetricsCollector: an in-process ring buffer, flushed in the background to a Redis stream, readable back.

Record path (``record_*`` and ``record_*_nowait``): validate, append to the ring buffer, and wake the flusher
when ``batch_size`` metrics are pending. No I/O, no event loop, no task creation. The ``*_nowait`` variants
never raise: a bad metric is logged at debug level and dropped, so instrumentation cannot break the code it
measures (seed weakness 18).

Flush path: a daemon thread (started by :meth:`MetricsCollector.start`) flushes every ``flush_interval_ms``,
or sooner when ``batch_size`` metrics are pending (as soon as recording pauses for 20 ms, so the flush does not
compete with the burst of work that filled the batch), with the blocking Redis client, so it works alike in sync
Celery workers and in asyncio code. Each batch is written in small pipelines of ``XADD ... MAXLEN ~`` (10 metrics
each, so the flusher thread never holds the interpreter lock for long while the application waits for it). A
failed write puts what was not written back in the buffer for the next attempt. Flushed metrics are evaluated by
the alert engine in that same thread.

Unlike the seed, a collector without Kafka or PostgreSQL does not drop its batches (seed weakness 26): Redis
is always the sink, metrics can be read back with :meth:`MetricsCollector.read_metrics` from any process, and
beat archives them to PostgreSQL.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import math
import os
import threading
import time
import warnings
import weakref
from collections import deque
from collections.abc import Sequence
from typing import Any

from coordination.errors import CoordinationError, InvalidInputError, StoreUnavailableError
from coordination.metrics.alerting import AlertRuleEngine
from coordination.metrics.models import (
    Metric,
    MetricTemplate,
    MetricType,
    PendingMetric,
    build_metric,
    materialize,
    pending_from_template,
    pending_from_templates,
    pending_metric,
)
from coordination.metrics.ring_buffer import RingBuffer
from coordination.metrics.storage import RedisMetricsWriter, kafka_unavailable_message
from coordination.store.connection import STORE_ERRORS

logger = logging.getLogger(__name__)
_now = time.time

STATS_METRICS_LIMIT = 1000
"""How many recent metrics ``get_stats()["metrics"]`` holds."""

_STOP_TIMEOUT_S = 10.0
# Metrics per Redis pipeline when flushing: small, so the flusher thread holds the GIL only briefly at a time.
_FLUSH_CHUNK = 10
# A pause in recording this long ends a burst: an early (batch) flush waits for one.
_QUIET_S = 0.02


def _positive_int(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInputError(field, f"must be a positive integer, got {value!r}")
    return value


def _checked(
    metric_name: str,
    metric_type: MetricType,
    value: float,
    unit: str,
    tags: dict[str, str] | None,
    correlation_id: str | None,
    *,
    strict: bool = False,
) -> Metric | PendingMetric | None:
    """The metric to buffer; for an invalid one, raise (``strict``) or log at debug level and return None.

    Hot path: a valid metric keeps its plain values; the :class:`Metric` is built when it is read or flushed.

    Raises:
        InvalidInputError: ``strict`` and a field is invalid (the error names it).
    """
    try:
        pending = pending_metric(metric_name, metric_type, value, unit, tags, correlation_id)
        if pending is not None:
            return pending
        return build_metric(metric_name, metric_type, value, unit, tags, correlation_id)  # raises with the field
    except InvalidInputError as error:
        if strict:
            raise
        logger.debug("metric %r not recorded: %s", metric_name, error)
    except Exception:  # a metric must never break the code it measures
        if strict:
            raise
        logger.debug("metric %r not recorded", metric_name, exc_info=True)
    return None


class MetricsCollector:
    """Collects timing, counter, gauge and rate metrics; flushes them to Redis; reads them back.

    Args:
        buffer_size: ring buffer capacity; when full, the oldest unflushed metric is overwritten (logged).
        batch_size: metrics per Redis pipeline; that many pending metrics wake the flusher early.
        flush_interval_ms: period of the background flush once :meth:`start` was called.
        kafka_enabled: the seed published to Kafka; no Kafka client is a dependency here, so enabling it makes
            :meth:`start` warn that metrics stay in Redis.
        postgres_enabled: the seed wrote to PostgreSQL from the collector; here beat archives the Redis stream
            to PostgreSQL, and :meth:`start` logs that.
        writer: where batches go (keyword only, not in the seed); default: the shared Redis metrics stream.

    Raises:
        InvalidInputError: a size or interval is not a positive integer.
    """

    def __init__(
        self,
        buffer_size: int = 10000,
        batch_size: int = 100,
        flush_interval_ms: int = 1000,
        kafka_enabled: bool = True,
        postgres_enabled: bool = True,
        *,
        writer: RedisMetricsWriter | None = None,
    ) -> None:
        self._buffer: RingBuffer[Metric | PendingMetric] = RingBuffer(_positive_int(buffer_size, "buffer_size"))
        self._batch_size = _positive_int(batch_size, "batch_size")
        self._flush_interval_ms = _positive_int(flush_interval_ms, "flush_interval_ms")
        self.kafka_enabled = bool(kafka_enabled)
        self.postgres_enabled = bool(postgres_enabled)
        self._writer = writer if writer is not None else RedisMetricsWriter()
        self._alert_engine: AlertRuleEngine | None = None
        self._init_runtime()
        self._started = False
        _live_collectors.add(self)

    def _init_runtime(self) -> None:
        # Everything a forked child must not share with its parent (see _reset_after_fork).
        self._state_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._inflight: list[Metric | PendingMetric] = []
        self._alert_queue: deque[Metric] = deque()
        self._already_queued: set[str] = set()
        self._flushed_mark = 0
        self._flushed_total = 0
        self._flush_errors = 0
        self._store_failing = False
        self._warned_full = False
        self._restart_needed = False

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def start(
        self,
        kafka_bootstrap_servers: str | None = None,
        postgres_url: str | None = None,
        alert_engine: AlertRuleEngine | None = None,
    ) -> None:
        """Start the background flusher (idempotent). Does no I/O; see :meth:`start_sync`.

        Args:
            kafka_bootstrap_servers: accepted for compatibility; Kafka is unavailable (a warning says so).
            postgres_url: accepted for compatibility; beat archives to ``settings.database_url``.
            alert_engine: evaluates every flushed metric (in the flusher thread).
        """
        self.start_sync(kafka_bootstrap_servers, postgres_url, alert_engine, _stacklevel=3)

    def start_sync(
        self,
        kafka_bootstrap_servers: str | None = None,
        postgres_url: str | None = None,
        alert_engine: AlertRuleEngine | None = None,
        *,
        _stacklevel: int = 2,
    ) -> None:
        """Synchronous :meth:`start`, for sync code such as a Celery worker's process-init hook."""
        if alert_engine is not None and not isinstance(alert_engine, AlertRuleEngine):
            raise InvalidInputError("alert_engine", f"must be an AlertRuleEngine, got {type(alert_engine).__name__}")
        with self._state_lock:
            if alert_engine is not None:
                self._alert_engine = alert_engine
            if self._started:
                return
            self._announce_sinks(kafka_bootstrap_servers, postgres_url, _stacklevel + 1)
            self._stop_event.clear()
            self._start_thread()
            self._started = True

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"metrics-flusher-{id(self):x}", daemon=True)
        self._thread.start()

    def _announce_sinks(self, kafka_servers: str | None, postgres_url: str | None, stacklevel: int) -> None:
        # The seed silently dropped every batch when Kafka/PostgreSQL were not configured; say where they go.
        if self.kafka_enabled:
            if kafka_servers:
                reason = "kafka_bootstrap_servers were given, but " + kafka_unavailable_message()
            else:
                reason = "kafka_enabled=True but no kafka_bootstrap_servers were given; " + (
                    f"metrics stay in the Redis stream {self._writer.stream!r} "
                    "(read them with read_metrics(); beat archives them to PostgreSQL)"
                )
            logger.warning("MetricsCollector: %s", reason)
            warnings.warn(f"MetricsCollector: {reason}", UserWarning, stacklevel=stacklevel)
        if self.postgres_enabled:
            logger.info(
                "MetricsCollector: metrics are archived to PostgreSQL by the beat archive task from the "
                "Redis stream %r; the collector itself does not write to PostgreSQL%s",
                self._writer.stream,
                " (postgres_url is not used: the archive uses settings.database_url)" if postgres_url else "",
            )

    async def stop(self) -> None:
        """Stop the flusher and flush what is left (runs the blocking work in a thread)."""
        await asyncio.to_thread(self.stop_sync)

    def stop_sync(self, timeout: float = _STOP_TIMEOUT_S) -> None:
        """Synchronous :meth:`stop`: join the flusher (it flushes on its way out), then flush any stragglers.

        A final flush that cannot reach Redis is logged, not raised; the metrics stay buffered.
        """
        with self._state_lock:
            thread = self._thread
            self._started = False
            self._restart_needed = False
            self._stop_event.set()
            self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("MetricsCollector: flusher did not finish within %.1f s", timeout)
        with self._state_lock:
            if self._thread is thread:
                self._thread = None
            self._alert_queue.clear()
            self._already_queued.clear()
        try:
            self.flush_now()
        except CoordinationError as error:
            pending = self._buffer.size()
            logger.warning("MetricsCollector: final flush failed, %d metrics kept: %s", pending, error)

    @property
    def running(self) -> bool:
        """Tell whether the background flusher is running."""
        return self._started

    # -- record path (no I/O) --------------------------------------------------------------------------------
    #
    # One core, _record: check the metric, buffer it, wake the flusher when a batch is pending. The seed's async
    # record_* methods call it strictly (a bad metric raises); the *_nowait ones leniently (a bad metric is logged
    # and dropped, so instrumentation never breaks the code it measures). Each public method only fixes the
    # metric type and unit.

    async def record_timing(
        self,
        metric_name: str,
        duration_ms: float,
        tags: dict[str, str] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """Record a duration in milliseconds (unit ``ms``).

        Raises:
            InvalidInputError: a bad name, value or tag (tag values must be strings); nothing is recorded.
        """
        self._record(metric_name, MetricType.TIMING, duration_ms, "ms", tags, correlation_id, strict=True)

    async def record_counter(
        self,
        metric_name: str,
        count: int = 1,
        tags: dict[str, str] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """Record a count (unit ``count``).

        Raises:
            InvalidInputError: a bad name, value or tag; nothing is recorded.
        """
        self._record(metric_name, MetricType.COUNTER, count, "count", tags, correlation_id, strict=True)

    async def record_gauge(
        self,
        metric_name: str,
        value: float,
        unit: str,
        tags: dict[str, str] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """Record a gauge value in ``unit``.

        Raises:
            InvalidInputError: a bad name, value, unit or tag; nothing is recorded.
        """
        self._record(metric_name, MetricType.GAUGE, value, unit, tags, correlation_id, strict=True)

    async def record_rate(
        self,
        metric_name: str,
        rate_percent: float,
        tags: dict[str, str] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """Record a rate in percent (unit ``%``).

        Raises:
            InvalidInputError: a bad name, value or tag; nothing is recorded.
        """
        self._record(metric_name, MetricType.RATE, rate_percent, "%", tags, correlation_id, strict=True)

    def record_timing_nowait(
        self,
        metric_name: str,
        duration_ms: float,
        tags: dict[str, str] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """Like :meth:`record_timing`, synchronous; never raises (a bad metric is logged at debug level)."""
        self._record(metric_name, MetricType.TIMING, duration_ms, "ms", tags, correlation_id, strict=False)

    def record_counter_nowait(
        self,
        metric_name: str,
        count: int = 1,
        tags: dict[str, str] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """Like :meth:`record_counter`, synchronous; never raises."""
        self._record(metric_name, MetricType.COUNTER, count, "count", tags, correlation_id, strict=False)

    def record_gauge_nowait(
        self,
        metric_name: str,
        value: float,
        unit: str,
        tags: dict[str, str] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """Like :meth:`record_gauge`, synchronous; never raises."""
        self._record(metric_name, MetricType.GAUGE, value, unit, tags, correlation_id, strict=False)

    def record_rate_nowait(
        self,
        metric_name: str,
        rate_percent: float,
        tags: dict[str, str] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """Like :meth:`record_rate`, synchronous; never raises."""
        self._record(metric_name, MetricType.RATE, rate_percent, "%", tags, correlation_id, strict=False)

    def record_many_nowait(
        self,
        records: list[tuple[str, MetricType, float, str, dict[str, str] | None]],
        correlation_id: str | None = None,
    ) -> None:
        """Record several metrics at once, in order (one buffer write); never raises.

        Each record is ``(metric_name, metric_type, value, unit, tags)``; a bad one is logged at debug level and
        dropped, the others are recorded. Hot paths that record a few metrics per event (the routing orchestrator
        records a timing and a counter per decision) use it to pay the buffer's lock once.
        """
        accepted = [
            metric
            for metric_name, metric_type, value, unit, tags in records
            if (metric := _checked(metric_name, metric_type, value, unit, tags, correlation_id)) is not None
        ]
        if accepted:
            self._buffer_metrics(accepted, strict=False)

    def record_templates_nowait(
        self, records: Sequence[tuple[MetricTemplate, float]], correlation_id: str | None = None
    ) -> None:
        """Record several metrics of checked templates at once, in order (one buffer write); never raises.

        Each record is ``(template, value)`` with a template from :func:`~coordination.metrics.metric_template`:
        only the value and ``correlation_id`` are checked here, so a metric recorded on every event (the routing
        orchestrator's two per decision) costs a fraction of :meth:`record_many_nowait`. Values are taken as
        :meth:`record_many_nowait` takes them; a bad one is logged at debug level and its record dropped.
        """
        now = _now()  # the records of one call share their moment
        try:
            records = tuple(records)
        except Exception:  # not even a sequence: nothing to record, and nothing raised
            logger.debug("templated metrics not recorded", exc_info=True)
            return
        accepted: Sequence[Metric | PendingMetric] | None = pending_from_templates(records, correlation_id, now)
        if accepted is None:  # some record is not plain: each is taken on its own
            accepted = self._templated_one_by_one(records, correlation_id, now)
        if accepted:
            try:
                self._append_many(accepted)
            except Exception:
                logger.debug("metrics not recorded", exc_info=True)  # a metric must never break the code it measures

    @staticmethod
    def _templated_one_by_one(
        records: tuple[Any, ...], correlation_id: str | None, now: float
    ) -> list[Metric | PendingMetric]:
        accepted: list[Metric | PendingMetric] = []
        for record in records:
            try:
                template, value = record  # anything may have been given: a bad one is logged
                if type(template) is not MetricTemplate:
                    raise TypeError(f"{type(template).__name__} is not a template from metric_template()")
                metric: Metric | PendingMetric | None = pending_from_template(template, value, correlation_id, now)
                if metric is None:  # outside the fast path's checks: what the Metric model makes of it, or logged
                    name, metric_type, unit = template.metric_name, template.metric_type, template.unit
                    metric = _checked(name, metric_type, value, unit, dict(template.tags), correlation_id)
            except Exception:  # a metric must never break the code it measures
                logger.debug("a templated metric was not recorded", exc_info=True)
                continue
            if metric is not None:
                accepted.append(metric)
        return accepted

    def _record(
        self,
        metric_name: str,
        metric_type: MetricType,
        value: float,
        unit: str,
        tags: dict[str, str] | None,
        correlation_id: str | None,
        *,
        strict: bool,
    ) -> None:
        metric = _checked(metric_name, metric_type, value, unit, tags, correlation_id, strict=strict)
        if metric is not None:
            self._buffer_metrics([metric], strict=strict)

    def _buffer_metrics(self, metrics: list[Metric | PendingMetric], *, strict: bool) -> None:
        try:
            self._append_many(metrics)
        except Exception:
            if strict:
                raise
            logger.debug("metrics not recorded", exc_info=True)  # a metric must never break the code it measures

    def _append_many(self, metrics: Sequence[Metric | PendingMetric]) -> None:
        if self._restart_needed:
            self._restart_after_fork()
        dropped, buffered = self._buffer.write_many_nowait(metrics)
        if dropped and not self._warned_full:
            self._warned_full = True
            logger.warning(
                "MetricsCollector: buffer of %d is full; the oldest unflushed metrics are overwritten (%s)",
                self._buffer.capacity(),
                self._full_reason(),
            )
        if buffered >= self._batch_size and self._started and not self._wake.is_set():
            self._wake.set()

    def _full_reason(self) -> str:
        if self._store_failing:
            return "flushes to Redis are failing"
        if self._started:
            return "metrics are recorded faster than they are flushed; raise buffer_size or batch_size"
        return "the collector is not started: call start(), or flush() regularly"

    # -- flush path ------------------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Flush every pending metric to Redis now (the blocking work runs in a thread).

        Raises:
            StoreUnavailableError: Redis could not be reached; the metrics stay buffered for the next flush.
        """
        await asyncio.to_thread(self.flush_now)

    def flush_now(self) -> int:
        """Flush every pending metric to Redis now, synchronously; return how many were written.

        Raises:
            StoreUnavailableError: Redis could not be reached; the metrics stay buffered for the next flush.
        """
        written = self._flush_all()
        if self._alert_queue and self._thread is not None and threading.current_thread() is not self._thread:
            self._wake.set()  # alerts are evaluated in the flusher thread
        return written

    def _flush_all(self) -> int:
        with self._flush_lock:
            mark = self._buffer.written()
            rounds = max(1, math.ceil(self._buffer.size() / self._batch_size))
            written = 0
            for _ in range(rounds):  # bounded: writers recording meanwhile are flushed next time
                items = self._buffer.read_batch(self._batch_size)
                if not items:
                    break
                written += self._write_in_chunks(items)
            self._flushed_mark = mark
            self._flushed_total += written
            self._warned_full = False
            return written

    def _write_in_chunks(self, items: list[Metric | PendingMetric]) -> int:
        """Write one batch a few metrics at a time, so the flusher never holds the GIL for long.

        Building and encoding a metric is Python work; in the flusher thread it would hold the interpreter lock
        while the application's threads (an event loop, a worker) wait for it, up to the 5 ms switch interval.
        Between two short chunks the thread waits on Redis, which releases the lock.
        """
        written = 0
        for start in range(0, len(items), _FLUSH_CHUNK):
            # read_metrics() still sees what is not written yet (here, not in the buffer any more).
            self._inflight = items[start:]
            chunk = [materialize(item) for item in items[start : start + _FLUSH_CHUNK]]
            queued = self._queue_for_alerts(chunk)
            try:
                written += self._writer.write_batch(chunk)
            except Exception as error:
                self._buffer.requeue(list(items[start:]))
                if queued:  # do not evaluate them twice when the retry succeeds
                    self._already_queued.update(m.metric_id for m in chunk)
                self._flush_errors += 1
                if isinstance(error, StoreUnavailableError):
                    raise
                raise StoreUnavailableError(
                    f"metrics flush failed (store unreachable or refusing writes): {error!r}"
                ) from error
            finally:
                self._inflight = []
            time.sleep(0)  # let a waiting thread run before the next chunk's Python work
        return written

    def _queue_for_alerts(self, batch: list[Metric]) -> bool:
        thread = self._thread
        if self._alert_engine is None or thread is None or not thread.is_alive():
            return False  # only the flusher thread evaluates alerts; without it nothing would drain the queue
        if len(self._already_queued) > 2 * self._buffer.capacity():
            self._already_queued.clear()  # ids of requeued metrics that were overwritten meanwhile
        if self._already_queued:  # a requeued batch was queued on its first attempt
            fresh = [m for m in batch if m.metric_id not in self._already_queued]
            self._already_queued.difference_update(m.metric_id for m in batch)
            batch = fresh
        self._alert_queue.extend(batch)
        return True

    def _run(self) -> None:
        interval = self._flush_interval_ms / 1000.0
        loop = asyncio.new_event_loop()  # private loop for the engine's async notifiers
        try:
            while not self._stop_event.is_set():
                woken = self._wake.wait(interval)
                self._wake.clear()
                if woken:
                    self._let_the_burst_finish(interval)
                self._background_flush()
                self._evaluate_alerts(loop)
            self._background_flush()
            self._evaluate_alerts(loop)
        finally:
            loop.close()

    def _let_the_burst_finish(self, interval: float) -> None:
        """Before an early flush, wait until recording pauses for ``_QUIET_S``, so the flush runs between bursts.

        A batch fills up during a burst of the application's own work; flushing right then (encoding, Redis round
        trips, the interpreter lock) slows that work down. The wait ends at the first quiet moment, when the stop
        is requested, when half the buffer is pending (nothing may be overwritten), or after ``interval``.
        """
        deadline = time.monotonic() + interval
        urgent = self._buffer.capacity() // 2
        mark = self._buffer.written()
        while not self._stop_event.wait(_QUIET_S):
            written = self._buffer.written()
            if written == mark or self._buffer.size() >= urgent or time.monotonic() >= deadline:
                return
            mark = written

    def _background_flush(self) -> None:
        try:
            self._flush_all()
        except STORE_ERRORS as error:
            # Warn when failures start, not on every interval while Redis is down.
            log = logger.debug if self._store_failing else logger.warning
            log("MetricsCollector: flush failed, %d metrics kept for retry: %s", self._buffer.size(), error)
            self._store_failing = True
        except Exception:
            logger.exception("MetricsCollector: flush failed")
        else:
            if self._store_failing:
                logger.info("MetricsCollector: flushing to Redis again")
            self._store_failing = False

    def _evaluate_alerts(self, loop: asyncio.AbstractEventLoop) -> None:
        engine = self._alert_engine
        queue = self._alert_queue
        while queue:
            batch = [queue.popleft() for _ in range(min(len(queue), self._batch_size))]
            if engine is None:
                continue
            try:
                loop.run_until_complete(_evaluate_batch(engine, batch))
            except Exception:
                logger.exception("MetricsCollector: alert evaluation failed")

    # -- read path -------------------------------------------------------------------------------------------

    def read_metrics(self, metric_name: str | None = None, limit: int = 1000) -> list[Metric]:
        """Return up to ``limit`` recent metrics, newest first.

        They are the flushed metrics in Redis (recorded by any process) plus this collector's unflushed ones.

        Args:
            metric_name: only metrics of this name; None for all.
            limit: the largest number returned.

        Raises:
            InvalidInputError: ``limit`` is not a positive integer.
            StoreUnavailableError: Redis could not be reached.
        """
        _positive_int(limit, "limit")
        # Local first: a metric flushed after this snapshot is in Redis by the time Redis is read.
        local = [*map(materialize, self._inflight), *map(materialize, self._buffer.peek_all())]
        if metric_name is not None:
            local = [m for m in local if m.metric_name == metric_name]
        stored = self._writer.read_recent(metric_name, limit)
        return _merge_newest_first(local, stored, limit)

    async def get_stats(self) -> dict[str, Any]:
        """Return buffer figures and the most recent metrics.

        Keys: the seed's ``buffer_size`` (pending metrics), ``buffer_capacity``, ``metrics_since_flush``; plus
        ``metrics`` (up to 1000 recent metric dicts, newest first, with keys ``name``, ``value``, ``type``,
        ``unit``, ``tags``, ``timestamp``, ``correlation_id``, ``metric_id``, ``agent_id``),
        ``metrics_flushed``, ``metrics_overwritten``, ``flush_errors`` and ``running``. If Redis cannot be
        reached, ``metrics`` holds only this collector's unflushed metrics and ``store_error`` says why.
        """
        stats = self._buffer_stats()
        try:
            recent = await asyncio.to_thread(self.read_metrics, None, STATS_METRICS_LIMIT)
        except STORE_ERRORS as error:
            logger.warning("MetricsCollector.get_stats: %s", error)
            stats["store_error"] = (
                str(error) if isinstance(error, StoreUnavailableError) else f"store unreachable: {error}"
            )
            local = [*map(materialize, self._inflight), *map(materialize, self._buffer.peek_all())]
            recent = _merge_newest_first(local, [], STATS_METRICS_LIMIT)
        stats["metrics"] = [metric.as_stats_entry() for metric in recent]
        return stats

    def _buffer_stats(self) -> dict[str, Any]:
        return {
            "buffer_size": self._buffer.size(),
            "buffer_capacity": self._buffer.capacity(),
            "metrics_since_flush": self._buffer.written() - self._flushed_mark,
            "metrics_flushed": self._flushed_total,
            "metrics_overwritten": self._buffer.overwritten(),
            "flush_errors": self._flush_errors,
            "running": self._started,
        }

    # -- fork safety -----------------------------------------------------------------------------------------

    def _reset_after_fork(self) -> None:
        # Locks may have been held by another thread at fork time; buffered metrics belong to the parent.
        was_started = self._started
        self._init_runtime()
        self._buffer.reset_after_fork()
        self._restart_needed = was_started

    def _restart_after_fork(self) -> None:
        with self._state_lock:
            if self._restart_needed and self._started:
                self._restart_needed = False
                self._stop_event.clear()
                self._start_thread()

    def __repr__(self) -> str:
        return (
            f"MetricsCollector(buffer={self._buffer.size()}/{self._buffer.capacity()}, "
            f"batch_size={self._batch_size}, flush_interval_ms={self._flush_interval_ms}, "
            f"running={self._started})"
        )


async def _evaluate_batch(engine: AlertRuleEngine, batch: list[Metric]) -> None:
    for metric in batch:
        await engine.evaluate_metric(metric)


def _merge_newest_first(local: list[Metric], stored: list[Metric], limit: int) -> list[Metric]:
    seen: set[str] = set()
    merged: list[Metric] = []
    for metric in (*local, *stored):
        if metric.metric_id not in seen:
            seen.add(metric.metric_id)
            merged.append(metric)
    merged.sort(key=lambda m: m.timestamp, reverse=True)
    return merged[:limit]


_live_collectors: weakref.WeakSet[MetricsCollector] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for collector in list(_live_collectors):
        collector._reset_after_fork()


def _flush_started_collectors_at_exit() -> None:
    # Daemon threads die with the interpreter: give started collectors their final flush.
    for collector in list(_live_collectors):
        if collector.running:
            try:
                collector.stop_sync(timeout=2.0)
            except Exception:
                logger.debug("MetricsCollector: final flush at exit failed", exc_info=True)


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_flush_started_collectors_at_exit)
