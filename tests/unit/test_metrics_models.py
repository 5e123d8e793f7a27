"""Metric and alert models, and the alert rule engine: seed shapes, strict checking, aware UTC timestamps."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from coordination.errors import InvalidInputError
from coordination.limits import MAX_TAG_KEY_LENGTH, MAX_TAG_VALUE_LENGTH, MAX_TAGS
from coordination.metrics import Alert, AlertRule, AlertSeverity, Metric, MetricType
from coordination.metrics.alerting import AlertNotifier, AlertRuleEngine, KafkaAlertNotifier, LogAlertNotifier
from coordination.metrics.models import (
    AlertEvent,
    MetricEvent,
    build_metric,
    materialize,
    metric_template,
    pending_from_template,
    pending_from_templates,
)
from coordination.metrics.storage import KafkaMetricsWriter, PostgreSQLMetricsWriter
from coordination.models.seed import SeedCompatibilityWarning, forget_warnings


def _metric(name: str = "routing_decision_time_ms", value: float = 1.5, **extra: object) -> Metric:
    return Metric(metric_name=name, metric_type=MetricType.TIMING, value=value, unit="ms", **extra)  # type: ignore[arg-type]


# -- Metric ----------------------------------------------------------------------------------------------


def test_a_metric_gets_an_id_an_aware_utc_timestamp_and_empty_tags_by_default() -> None:
    metric = _metric()

    assert len(metric.metric_id) == 36
    assert metric.timestamp.tzinfo is not None
    assert metric.timestamp.utcoffset() == timedelta(0)
    assert metric.tags == {}
    assert metric.correlation_id is None and metric.agent_id is None


def test_enum_values_are_the_seeds() -> None:
    assert [m.value for m in MetricType] == ["timing", "counter", "gauge", "rate"]
    assert [s.value for s in AlertSeverity] == ["CRITICAL", "WARNING", "INFO"]


def test_a_tag_value_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"tags\.count"):
        _metric(tags={"count": 3})


def test_an_unknown_field_is_ignored_as_in_the_seed_with_a_warning() -> None:
    forget_warnings()
    with pytest.warns(SeedCompatibilityWarning, match="Metric: unknown field 'colour'"):
        metric = _metric(colour="red")
    assert "colour" not in metric.model_dump()


@pytest.mark.parametrize("name", ["", "x" * 101])
def test_a_metric_name_must_have_1_to_100_characters(name: str) -> None:
    with pytest.raises(ValidationError, match="metric_name"):
        _metric(name=name)


@pytest.mark.parametrize("unit", ["", "u" * 21])
def test_a_unit_must_have_1_to_20_characters(unit: str) -> None:
    with pytest.raises(ValidationError, match="unit"):
        Metric(metric_name="m", metric_type=MetricType.GAUGE, value=1.0, unit=unit)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_value_that_json_cannot_carry_is_refused(value: float) -> None:
    with pytest.raises(ValidationError, match="value"):
        _metric(value=value)


def test_a_naive_timestamp_is_taken_as_utc_and_an_aware_one_is_converted_to_utc() -> None:
    naive = _metric(timestamp=datetime(2024, 5, 1, 12, 0, 0))
    plus_two = _metric(timestamp=datetime(2024, 5, 1, 14, 0, 0, tzinfo=timezone(timedelta(hours=2))))

    assert naive.timestamp == datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert plus_two.timestamp == naive.timestamp
    assert plus_two.timestamp.tzinfo == UTC


def test_a_metric_survives_a_json_round_trip_unchanged() -> None:
    metric = _metric(tags={"decision": "continue"}, correlation_id="coord-1", agent_id="model-gen")

    assert Metric.model_validate_json(metric.model_dump_json()) == metric
    assert metric.model_dump(mode="json")["timestamp"].endswith("Z")


def test_assignment_is_validated_like_construction() -> None:
    metric = _metric()

    with pytest.raises(ValidationError):
        metric.tags = {"n": 1}  # type: ignore[dict-item]


def test_the_stats_entry_carries_the_keys_the_seed_guide_reads() -> None:
    metric = _metric(name="context_distribution_per_agent_ms", value=12.5, tags={"coordination_id": "c1"})

    entry = metric.as_stats_entry()

    assert entry["name"] == "context_distribution_per_agent_ms"
    assert entry["value"] == 12.5
    assert entry["type"] == "timing"
    assert entry["unit"] == "ms"
    assert entry["tags"] == {"coordination_id": "c1"}
    assert entry["timestamp"] == metric.timestamp.isoformat()
    assert entry["correlation_id"] is None


def test_build_metric_names_the_offending_tag_in_the_package_error() -> None:
    with pytest.raises(InvalidInputError) as caught:
        build_metric("m", MetricType.COUNTER, 1, "count", {"agent_count": 3})  # type: ignore[dict-item]

    assert caught.value.field == "tags.agent_count"
    assert "string" in caught.value.problem


def test_build_metric_names_a_bad_name() -> None:
    with pytest.raises(InvalidInputError) as caught:
        build_metric("", MetricType.COUNTER, 1, "count")

    assert caught.value.field == "metric_name"


# -- AlertRule and Alert ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "value", "fires"),
    [
        ("gt", 10.0, False),
        ("gt", 10.1, True),
        ("gte", 10.0, True),
        ("gte", 9.9, False),
        ("lt", 10.0, False),
        ("lt", 9.9, True),
        ("lte", 10.0, True),
        ("lte", 10.1, False),
    ],
)
def test_a_rule_fires_when_the_value_crosses_its_threshold(operator: str, value: float, fires: bool) -> None:
    rule = AlertRule(metric_name="m_ms", threshold=10.0, operator=operator, severity=AlertSeverity.WARNING)

    alert = rule.evaluate(_metric(name="m_ms", value=value))

    assert (alert is not None) is fires


def test_an_alert_carries_the_rule_and_metric_details_and_the_formatted_message() -> None:
    rule = AlertRule(metric_name="m_ms", threshold=5.0, operator="gt", severity=AlertSeverity.CRITICAL)
    metric = _metric(name="m_ms", value=7.5, tags={"agent_id": "a"}, correlation_id="c9")

    alert = rule.evaluate(metric)

    assert alert is not None
    assert alert.severity is AlertSeverity.CRITICAL
    assert (alert.metric_name, alert.threshold, alert.actual_value) == ("m_ms", 5.0, 7.5)
    assert alert.message == "m_ms gt 5.0: actual=7.5"
    assert alert.tags == {"agent_id": "a"}
    assert alert.correlation_id == "c9"
    assert alert.timestamp.tzinfo == UTC


def test_a_rule_ignores_other_metrics() -> None:
    rule = AlertRule(metric_name="m_ms", threshold=0.0, operator="gt", severity=AlertSeverity.INFO)

    assert rule.evaluate(_metric(name="other_ms", value=99.0)) is None


def test_an_unknown_operator_is_refused() -> None:
    with pytest.raises(ValidationError, match="operator"):
        AlertRule(metric_name="m", threshold=1.0, operator="eq", severity=AlertSeverity.INFO)


def test_a_message_template_with_an_unknown_placeholder_is_refused_when_the_rule_is_declared() -> None:
    with pytest.raises(ValidationError, match="message_template"):
        AlertRule(
            metric_name="m",
            threshold=1.0,
            operator="gt",
            severity=AlertSeverity.INFO,
            message_template="{agent}",
        )


def test_rules_and_alerts_are_immutable() -> None:
    rule = AlertRule(metric_name="m", threshold=1.0, operator="gt", severity=AlertSeverity.INFO)
    alert = Alert(severity=AlertSeverity.INFO, metric_name="m", threshold=1.0, actual_value=2.0, message="hi")

    with pytest.raises(ValidationError):
        rule.threshold = 2.0  # type: ignore[misc]
    with pytest.raises(ValidationError):
        alert.message = "changed"  # type: ignore[misc]


# -- events ----------------------------------------------------------------------------------------------


def test_a_metric_event_wraps_a_metric_in_the_seed_envelope() -> None:
    metric = _metric(tags={"k": "v"}, correlation_id="c1")

    event = MetricEvent.from_metric(metric)

    assert (event.event_type, event.event_version, event.source_service) == (
        "metric.recorded",
        "v1",
        "omninode-bridge",
    )
    assert event.correlation_id == "c1"
    assert event.payload.metric_id == metric.metric_id
    assert event.payload.metric_type == "timing"
    assert event.timestamp.tzinfo == UTC


def test_an_alert_event_wraps_an_alert() -> None:
    alert = Alert(severity=AlertSeverity.WARNING, metric_name="m", threshold=1.0, actual_value=2.0, message="x")

    event = AlertEvent.from_alert(alert)

    assert event.event_type == "alert.triggered"
    assert event.payload.alert_id == alert.alert_id


# -- AlertRuleEngine -------------------------------------------------------------------------------------


class _Recorder(AlertNotifier):
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    async def notify(self, alert: Alert) -> None:
        self.alerts.append(alert)


class _Broken(AlertNotifier):
    async def notify(self, alert: Alert) -> None:
        raise RuntimeError("notifier down")


def _rule(name: str = "m_ms", threshold: float = 1.0) -> AlertRule:
    return AlertRule(metric_name=name, threshold=threshold, operator="gt", severity=AlertSeverity.WARNING)


async def test_the_engine_returns_and_notifies_the_alerts_of_a_metric() -> None:
    recorder = _Recorder()
    engine = AlertRuleEngine(rules=[_rule(), _rule(threshold=100.0), _rule(name="other")], notifiers=[recorder])

    alerts = await engine.evaluate_metric(_metric(name="m_ms", value=5.0))

    assert len(alerts) == 1
    assert recorder.alerts == alerts


async def test_a_failing_notifier_does_not_stop_the_others() -> None:
    recorder = _Recorder()
    engine = AlertRuleEngine(rules=[_rule()], notifiers=[_Broken(), recorder, LogAlertNotifier()])

    alerts = await engine.evaluate_metric(_metric(name="m_ms", value=5.0))

    assert len(alerts) == 1
    assert recorder.alerts == alerts


def test_rules_are_listed_and_found_by_metric_name() -> None:
    first, second, third = _rule(), _rule(threshold=9.0), _rule(name="other")
    engine = AlertRuleEngine()
    for rule in (first, second, third):
        engine.add_rule(rule)

    assert engine.get_rules() == [first, second, third]
    assert engine.get_rules_for_metric("m_ms") == [first, second]
    assert engine.get_rules_for_metric("missing") == []


def test_adding_a_rule_with_the_same_id_replaces_it() -> None:
    rule = _rule()
    engine = AlertRuleEngine(rules=[rule])

    engine.add_rule(rule.model_copy(update={"threshold": 50.0}))

    assert [r.threshold for r in engine.get_rules_for_metric("m_ms")] == [50.0]


def test_the_engine_refuses_what_is_not_a_rule_or_a_notifier() -> None:
    engine = AlertRuleEngine()

    with pytest.raises(InvalidInputError, match="rule"):
        engine.add_rule({"metric_name": "m"})  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="notifier"):
        engine.add_notifier(print)  # type: ignore[arg-type]


def test_kafka_classes_say_that_their_client_library_is_not_installed() -> None:
    with pytest.raises(RuntimeError, match="Kafka client library"):
        KafkaAlertNotifier("localhost:9092")
    with pytest.raises(RuntimeError, match="Kafka client library"):
        KafkaMetricsWriter("localhost:9092")


def test_the_postgresql_writer_points_to_the_beat_archive() -> None:
    with pytest.raises(NotImplementedError, match="beat archive"):
        PostgreSQLMetricsWriter("postgresql://localhost/db")


def test_a_metric_recorded_on_the_hot_path_becomes_the_same_validated_metric_every_time():
    import uuid as _uuid

    from coordination.metrics.models import Metric, MetricType, materialize, pending_metric

    pending = pending_metric("routing_decision_time_ms", MetricType.TIMING, 0.5, "ms", {"decision": "retry"}, "c-1")
    assert pending is not None
    first, again = materialize(pending), materialize(pending)
    assert first.metric_id == again.metric_id and first.timestamp == again.timestamp
    assert _uuid.UUID(first.metric_id).version == 4
    assert first == Metric.model_validate(first.model_dump())  # what validation would have built
    assert first.timestamp.tzinfo is not None


def test_values_the_metric_model_would_refuse_are_not_recorded_on_the_hot_path():
    from coordination.metrics.models import MetricType, pending_metric

    assert pending_metric("x", MetricType.GAUGE, float("nan"), "ms", None, None) is None
    assert pending_metric("x", MetricType.GAUGE, 1.0, "ms", {"count": 3}, None) is None  # type: ignore[dict-item]
    assert pending_metric("", MetricType.GAUGE, 1.0, "ms", None, None) is None
    assert pending_metric("x", MetricType.GAUGE, True, "ms", None, None) is None


# -- bounds: printable names, bounded tags, finite values, durations >= 0 ---------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"metric_name": "cpu\x1b[31m"}, "metric_name"),
        ({"metric_name": "a\nb"}, "metric_name"),
        ({"metric_name": "x" * 101}, "metric_name"),
        ({"unit": "m\ts"}, "unit"),
        ({"value": -0.5, "metric_type": MetricType.TIMING}, "value"),
        ({"value": math.inf}, "value"),
        ({"value": -math.inf}, "value"),
        ({"tags": {"k\x00": "v"}}, "tags['k\\x00'][key]"),
        ({"tags": {"": "v"}}, "tags[''][key]"),
        ({"tags": {"k" * (MAX_TAG_KEY_LENGTH + 1): "v"}}, "tags"),
        ({"tags": {"k": "v" * (MAX_TAG_VALUE_LENGTH + 1)}}, "tags.k"),
        ({"tags": {"k": "\x1b]0;title\x07"}}, "tags.k"),
        ({"tags": {f"k{i}": "v" for i in range(MAX_TAGS + 1)}}, "tags"),
        ({"correlation_id": "c" * 257}, "correlation_id"),
        ({"correlation_id": "c\r"}, "correlation_id"),
    ],
)
def test_metrics_outside_their_bounds_are_refused_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "metric_name": "m",
        "metric_type": MetricType.GAUGE,
        "value": 1.0,
        "unit": "u",
        "tags": None,
        "correlation_id": None,
    }
    values.update(kwargs)
    with pytest.raises(InvalidInputError) as refused:
        build_metric(**values)  # type: ignore[arg-type]
    assert refused.value.field.startswith(field)
    assert "\x1b" not in str(refused.value) and "\n" not in str(refused.value)


def test_negative_values_are_fine_for_gauges_and_counters_but_not_for_timings() -> None:
    assert build_metric("delta", MetricType.GAUGE, -3.0, "u").value == -3.0
    assert build_metric("delta", MetricType.COUNTER, -1, "count").value == -1.0
    with pytest.raises(InvalidInputError, match="duration"):
        build_metric("elapsed", MetricType.TIMING, -1.0, "ms")


names = st.text(max_size=110)
tag_maps = st.dictionaries(st.text(max_size=110), st.text(max_size=270), max_size=MAX_TAGS + 2)


@settings(max_examples=300)
@given(
    name=names,
    kind=st.sampled_from(list(MetricType)),
    value=st.floats() | st.integers(-(10**6), 10**6),
    unit=st.text(max_size=22),
    tags=st.none() | tag_maps,
    correlation_id=st.none() | st.text(max_size=260),
)
def test_the_hot_path_accepts_exactly_what_the_model_accepts(name, kind, value, unit, tags, correlation_id) -> None:
    from coordination.metrics.models import pending_metric

    try:
        build_metric(name, kind, value, unit, tags, correlation_id)
        accepted = True
    except InvalidInputError:
        accepted = False
    assert (pending_metric(name, kind, value, unit, tags, correlation_id) is not None) is accepted


def test_a_metric_template_checks_its_fields_once_and_names_a_bad_one() -> None:
    with pytest.raises(InvalidInputError) as bad_tag:
        metric_template("m", MetricType.GAUGE, "u", {"agent_count": 3})  # type: ignore[dict-item]
    assert bad_tag.value.field == "tags.agent_count"
    with pytest.raises(InvalidInputError) as bad_unit:
        metric_template("m", MetricType.GAUGE, "")
    assert bad_unit.value.field == "unit"
    with pytest.raises(InvalidInputError) as bad_type:
        metric_template("m", "histogram", "u")  # type: ignore[arg-type]
    assert bad_type.value.field == "metric_type"
    assert metric_template("m", "timing", "ms").metric_type is MetricType.TIMING  # type: ignore[arg-type]


def test_a_metric_recorded_from_a_template_is_the_metric_build_metric_would_make() -> None:
    template = metric_template("routing_decision_time_ms", MetricType.TIMING, "ms", {"decision": "continue"})
    pending = pending_from_template(template, 0.25, "coord-1")
    assert pending is not None
    metric = materialize(pending)
    expected = build_metric(
        "routing_decision_time_ms", MetricType.TIMING, 0.25, "ms", {"decision": "continue"}, "coord-1"
    )
    assert metric.model_dump(exclude={"metric_id", "timestamp"}) == expected.model_dump(
        exclude={"metric_id", "timestamp"}
    )
    assert Metric.model_validate(metric.model_dump()) == metric  # what was skipped would have passed
    assert materialize(pending) == metric  # the same metric however often it is read


@pytest.mark.parametrize(
    ("value", "correlation_id"),
    [(-0.1, None), (math.nan, None), (math.inf, None), ("1", None), (True, None), (1.0, "x" * 257), (1.0, "a\tb")],
)
def test_a_template_takes_only_plain_valid_values_on_its_fast_path(value: object, correlation_id: str | None) -> None:
    template = metric_template("t", MetricType.TIMING, "ms")
    assert pending_from_template(template, value, correlation_id) is None  # type: ignore[arg-type]


def test_a_call_of_templated_records_is_taken_whole_only_when_every_record_is_plain() -> None:
    timing = metric_template("routing_decision_time_ms", MetricType.TIMING, "ms", {"decision": "end"})
    counter = metric_template("routing_decisions_count", MetricType.COUNTER, "count", {"decision": "end"})
    pending = pending_from_templates(((timing, 0.5), (counter, 1)), "coord-1", 1_700_000_000.0)
    assert pending is not None
    assert [materialize(item).model_dump(exclude={"metric_id"}) for item in pending] == [
        materialize(one).model_dump(exclude={"metric_id"})
        for one in (
            pending_from_template(timing, 0.5, "coord-1", 1_700_000_000.0),
            pending_from_template(counter, 1, "coord-1", 1_700_000_000.0),
        )
        if one is not None
    ]
    assert pending[1].value == 1.0 and type(pending[1].value) is float
    assert pending[0].number != pending[1].number  # each its own id
    # Anything one record's fast path would refuse sends the whole call the slow way (None).
    for records, correlation_id in [
        (((timing, -1.0), (counter, 1)), None),
        (((timing, 0.5), (counter, "1")), None),
        (((timing, 0.5),), "a\tb"),
        (((timing, 0.5, "extra"),), None),
        ((("not a template", 0.5),), None),
        ((42,), None),
    ]:
        assert pending_from_templates(records, correlation_id, 0.0) is None
