"""MetricsCollector and SmartRoutingOrchestrator: bad names, tags, values and routing arguments are refused.

A refused metric is not buffered (nothing reaches the metrics stream); a refused route records nothing.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coordination.errors import InvalidInputError
from coordination.limits import MAX_METRIC_NAME_LENGTH, MAX_TAG_KEY_LENGTH, MAX_TAG_VALUE_LENGTH, MAX_TAGS
from coordination.metrics import MetricsCollector
from coordination.metrics.models import MetricType, build_metric
from coordination.smart_routing import SmartRoutingOrchestrator

pytestmark = pytest.mark.redis

BAD_NAMES = [
    ("", "at least 1"),
    ("x" * (MAX_METRIC_NAME_LENGTH + 1), f"at most {MAX_METRIC_NAME_LENGTH}"),
    ("cpu\x1b[31m", "printable"),
    ("a\nb", "printable"),
    ("\u202eevil", "printable"),
    ("bad\ud800", "valid string"),
    (42, "valid string"),
]
BAD_TAGS = [
    ({"k": 3}, "tags.k"),
    ({"k\x00": "v"}, "tags['k\\x00'][key]"),
    ({"": "v"}, "tags[''][key]"),
    ({"k" * (MAX_TAG_KEY_LENGTH + 1): "v"}, "tags"),
    ({"k": "v" * (MAX_TAG_VALUE_LENGTH + 1)}, "tags.k"),
    ({"k": "\x1b]0;title\x07"}, "tags.k"),
    ({f"k{n}": "v" for n in range(MAX_TAGS + 1)}, "tags"),
    ("not a dict", "tags"),
]


@pytest.fixture
async def collector(store):
    metrics = MetricsCollector(kafka_enabled=False)
    yield metrics
    assert metrics.flush_now() == 0  # nothing refused was buffered


async def record(collector: MetricsCollector, kind: str, name: object = "m", value: object = 1.0, tags: object = None):
    calls = {
        "timing": lambda: collector.record_timing(name, value, tags),  # type: ignore[arg-type]
        "counter": lambda: collector.record_counter(name, value, tags),  # type: ignore[arg-type]
        "gauge": lambda: collector.record_gauge(name, value, "u", tags),  # type: ignore[arg-type]
        "rate": lambda: collector.record_rate(name, value, tags),  # type: ignore[arg-type]
    }
    await calls[kind]()


KINDS = ["timing", "counter", "gauge", "rate"]


@pytest.mark.parametrize(("name", "words"), BAD_NAMES, ids=repr)
@pytest.mark.parametrize("kind", KINDS)
async def test_bad_metric_names_are_refused_and_not_buffered(kind, name, words, collector):
    with pytest.raises(InvalidInputError) as raised:
        await record(collector, kind, name=name)
    assert raised.value.field == "metric_name" and words in raised.value.problem


@pytest.mark.parametrize(("tags", "field"), BAD_TAGS, ids=[repr(tags)[:30] for tags, _ in BAD_TAGS])
@pytest.mark.parametrize("kind", KINDS)
async def test_bad_tags_are_refused_and_not_buffered(kind, tags, field, collector):
    with pytest.raises(InvalidInputError) as raised:
        await record(collector, kind, tags=tags)
    assert raised.value.field.startswith(field)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "inf", "NaN", None, [1]])
@pytest.mark.parametrize("kind", KINDS)
async def test_non_finite_or_non_numeric_values_are_refused(kind, value, collector):
    with pytest.raises(InvalidInputError) as raised:
        await record(collector, kind, value=value)
    assert raised.value.field == "value"


@pytest.mark.parametrize("duration", [-0.001, -1, -1e300])
async def test_a_negative_duration_is_refused(duration, collector):
    with pytest.raises(InvalidInputError, match="duration") as raised:
        await collector.record_timing("elapsed", duration)
    assert raised.value.field == "value"


def test_the_never_raising_variants_drop_bad_metrics_silently(store):
    collector = MetricsCollector(kafka_enabled=False)
    with store.unchanged():
        collector.record_timing_nowait("elapsed", -5.0)
        collector.record_gauge_nowait("cpu\x1b[2J", 1.0, "u")
        collector.record_counter_nowait("c", 1, {"k": "v" * 1000})
        collector.record_many_nowait([("m", MetricType.GAUGE, math.nan, "u", None)])
    assert collector.flush_now() == 0


@settings(max_examples=100, deadline=None)
@given(name=st.text(max_size=120).filter(lambda text: not (0 < len(text) <= 100 and text.isprintable())))
def test_any_name_that_is_not_1_to_100_printable_characters_is_refused(name):
    with pytest.raises(InvalidInputError) as raised:
        build_metric(name, MetricType.GAUGE, 1.0, "u")
    assert raised.value.field == "metric_name"


# -- routing -----------------------------------------------------------------------------------------------------


@pytest.fixture
def orchestrator(seeded) -> SmartRoutingOrchestrator:
    return SmartRoutingOrchestrator(state=seeded["state"])


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"state": "not a dict"}, "state"),
        ({"state": None}, "state"),
        ({"current_task": ""}, "current_task"),
        ({"current_task": "x" * 257}, "current_task"),
        ({"current_task": 3}, "current_task"),
        ({"execution_time": math.nan}, "execution_time"),
        ({"execution_time": math.inf}, "execution_time"),
        ({"execution_time": -1}, "execution_time"),
        ({"execution_time": "5"}, "execution_time"),
        ({"retry_count": -1}, "retry_count"),
        ({"retry_count": 1.5}, "retry_count"),
        ({"custom_data": ["x"]}, "custom_data"),
        ({"correlation_id": 7}, "correlation_id"),
    ],
)
def test_route_refuses_bad_arguments_and_records_nothing(arguments, field, orchestrator, store):
    call = {"state": {"quality": 0.5}, "current_task": "validator-gen", **arguments}
    with store.unchanged(), pytest.raises(InvalidInputError) as raised:
        orchestrator.route(**call)
    assert raised.value.field == field


@pytest.mark.parametrize(
    "weights",
    [{"conditional": -1}, {"conditional": math.inf}, {"conditional": math.nan}, {"priority": "high"}, {"psychic": 1}],
    ids=repr,
)
def test_strategy_weights_are_checked_when_the_orchestrator_is_built(weights, seeded, store):
    with store.unchanged(), pytest.raises(InvalidInputError) as raised:
        SmartRoutingOrchestrator(state=seeded["state"], strategy_weights=weights)
    assert raised.value.field.startswith("strategy_weights")
