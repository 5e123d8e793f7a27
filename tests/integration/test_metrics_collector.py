"""MetricsCollector against a real Redis: record, flush, read back (from any collector or process), alerts.

Every test uses metric names of its own (the metrics stream is shared by the whole test session).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from coordination import SmartRoutingOrchestrator, StateAnalysisRouter
from coordination.errors import InvalidInputError, StoreUnavailableError
from coordination.metrics import (
    Alert,
    AlertRule,
    AlertSeverity,
    MetricsCollector,
    MetricTemplate,
    MetricType,
    counted,
    metric_template,
    timed,
    timing,
)
from coordination.metrics.alerting import AlertNotifier, AlertRuleEngine
from coordination.metrics.decorators import get_metrics_collector, set_metrics_collector
from coordination.metrics.storage import RedisMetricsWriter
from tests.conftest import SESSION_ROOT

pytestmark = pytest.mark.redis

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def name(redis_server: str) -> str:
    """A metric-name prefix no other test uses."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def make_collector(redis_server: str) -> Iterator[Callable[..., MetricsCollector]]:
    """Build collectors (Kafka off unless asked) and stop every started one at the end of the test."""
    made: list[MetricsCollector] = []

    def make(**kwargs: Any) -> MetricsCollector:
        kwargs.setdefault("kafka_enabled", False)
        collector = MetricsCollector(**kwargs)
        made.append(collector)
        return collector

    yield make
    for collector in made:
        if collector.running:
            collector.stop_sync()


@pytest.fixture
def global_collector(make_collector: Callable[..., MetricsCollector]) -> Iterator[MetricsCollector]:
    collector = make_collector()
    set_metrics_collector(collector)
    yield collector
    set_metrics_collector(None)


def _reader() -> MetricsCollector:
    """A fresh collector object: it can only see what reached Redis."""
    return MetricsCollector(kafka_enabled=False, postgres_enabled=False)


