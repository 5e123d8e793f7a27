"""Prometheus metrics read from Redis at scrape time (``/metrics`` of the web view); no state in the process.

Everything is computed from what Redis holds when Prometheus asks: running coordinations and finished ones until
they are archived and their retention (``COORD_RETENTION_SECONDS``) is over. Counts therefore go down when
coordinations expire, so they are exposed as gauges (and gauge histograms), never as counters: "how many failed
in the last hour" is ``coord_coordinations{status="failed"}`` with the default retention.

========================================== ================ =========================================================
metric                                     type             what
========================================== ================ =========================================================
coord_store_up                             gauge            1 when Redis answered this scrape (else nothing else)
coord_coordinations                        gauge            coordinations in Redis by ``workflow`` and ``status``
coord_agent_attempts                       gauge            attempts by ``workflow``, ``agent``, ``outcome``
coord_agent_attempt_duration_seconds       gauge histogram  finished attempts' run time by ``workflow``, ``agent``
coord_dependency_wait_seconds              gauge histogram  settled dependencies' wait by ``type``
coord_queue_depth                          gauge            messages waiting in the broker, by ``queue``
coord_archive_pending_coordinations        gauge            finished coordinations not archived in final form yet
coord_archive_lag_seconds                  gauge            age of the oldest of those (0 when none)
coord_due_checks                           gauge            entries of the due-set (time-outs, polled dependencies)
coord_due_checks_overdue                   gauge            of those, due for longer than the grace (beat not polling)
coord_limit_running                        gauge            attempts holding a concurrency slot, by limit ``key``
coord_limit_concurrency                    gauge            the key's declared concurrency (keys that declare one)
coord_limit_waiting                        gauge            deferred attempts waiting for the key
coord_limit_window_starts                  gauge            starts within the key's rate window (keys with a rate)
coord_limit_window_tokens                  gauge            tokens used within the key's token window (token limits)
coord_limit_started                        gauge            attempts the key let start, since it was first used
coord_limit_deferred                       gauge            deferrals the key caused, since it was first used
coord_limit_tokens                         gauge            tokens charged to the key, since it was first used
========================================== ================ =========================================================

The ``coord_limit_*`` totals start again when a key has been idle for a day (its records expire), hence gauges.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from config.settings import get_settings
from coordination.archive.snapshots import archived_as_final, rows_cursor_field
from coordination.models.statuses import FINISHED_COORDINATION
from coordination.pipeline.limit_usage import limit_uses
from coordination.store.connection import sync_client
from coordination.store.keys import Keys
from coordination.streams import decode_signal
from coordination.views.timeline import attempts_from_signals

#: Upper bounds (s) of the duration and wait histograms.
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
#: Coordinations whose signals and dependencies are read per scrape (the newest); the counts cover all of them.
MAX_DETAILED = 5000
#: Redis round trips are batched by this many commands.
_BATCH = 200
#: Suffixes kombu's Redis transport gives a queue's priority lists (priority steps 3, 6 and 9).
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: int = 0
    sum: float = 0.0

    def observe(self, value: float) -> None:
        for index, bound in enumerate(BUCKETS):
            if value <= bound:
                self.counts[index] += 1
        self.total += 1
        self.sum += value

    def buckets(self) -> list[tuple[str, float]]:
        return [
            *((repr(bound), float(count)) for bound, count in zip(BUCKETS, self.counts, strict=True)),
            ("+Inf", float(self.total)),
        ]


class CoordinationCollector(Collector):
    """A Prometheus collector over the pipeline namespace's Redis records and the broker's queues.

    Args:
        queues: broker queues whose depth is reported (default: ``COORD_TASK_QUEUE``).
        overdue_grace_s: a due-set entry counts as overdue this long after its due time (default: five poll
            intervals, at least 5 s): a beat that polls keeps it at 0.
    """

    def __init__(self, queues: Sequence[str] | None = None, overdue_grace_s: float | None = None) -> None:
        self._queues = list(queues) if queues is not None else None
        self._grace = overdue_grace_s

    def collect(self) -> Iterator[Metric]:
        """Read Redis and yield every metric (only ``coord_store_up 0`` when Redis cannot be read)."""
        up = GaugeMetricFamily("coord_store_up", "1 when the coordination store (Redis) answered this scrape.")
        try:
            metrics = list(self._read())
        except (RedisError, OSError):  # (StoreUnavailableError is an OSError)
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        yield from metrics

    # -- reading -------------------------------------------------------------------------------------------------

    def _read(self) -> Iterable[Metric]:
        settings = get_settings()
        keys = Keys(settings.namespace, settings.pipeline_namespace)
        client = sync_client()
        now_ms = time.time() * 1000
        grace_s = self._grace if self._grace is not None else max(5.0, 5 * settings.poll_interval_seconds)
        with client.pipeline(transaction=False) as pipe:
            pipe.smembers(keys.active)
            pipe.zrange(keys.finished, 0, -1, withscores=True)
            pipe.zcard(keys.due)
            pipe.zcount(keys.due, "-inf", now_ms - grace_s * 1000)
            active, finished, due, overdue = pipe.execute()
        finished_at = {cid: float(score) for cid, score in finished}
        ids = sorted(set(active) | set(finished_at))
        metas = dict(
            zip(ids, _batched(client, ids, lambda pipe, cid: pipe.hgetall(keys.coordination(cid).meta)), strict=True)
        )
        metas = {cid: meta for cid, meta in metas.items() if meta}
        yield self._coordinations(metas)
        newest = sorted(metas, key=lambda cid: float(metas[cid].get("created_ms") or 0), reverse=True)[:MAX_DETAILED]
        yield from self._attempts(client, keys, newest, metas)
        yield self._waits(client, keys, newest)
        yield self._queue_depth(settings.task_queue)
        yield from self._archive_lag(client, keys, metas, finished_at, now_ms)
        yield from _limits(keys, int(now_ms))
        yield _gauge("coord_due_checks", "Entries of the due-set: dependency time-outs and polled checks.", due)
        yield _gauge(
            "coord_due_checks_overdue",
            f"Due-set entries due for more than {grace_s:g} s (beat is not polling when this stays above 0).",
            overdue,
        )

    def _coordinations(self, metas: dict[str, dict[str, str]]) -> Metric:
        family = GaugeMetricFamily(
            "coord_coordinations",
            "Coordinations Redis holds (running, and finished until archived and past retention), by status.",
            labels=["workflow", "status"],
        )
        counts = Counter((meta.get("name", ""), meta.get("status", "unknown")) for meta in metas.values())
        for (workflow, status), count in sorted(counts.items()):
            family.add_metric([workflow, status], float(count))
        return family

    def _attempts(self, client: Any, keys: Keys, ids: list[str], metas: dict[str, dict[str, str]]) -> Iterable[Metric]:
        attempts = GaugeMetricFamily(
            "coord_agent_attempts",
            "Agent attempts of the coordinations Redis holds, by outcome (running while one runs).",
            labels=["workflow", "agent", "outcome"],
        )
        durations = GaugeHistogramMetricFamily(
            "coord_agent_attempt_duration_seconds",
            "Run time of the finished agent attempts of the coordinations Redis holds.",
            labels=["workflow", "agent"],
        )
        counts: Counter[tuple[str, str, str]] = Counter()
        histograms: dict[tuple[str, str], _Histogram] = defaultdict(_Histogram)
        streams = _batched(client, ids, lambda pipe, cid: pipe.xrange(keys.coordination(cid).signals))
        for cid, entries in zip(ids, streams, strict=True):
            workflow = metas[cid].get("name", "")
            running = metas[cid].get("status") not in FINISHED_COORDINATION
            signals = [decode_signal(cid, entry_id, fields) for entry_id, fields in entries]
            end = signals[-1].timestamp if signals else None
            if end is None:
                continue
            for attempt in attempts_from_signals(signals, running=running, end=end):
                counts[(workflow, attempt.agent_id, attempt.outcome)] += 1
                if attempt.duration_ms is not None and attempt.outcome not in ("running", "unfinished"):
                    histograms[(workflow, attempt.agent_id)].observe(attempt.duration_ms / 1000)
        for outcome_labels, count in sorted(counts.items()):
            attempts.add_metric(list(outcome_labels), float(count))
        for agent_labels, histogram in sorted(histograms.items()):
            durations.add_metric(list(agent_labels), histogram.buckets(), histogram.sum)
        yield attempts
        yield durations

    def _waits(self, client: Any, keys: Keys, ids: list[str]) -> Metric:
        family = GaugeHistogramMetricFamily(
            "coord_dependency_wait_seconds",
            "How long settled dependencies of the coordinations Redis holds were waited for, by type.",
            labels=["type"],
        )
        members = _batched(client, ids, lambda pipe, cid: pipe.smembers(keys.coordination(cid).dependencies))
        records = [(cid, dep) for cid, deps in zip(ids, members, strict=True) for dep in sorted(deps)]
        fields = ("type", "status", "registered_ms", "resolved_ms")
        values = _batched(
            client, records, lambda pipe, item: pipe.hmget(keys.coordination(item[0]).dependency(item[1]), fields)
        )
        histograms: dict[str, _Histogram] = defaultdict(_Histogram)
        for kind, status, registered, resolved in values:
            if status in (None, "pending") or not registered or not resolved:
                continue
            histograms[kind or "unknown"].observe(max(0.0, (float(resolved) - float(registered)) / 1000))
        for kind, histogram in sorted(histograms.items()):
            family.add_metric([kind], histogram.buckets(), histogram.sum)
        return family

    def _queue_depth(self, default_queue: str) -> Metric:
        family = GaugeMetricFamily(
            "coord_queue_depth",
            "Messages waiting in the broker (not yet taken by a worker), by queue.",
            labels=["queue"],
        )
        queues = self._queues if self._queues is not None else [default_queue]
        broker = sync_client(str(get_settings().broker_url))
        with broker.pipeline(transaction=False) as pipe:
            for queue in queues:
                for suffix in _PRIORITY_SUFFIXES:
                    pipe.llen(queue + suffix)
            lengths = pipe.execute()
        for index, queue in enumerate(queues):
            part = lengths[index * len(_PRIORITY_SUFFIXES) : (index + 1) * len(_PRIORITY_SUFFIXES)]
            family.add_metric([queue], float(sum(part)))
        return family

    def _archive_lag(
        self,
        client: Any,
        keys: Keys,
        metas: dict[str, dict[str, str]],
        finished_at: dict[str, float],
        now_ms: float,
    ) -> Iterable[Metric]:
        done = [cid for cid in finished_at if cid in metas]
        fingerprints = client.hmget(keys.archive_cursors, [rows_cursor_field(cid) for cid in done]) if done else []
        pending = [
            cid for cid, fingerprint in zip(done, fingerprints, strict=True) if not archived_as_final(fingerprint)
        ]
        oldest = min((finished_at[cid] for cid in pending), default=None)
        yield _gauge(
            "coord_archive_pending_coordinations",
            "Finished coordinations whose final records are not in the archive yet.",
            len(pending),
        )
        yield _gauge(
            "coord_archive_lag_seconds",
            "How long the oldest finished coordination has waited to be archived (0 when none waits).",
            0.0 if oldest is None else max(0.0, (now_ms - oldest) / 1000),
        )


def _limits(keys: Keys, now_ms: int) -> Iterable[Metric]:
    """The use of every limit key of the namespace (what ``coord limits`` shows), one sample per key.

    A figure of a limit the key does not declare is left out (no concurrency: no slots to count).
    """
    uses = limit_uses(keys, now_ms)
    # (LimitUse attribute, metric, help, the declared limit the figure needs or None)
    figures = (
        ("running", "coord_limit_running", "Attempts holding a concurrency slot of the limit key.", "concurrency"),
        ("concurrency", "coord_limit_concurrency", "The limit key's declared concurrency.", "concurrency"),
        ("waiting", "coord_limit_waiting", "Deferred attempts waiting for the limit key.", None),
        ("started", "coord_limit_window_starts", "Starts within the limit key's rate window.", "rate"),
        ("tokens_used", "coord_limit_window_tokens", "Tokens used within the limit key's token window.", "tokens"),
        ("started_total", "coord_limit_started", "Attempts the limit key let start since it was first used.", None),
        ("deferred_total", "coord_limit_deferred", "Deferrals the limit key caused since it was first used.", None),
        ("tokens_total", "coord_limit_tokens", "Tokens charged to the limit key since it was first used.", None),
    )
    for attribute, name, documentation, needs in figures:
        family = GaugeMetricFamily(name, documentation, labels=["key"])
        for use in uses:
            if needs is None or getattr(use, needs) is not None:
                family.add_metric([use.key], float(getattr(use, attribute)))
        yield family


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))


def _batched(client: Any, items: Sequence[Any], command: Any) -> list[Any]:
    """Run ``command(pipe, item)`` for every item, ``_BATCH`` per round trip; the replies in order."""
    replies: list[Any] = []
    for start in range(0, len(items), _BATCH):
        with client.pipeline(transaction=False) as pipe:
            for item in items[start : start + _BATCH]:
                command(pipe, item)
            replies.extend(pipe.execute())
    return replies