def _eventually(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


async def _eventually_async(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


# -- record, flush, read back -------------------------------------------------------------------------------


async def test_recorded_metrics_are_flushed_to_redis_and_read_back_by_a_new_collector(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    collector = make_collector()
    await collector.record_timing(f"{name}_ms", 12.5, tags={"agent_id": "model-gen"}, correlation_id="coord-1")
    await collector.record_counter(f"{name}_count", 3)
    await collector.record_gauge(f"{name}_bytes", 2048, "bytes")
    await collector.record_rate(f"{name}_rate", 97.5)

    await collector.flush()

    reader = _reader()
    [timing_metric] = reader.read_metrics(f"{name}_ms")
    assert timing_metric.value == 12.5
    assert timing_metric.unit == "ms"
    assert timing_metric.metric_type is MetricType.TIMING
    assert timing_metric.tags == {"agent_id": "model-gen"}
    assert timing_metric.correlation_id == "coord-1"
    assert timing_metric.timestamp.tzinfo is not None
    assert [(m.value, m.unit) for m in reader.read_metrics(f"{name}_count")] == [(3.0, "count")]
    assert [(m.value, m.unit) for m in reader.read_metrics(f"{name}_bytes")] == [(2048.0, "bytes")]
    assert [(m.value, m.unit) for m in reader.read_metrics(f"{name}_rate")] == [(97.5, "%")]
    assert (await collector.get_stats())["buffer_size"] == 0


def test_sync_records_are_flushed_by_flush_now_without_an_event_loop(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    collector = make_collector()
    collector.record_timing_nowait(f"{name}_ms", 1.0)
    collector.record_counter_nowait(f"{name}_ms", 2)
    collector.record_gauge_nowait(f"{name}_ms", 3.0, "items")
    collector.record_rate_nowait(f"{name}_ms", 4.0)

    assert collector.flush_now() == 4

    read = _reader().read_metrics(f"{name}_ms")
    assert sorted((m.metric_type.value, m.value, m.unit) for m in read) == [
        ("counter", 2.0, "count"),
        ("gauge", 3.0, "items"),
        ("rate", 4.0, "%"),
        ("timing", 1.0, "ms"),
    ]


def test_read_metrics_returns_newest_first_including_unflushed_ones_up_to_the_limit(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    collector = make_collector()
    for value in range(3):
        collector.record_counter_nowait(f"{name}_n", value)
    collector.flush_now()
    for value in range(3, 5):
        collector.record_counter_nowait(f"{name}_n", value)

    assert [m.value for m in collector.read_metrics(f"{name}_n")] == [4.0, 3.0, 2.0, 1.0, 0.0]
    assert [m.value for m in collector.read_metrics(f"{name}_n", limit=2)] == [4.0, 3.0]
    assert [m.value for m in _reader().read_metrics(f"{name}_n")] == [2.0, 1.0, 0.0]


def test_a_name_filter_finds_old_entries_behind_many_newer_ones(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    collector = make_collector(batch_size=500)
    collector.record_gauge_nowait(f"{name}_old", 1.0, "x")
    for _ in range(2500):
        collector.record_counter_nowait(f"{name}_noise")
    collector.flush_now()

    assert [m.value for m in _reader().read_metrics(f"{name}_old")] == [1.0]


def test_a_limit_that_is_not_positive_is_refused(make_collector: Callable[..., MetricsCollector]) -> None:
    with pytest.raises(InvalidInputError) as caught:
        make_collector().read_metrics(limit=0)

    assert caught.value.field == "limit"


@pytest.mark.parametrize("field", ["buffer_size", "batch_size", "flush_interval_ms"])
def test_sizes_and_intervals_must_be_positive(field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        MetricsCollector(**{field: 0})

    assert caught.value.field == field


def test_a_metric_recorded_in_another_process_is_read_back_here(name: str, redis_server: str) -> None:
    script = (
        "from coordination.metrics import MetricsCollector\n"
        "c = MetricsCollector(kafka_enabled=False, postgres_enabled=False)\n"
        f"c.record_counter_nowait('{name}_child', 7, tags={{'process': 'child'}})\n"
        "assert c.flush_now() == 1\n"
    )
    env = {**os.environ, "COORD_NAMESPACE": SESSION_ROOT}
    subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, check=True, timeout=60)

    [metric] = _reader().read_metrics(f"{name}_child")
    assert (metric.value, metric.tags) == (7.0, {"process": "child"})


# -- get_stats ---------------------------------------------------------------------------------------------


async def test_the_seed_guides_get_stats_snippet_reads_recorded_metrics(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    metrics = make_collector()
    correlation = f"{name}-coord"
    for value in (12.25, 37.75):
        await metrics.record_timing(
            "context_distribution_per_agent_ms",
            value,
            tags={"coordination_id": correlation},
            correlation_id=correlation,
        )
    await metrics.flush()
    await metrics.record_timing(
        "context_distribution_per_agent_ms",
        50.0,
        tags={"coordination_id": correlation},
        correlation_id=correlation,
    )  # not flushed yet: get_stats() still shows it

    # The seed guide's snippet, verbatim.
    stats = await metrics.get_stats()
    context_dist_times = [
        metric["value"] for metric in stats["metrics"] if metric["name"] == "context_distribution_per_agent_ms"
    ]

    mine = [m for m in stats["metrics"] if m["correlation_id"] == correlation]
    assert [m["value"] for m in mine] == [50.0, 37.75, 12.25]
    assert {12.25, 37.75, 50.0} <= set(context_dist_times)
    assert set(mine[0]) >= {"name", "value", "type", "unit", "tags", "timestamp", "correlation_id"}
    assert mine[0]["type"] == "timing" and mine[0]["unit"] == "ms"
    assert mine[0]["tags"] == {"coordination_id": correlation}
    assert len(stats["metrics"]) <= 1000
    assert (stats["buffer_size"], stats["buffer_capacity"], stats["metrics_since_flush"]) == (1, 10000, 1)


async def test_get_stats_counts_metrics_since_the_last_flush(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    collector = make_collector(buffer_size=50)
    for _ in range(3):
        await collector.record_counter(f"{name}_c")
    before = await collector.get_stats()
    await collector.flush()
    after = await collector.get_stats()

    assert (before["buffer_size"], before["metrics_since_flush"]) == (3, 3)
    assert (after["buffer_size"], after["metrics_since_flush"], after["buffer_capacity"]) == (0, 0, 50)
    assert after["metrics_flushed"] == 3


# -- background flushing -----------------------------------------------------------------------------------


async def test_after_start_metrics_are_flushed_in_the_background(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    collector = make_collector(flush_interval_ms=50)
    await collector.start()
    collector.record_timing_nowait(f"{name}_bg", 5.0)

    reader = _reader()
    found = await _eventually_async(lambda: reader.read_metrics(f"{name}_bg"), "the background flush")
    assert [m.value for m in found] == [5.0]
    await collector.stop()


def test_a_full_batch_wakes_the_flusher_before_the_interval(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    collector = make_collector(batch_size=10, flush_interval_ms=3_600_000)
    collector.start_sync()
    for value in range(10):
        collector.record_counter_nowait(f"{name}_batch", value)

    reader = _reader()
    found = _eventually(lambda: len(reader.read_metrics(f"{name}_batch")) == 10, "the batch flush")
    assert found


def test_an_early_flush_waits_until_recording_pauses(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    # A burst of work recording a metric every 2 ms fills many batches of 5; flushing each at once would make the
    # flusher compete with that work. Given a burst, when it stops, then the batches are flushed.
    collector = make_collector(batch_size=5, flush_interval_ms=3_600_000)
    collector.start_sync()
    reader = _reader()
    recorded = 0
    burst_end = time.monotonic() + 0.3
    while time.monotonic() < burst_end:
        collector.record_counter_nowait(f"{name}_burst", 1)
        recorded += 1
        time.sleep(0.002)
    flushed_during_the_burst = len(reader.read_metrics(f"{name}_burst"))

    assert _eventually(lambda: len(reader.read_metrics(f"{name}_burst")) == recorded, "the flush after the burst")
    assert flushed_during_the_burst < recorded / 2  # (flushed at every full batch, nearly all would be there)


async def test_stop_flushes_what_is_left(make_collector: Callable[..., MetricsCollector], name: str) -> None:
    collector = make_collector(batch_size=1000, flush_interval_ms=3_600_000)
    await collector.start()
    for value in range(5):
        await collector.record_gauge(f"{name}_left", value, "items")

    await collector.stop()

    assert not collector.running
    assert sorted(m.value for m in _reader().read_metrics(f"{name}_left")) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert (await collector.get_stats())["buffer_size"] == 0


async def test_start_and_stop_are_idempotent_and_a_collector_can_restart(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    collector = make_collector(flush_interval_ms=3_600_000)
    await collector.start()
    await collector.start()
    await collector.stop()
    await collector.stop()
    await collector.start()
    collector.record_counter_nowait(f"{name}_again")
    await collector.stop()

    assert len(_reader().read_metrics(f"{name}_again")) == 1


def test_a_forked_child_does_not_flush_its_parents_pending_metrics(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    collector = make_collector()
    for value in range(3):
        collector.record_counter_nowait(f"{name}_parent", value)

    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 1
        try:
            if collector.read_metrics(f"{name}_parent") == []:
                collector.record_counter_nowait(f"{name}_child", 1)
                code = 0 if collector.flush_now() == 1 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    collector.flush_now()

    assert os.waitstatus_to_exitcode(status) == 0
    assert len(_reader().read_metrics(f"{name}_parent")) == 3
    assert len(_reader().read_metrics(f"{name}_child")) == 1


# -- bad input -----------------------------------------------------------------------------------------------


async def test_a_non_string_tag_is_refused_by_the_async_api_and_nothing_is_recorded(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    collector = make_collector()

    with pytest.raises(InvalidInputError) as caught:
        await collector.record_timing(f"{name}_bad", 1.0, tags={"agent_count": 3})  # type: ignore[dict-item]

    assert caught.value.field == "tags.agent_count"
    assert collector.read_metrics(f"{name}_bad") == []
    await collector.flush()
    assert _reader().read_metrics(f"{name}_bad") == []


def test_the_nowait_api_never_raises_on_bad_input_and_records_nothing(
    make_collector: Callable[..., MetricsCollector], name: str, caplog: pytest.LogCaptureFixture
) -> None:
    collector = make_collector()
    caplog.set_level(logging.DEBUG, logger="coordination.metrics")

    collector.record_timing_nowait(f"{name}_bad", 1.0, tags={"agent_count": 3})  # type: ignore[dict-item]
    collector.record_counter_nowait(f"{name}_bad", tags=["not", "a", "dict"])  # type: ignore[arg-type]
    collector.record_gauge_nowait(f"{name}_bad", float("nan"), "x")
    collector.record_rate_nowait("", 1.0)
    collector.record_gauge_nowait(f"{name}_bad", 1.0, "")
    collector.record_timing_nowait(f"{name}_bad", "slow")  # type: ignore[arg-type]

    assert collector.read_metrics(f"{name}_bad") == []
    assert collector.flush_now() == 0
    assert _reader().read_metrics(f"{name}_bad") == []
    assert "tags.agent_count" in caplog.text


def test_record_many_keeps_the_good_records_and_drops_the_bad_ones(
    make_collector: Callable[..., MetricsCollector], name: str, caplog: pytest.LogCaptureFixture
) -> None:
    collector = make_collector(buffer_size=3)
    caplog.set_level(logging.DEBUG, logger="coordination.metrics")

    collector.record_many_nowait(
        [
            (f"{name}_many", MetricType.TIMING, 1.5, "ms", {"step": "a"}),
            (f"{name}_many", MetricType.GAUGE, float("nan"), "x", None),
            (f"{name}_many", MetricType.COUNTER, 2, "count", {"step": 3}),  # type: ignore[dict-item]
            (f"{name}_many", MetricType.COUNTER, 2, "count", None),
        ],
        correlation_id="c-many",
    )
    assert "tags.step" in caplog.text
    assert collector.flush_now() == 2
    read = _reader().read_metrics(f"{name}_many")  # newest first by timestamp: records of one call may tie
    assert sorted((m.metric_type.value, m.value, m.tags, m.correlation_id) for m in read) == [
        ("counter", 2.0, {}, "c-many"),
        ("timing", 1.5, {"step": "a"}, "c-many"),
    ]

    # More records than the buffer holds: the oldest are overwritten, and that is counted.
    collector.record_many_nowait([(f"{name}_over", MetricType.COUNTER, n, "count", None) for n in range(5)])
    assert sorted(m.value for m in collector.read_metrics(f"{name}_over")) == [2.0, 3.0, 4.0]
    assert asyncio.run(collector.get_stats())["metrics_overwritten"] == 2


def test_templates_record_what_record_many_records_and_drop_bad_values(
    make_collector: Callable[..., MetricsCollector], name: str, caplog: pytest.LogCaptureFixture
) -> None:
    collector = make_collector()
    caplog.set_level(logging.DEBUG, logger="coordination.metrics")
    timing_template = metric_template(f"{name}_tpl", MetricType.TIMING, "ms", {"step": "a"})
    counter_template = metric_template(f"{name}_tpl", MetricType.COUNTER, "count")

    collector.record_templates_nowait([(timing_template, 1.5), (counter_template, 2)], correlation_id="c-tpl")
    collector.record_templates_nowait([(timing_template, -1.0), (counter_template, math.inf)])  # both refused
    collector.record_templates_nowait([(counter_template, 3)], correlation_id="bad\nid")  # refused id
    collector.record_templates_nowait([(counter_template, "4")], correlation_id="c-lax")  # as Metric takes it
    collector.record_many_nowait(
        [
            (f"{name}_tpl", MetricType.TIMING, 1.5, "ms", {"step": "a"}),
            (f"{name}_tpl", MetricType.COUNTER, 2, "count", None),
        ],
        correlation_id="c-many",
    )

    assert "not recorded" in caplog.text
    local = collector.read_metrics(f"{name}_tpl")
    local[0].tags["changed"] = "by a reader"  # every metric gets its own copy of the template's tags
    assert collector.flush_now() == 5
    stored = _reader().read_metrics(f"{name}_tpl")
    assert len({m.metric_id for m in stored}) == 5
    by_origin = sorted((m.correlation_id, m.metric_type.value, m.value, m.unit, m.tags) for m in stored)
    assert by_origin == [
        ("c-lax", "counter", 4.0, "count", {}),
        ("c-many", "counter", 2.0, "count", {}),
        ("c-many", "timing", 1.5, "ms", {"step": "a"}),
        ("c-tpl", "counter", 2.0, "count", {}),
        ("c-tpl", "timing", 1.5, "ms", {"step": "a"}),
    ]
    assert timing_template.tags == {"step": "a"}


def test_only_checked_templates_take_the_fast_path_and_a_bad_record_never_costs_the_others(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    collector = make_collector()
    template = metric_template(f"{name}_safe", MetricType.GAUGE, "count", {"step": "parse"})
    with pytest.raises(TypeError):
        MetricTemplate(f"{name}_safe", MetricType.GAUGE, "ms", None)  # only metric_template() makes one
    with pytest.raises(AttributeError):
        template.unit = "ms"  # type: ignore[misc]
    with pytest.raises(TypeError):
        template.tags["step"] = "changed\x1b[31m"  # type: ignore[index]
    hand_made = (f"{name}_safe", MetricType.GAUGE, "ms", None)

    collector.record_templates_nowait(
        [(template, 1.0), (template, 10**400), (hand_made, 5.0), ("not a record",), (template, 2.0)],  # type: ignore[list-item]
        correlation_id="c-safe",
    )
    collector.record_templates_nowait(None)  # type: ignore[arg-type]  # not even records: nothing, and no error

    assert sorted(m.value for m in collector.read_metrics(f"{name}_safe")) == [1.0, 2.0]
    assert collector.flush_now() == 2
    assert [m.tags for m in _reader().read_metrics(f"{name}_safe")] == [{"step": "parse"}] * 2


class _Unreadable:
    """A record whose unpacking fails with something other than TypeError/ValueError."""

    def __iter__(self) -> Iterator[object]:
        raise RuntimeError("cannot iterate")


def test_records_that_are_not_plain_pairs_are_each_taken_once_and_never_raise(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    timing = metric_template(f"{name}_odd", MetricType.TIMING, "ms", {"k": "v"})
    counter = metric_template(f"{name}_odd_count", MetricType.COUNTER, "count")

    def failing_record() -> Iterator[object]:
        yield timing
        raise KeyError("gone")

    collector = make_collector()
    collector.record_templates_nowait([_Unreadable(), (counter, 1)], "c-1")  # type: ignore[list-item]
    collector.record_templates_nowait([failing_record(), (counter, 2)], "c-1")  # type: ignore[list-item]
    # A one-shot record beside one that needs the slow path ("3"): still recorded, and only once.
    collector.record_templates_nowait([iter((timing, 1.0)), (counter, "3")], "c-1")  # type: ignore[list-item]
    collector.record_templates_nowait([[timing, 2.0]], "c-1")  # type: ignore[list-item]  # a list pair
    recorded = [
        (m.metric_name, m.value)
        for m in [*collector.read_metrics(f"{name}_odd"), *collector.read_metrics(f"{name}_odd_count")]
    ]
    assert sorted(recorded) == sorted(
        [
            (f"{name}_odd_count", 1.0),
            (f"{name}_odd_count", 2.0),
            (f"{name}_odd", 1.0),
            (f"{name}_odd_count", 3.0),
            (f"{name}_odd", 2.0),
        ]
    )


def test_routing_decisions_are_recorded_as_a_timing_and_a_counter(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    collector = make_collector()
    orchestrator = SmartRoutingOrchestrator(metrics_collector=collector)
    orchestrator.add_router(StateAnalysisRouter())
    decision = orchestrator.route({"error": "boom"}, "task-1", correlation_id=name)
    assert collector.flush_now() == 2
    reader = _reader()
    (timing_metric,) = [m for m in reader.read_metrics("routing_decision_time_ms") if m.correlation_id == name]
    (counter_metric,) = [m for m in reader.read_metrics("routing_decisions_count") if m.correlation_id == name]
    assert timing_metric.value == pytest.approx(decision["routing_time_ms"])
    assert timing_metric.tags == {"decision": "retry", "strategy": "state_analysis"}
    assert (counter_metric.value, counter_metric.tags) == (1.0, {"decision": "retry"})


def test_a_store_outage_keeps_metrics_buffered_and_says_so(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    no_retry = Retry(NoBackoff(), 0)
    dead = redis.Redis(port=1, socket_connect_timeout=0.2, decode_responses=True, retry=no_retry)
    collector = make_collector(writer=RedisMetricsWriter(client=dead))
    collector.record_counter_nowait(f"{name}_kept")

    with pytest.raises(StoreUnavailableError):
        collector.flush_now()
    stats = asyncio.run(collector.get_stats())

    assert stats["buffer_size"] == 1
    assert stats["flush_errors"] == 1
    assert "unreachable" in stats["store_error"]
    assert [m["name"] for m in stats["metrics"]] == [f"{name}_kept"]


def test_a_full_buffer_overwrites_the_oldest_unflushed_metrics_and_counts_them(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    collector = make_collector(buffer_size=3)
    for value in range(5):
        collector.record_counter_nowait(f"{name}_ring", value)

    collector.flush_now()

    assert [m.value for m in _reader().read_metrics(f"{name}_ring")] == [4.0, 3.0, 2.0]
    assert asyncio.run(collector.get_stats())["metrics_overwritten"] == 2


# -- Kafka and PostgreSQL options ----------------------------------------------------------------------------


async def test_kafka_enabled_without_servers_warns_that_metrics_stay_in_redis(
    make_collector: Callable[..., MetricsCollector],
) -> None:
    # The seed guide's "Enable Metrics" example.
    metrics = make_collector(buffer_size=1000, kafka_enabled=True, postgres_enabled=True)

    with pytest.warns(UserWarning, match="metrics stay in the Redis stream"):
        await metrics.start()


async def test_kafka_servers_without_a_client_library_warn_instead_of_dropping_metrics(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    collector = make_collector(kafka_enabled=True)

    with pytest.warns(UserWarning, match="Kafka client library"):
        await collector.start(kafka_bootstrap_servers="localhost:9092")
    await collector.record_counter(f"{name}_kafka")
    await collector.stop()

    assert len(_reader().read_metrics(f"{name}_kafka")) == 1


async def test_without_kafka_start_does_not_warn_and_logs_where_postgres_archiving_happens(
    make_collector: Callable[..., MetricsCollector], caplog: pytest.LogCaptureFixture
) -> None:
    collector = make_collector(kafka_enabled=False, postgres_enabled=True)
    caplog.set_level(logging.INFO, logger="coordination.metrics")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await collector.start(postgres_url="postgresql://ignored/db")

    assert "beat archive task" in caplog.text


# -- decorators ----------------------------------------------------------------------------------------------


def test_decorated_sync_functions_record_outside_any_event_loop(global_collector: MetricsCollector, name: str) -> None:
    @timed(f"{name}_route_ms", tags={"strategy": "conditional"})
    @counted(f"{name}_route_calls")
    def route(x: int) -> str:
        with pytest.raises(RuntimeError):
            asyncio.get_running_loop()  # proves there is no loop, where the seed's decorator raised
        return f"decision-{x}"

    assert [route(i) for i in range(3)] == ["decision-0", "decision-1", "decision-2"]
    assert route.__name__ == "route"
    global_collector.flush_now()

    reader = _reader()
    timings = reader.read_metrics(f"{name}_route_ms")
    assert len(timings) == 3
    assert all(m.unit == "ms" and m.value >= 0 and m.tags == {"strategy": "conditional"} for m in timings)
    assert [m.value for m in reader.read_metrics(f"{name}_route_calls")] == [1.0, 1.0, 1.0]


def test_a_decorated_function_that_raises_keeps_its_exception_and_is_still_measured(
    global_collector: MetricsCollector, name: str
) -> None:
    @timed(f"{name}_fail_ms")
    @counted(f"{name}_fail_calls")
    def fail() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        fail()

    assert len(global_collector.read_metrics(f"{name}_fail_ms")) == 1
    assert len(global_collector.read_metrics(f"{name}_fail_calls")) == 1


async def test_decorated_async_functions_record(global_collector: MetricsCollector, name: str) -> None:
    @timed(f"{name}_async_ms")
    @counted(f"{name}_async_calls")
    async def work(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    assert await work(21) == 42
    await global_collector.flush()

    assert len(_reader().read_metrics(f"{name}_async_ms")) == 1
    assert len(_reader().read_metrics(f"{name}_async_calls")) == 1


def test_decorators_do_nothing_without_a_global_collector(name: str) -> None:
    assert get_metrics_collector() is None

    @timed(f"{name}_none_ms")
    def f() -> int:
        return 1

    assert f() == 1


def test_a_bad_decorator_declaration_fails_when_it_is_applied() -> None:
    with pytest.raises(InvalidInputError) as caught:
        timed("x_ms", tags={"count": 1})  # type: ignore[dict-item]
    assert caught.value.field == "tags.count"
    with pytest.raises(InvalidInputError):
        counted("")


async def test_the_timing_context_manager_records_with_an_explicit_or_the_global_collector(
    make_collector: Callable[..., MetricsCollector], global_collector: MetricsCollector, name: str
) -> None:
    explicit = make_collector()

    async with timing(f"{name}_block_ms", tags={"phase": "a"}, collector=explicit) as measured:
        await asyncio.sleep(0)
    with timing(f"{name}_sync_block_ms"):
        pass

    assert measured.duration_ms is not None and measured.duration_ms >= 0
    [metric] = explicit.read_metrics(f"{name}_block_ms")
    assert metric.tags == {"phase": "a"}
    assert len(global_collector.read_metrics(f"{name}_sync_block_ms")) == 1


# -- alerts --------------------------------------------------------------------------------------------------


class _RecordingNotifier(AlertNotifier):
    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self.threads: list[str] = []

    async def notify(self, alert: Alert) -> None:
        self.threads.append(threading.current_thread().name)
        self.alerts.append(alert)


async def test_alert_rules_fire_for_flushed_metrics_in_the_flusher_thread(
    make_collector: Callable[..., MetricsCollector], name: str
) -> None:
    notifier = _RecordingNotifier()
    rule = AlertRule(metric_name=f"{name}_lat_ms", threshold=100.0, operator="gt", severity=AlertSeverity.CRITICAL)
    engine = AlertRuleEngine(rules=[rule], notifiers=[notifier])
    collector = make_collector(flush_interval_ms=3_600_000)
    await collector.start(alert_engine=engine)

    await collector.record_timing(f"{name}_lat_ms", 250.0, correlation_id="coord-7")
    await collector.record_timing(f"{name}_lat_ms", 50.0)
    collector.record_timing_nowait(f"{name}_lat_ms", 101.0)
    await collector.flush()

    await _eventually_async(lambda: len(notifier.alerts) == 2, "two alerts")
    assert sorted(a.actual_value for a in notifier.alerts) == [101.0, 250.0]
    first = next(a for a in notifier.alerts if a.actual_value == 250.0)
    assert first.severity is AlertSeverity.CRITICAL
    assert first.correlation_id == "coord-7"
    assert first.message == f"{name}_lat_ms gt 100.0: actual=250.0"
    assert all(thread.startswith("metrics-flusher") for thread in notifier.threads)
    await collector.stop()
    assert len(notifier.alerts) == 2
