"""Metric and alert models (pure): the seed's fields, defaults and constraints, with strict checking.

Unknown fields are ignored with a warning, as the seed ignored them (:mod:`coordination.models.seed`).
Differences from the seed: timestamps are aware UTC datetimes
(a naive value is taken as UTC), metric values must be finite (JSON cannot carry NaN or infinity), and an
alert rule's message template is checked when the rule is declared rather than when it first fires.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, Final, NamedTuple

from pydantic import AfterValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from coordination.errors import InvalidInputError
from coordination.ids import new_uuid4, next_number, numbered_id
from coordination.limits import MAX_METRIC_NAME_LENGTH, MAX_TAG_KEY_LENGTH, MAX_TAG_VALUE_LENGTH, MAX_TAGS
from coordination.models.base import prevalidated, utcnow
from coordination.models.seed import FrozenSeedModel, SeedModel
from coordination.validation import input_error


def _as_utc(value: datetime) -> datetime:
    # The seed wrote naive utcnow() values: a naive timestamp means UTC.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


def _printable(value: str) -> str:
    # Names, units and tags end up in terminals, logs and dashboards: no control characters or escape sequences.
    if not value.isprintable():
        raise ValueError("must be printable text (no control characters)")
    return value


#: Longest correlation or agent id a metric carries.
MAX_METRIC_ID_LENGTH: Final = 256

MetricName = Annotated[str, Field(min_length=1, max_length=MAX_METRIC_NAME_LENGTH), AfterValidator(_printable)]
Unit = Annotated[str, Field(min_length=1, max_length=20), AfterValidator(_printable)]
TagKey = Annotated[str, Field(min_length=1, max_length=MAX_TAG_KEY_LENGTH), AfterValidator(_printable)]
TagValue = Annotated[str, Field(max_length=MAX_TAG_VALUE_LENGTH), AfterValidator(_printable)]
Tags = Annotated[dict[TagKey, TagValue], Field(max_length=MAX_TAGS)]
OptionalId = Annotated[str, Field(max_length=MAX_METRIC_ID_LENGTH), AfterValidator(_printable)] | None


def _new_id() -> str:
    return new_uuid4()


class MetricType(StrEnum):
    """Kind of a metric."""

    TIMING = "timing"
    COUNTER = "counter"
    GAUGE = "gauge"
    RATE = "rate"


class AlertSeverity(StrEnum):
    """Severity of an alert (upper-case values, as in the seed)."""

    CRITICAL = "CRITICAL"
    WARNING = "WARNING"
    INFO = "INFO"


class Metric(SeedModel):
    """One recorded measurement.

    Attributes:
        metric_id: unique id (uuid4 string).
        metric_name: name, 1..100 printable characters (for example ``routing_decision_time_ms``).
        metric_type: timing, counter, gauge or rate.
        value: the measurement; must be finite, and at least 0 for a timing (a duration).
        unit: unit, 1..20 printable characters (``ms``, ``count``, ``%``, ``bytes``, ...).
        tags: at most 32 string tags for filtering and grouping: keys 1..100 printable characters, values at
            most 256; non-string values are refused.
        timestamp: when it was recorded (aware UTC).
        correlation_id: optional id for tracing (usually the coordination id), at most 256 printable characters.
        agent_id: optional agent id, at most 256 printable characters.
    """

    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    metric_id: str = Field(default_factory=_new_id)
    metric_name: MetricName
    metric_type: MetricType
    value: float = Field(allow_inf_nan=False)
    unit: Unit
    tags: Tags = Field(default_factory=dict)
    timestamp: UtcDatetime = Field(default_factory=utcnow)
    correlation_id: OptionalId = None
    agent_id: OptionalId = None

    @model_validator(mode="after")
    def _durations_are_not_negative(self) -> Metric:
        if self.metric_type is MetricType.TIMING and self.value < 0:
            raise InvalidInputError("value", f"a timing is a duration and must be at least 0, got {self.value!r}")
        return self

    def as_stats_entry(self) -> dict[str, Any]:
        """Return the JSON-friendly dict used in ``MetricsCollector.get_stats()["metrics"]``.

        It carries the short keys the seed guide's monitoring snippets read (``name``, ``value``, ``type``,
        ``unit``, ``tags``, ``timestamp``, ``correlation_id``) plus ``metric_id`` and ``agent_id``.
        """
        return {
            "metric_id": self.metric_id,
            "name": self.metric_name,
            "value": self.value,
            "type": self.metric_type.value,
            "unit": self.unit,
            "tags": dict(self.tags),
            "timestamp": self.timestamp.isoformat(),
            "correlation_id": self.correlation_id,
            "agent_id": self.agent_id,
        }


class Alert(FrozenSeedModel):
    """An alert raised by an :class:`AlertRule`."""

    alert_id: str = Field(default_factory=_new_id)
    severity: AlertSeverity
    metric_name: str = Field(min_length=1, max_length=100)
    threshold: float
    actual_value: float
    message: str = Field(min_length=1)
    timestamp: UtcDatetime = Field(default_factory=utcnow)
    tags: dict[str, str] = Field(default_factory=dict)
    correlation_id: str | None = None


_OPERATORS: Final = ("gt", "lt", "gte", "lte")


class AlertRule(FrozenSeedModel):
    """A threshold on one metric name.

    Attributes:
        rule_id: unique id (uuid4 string).
        metric_name: the metric watched.
        threshold: the value compared with.
        operator: ``gt``, ``lt``, ``gte`` or ``lte`` (``value <operator> threshold`` fires the rule).
        severity: severity of the alert.
        message_template: ``str.format`` template; may use ``{metric_name}``, ``{operator}``, ``{threshold}``,
            ``{value}``.
    """

    rule_id: str = Field(default_factory=_new_id)
    metric_name: MetricName
    threshold: float = Field(allow_inf_nan=False)
    operator: str = Field(pattern=r"^(gt|lt|gte|lte)$")
    severity: AlertSeverity
    message_template: str = Field(default="{metric_name} {operator} {threshold}: actual={value}", min_length=1)

    @field_validator("message_template")
    @classmethod
    def _template_formats(cls, value: str) -> str:
        # Fail when the rule is declared, not later inside the flusher when it first fires.
        try:
            value.format(metric_name="m", operator="gt", threshold=0.0, value=0.0)
        except (KeyError, IndexError, ValueError, AttributeError) as error:
            raise ValueError(
                "must be a str.format template using only {metric_name}, {operator}, {threshold}, {value}"
                f" ({type(error).__name__}: {error})"
            ) from error
        return value

    def evaluate(self, metric: Metric) -> Alert | None:
        """Return an alert if ``metric`` is the watched metric and crosses the threshold, else None."""
        if metric.metric_name != self.metric_name:
            return None
        value = metric.value
        if self.operator == "gt":
            triggered = value > self.threshold
        elif self.operator == "lt":
            triggered = value < self.threshold
        elif self.operator == "gte":
            triggered = value >= self.threshold
        else:
            triggered = value <= self.threshold
        if not triggered:
            return None
        message = self.message_template.format(
            metric_name=metric.metric_name, operator=self.operator, threshold=self.threshold, value=value
        )
        return Alert(
            severity=self.severity,
            metric_name=metric.metric_name,
            threshold=self.threshold,
            actual_value=value,
            message=message or f"{metric.metric_name} {self.operator} {self.threshold}",
            tags=dict(metric.tags),
            correlation_id=metric.correlation_id,
        )


class MetricEventPayload(SeedModel):
    """Payload of a ``metric.recorded`` event (the seed's Kafka message)."""

    metric_id: str
    metric_name: str
    metric_type: str
    value: float
    unit: str
    tags: dict[str, str]
    agent_id: str | None = None
    correlation_id: str | None = None


class _Envelope(FrozenSeedModel):
    """The seed's event envelope (``OnexEnvelopeV1``); subclasses set ``event_type`` and ``payload``."""

    event_type: str
    event_version: str = "v1"
    event_id: str = Field(default_factory=_new_id)
    timestamp: UtcDatetime = Field(default_factory=utcnow)
    source_service: str = "omninode-bridge"
    correlation_id: str | None = None


class MetricEvent(_Envelope):
    """A ``metric.recorded`` event in the seed's envelope."""

    event_type: str = "metric.recorded"
    payload: MetricEventPayload

    @classmethod
    def from_metric(cls, metric: Metric) -> MetricEvent:
        """Wrap ``metric`` in an event envelope."""
        payload = MetricEventPayload(
            metric_id=metric.metric_id,
            metric_name=metric.metric_name,
            metric_type=metric.metric_type.value,
            value=metric.value,
            unit=metric.unit,
            tags=dict(metric.tags),
            agent_id=metric.agent_id,
            correlation_id=metric.correlation_id,
        )
        return cls(correlation_id=metric.correlation_id, payload=payload)


class AlertEventPayload(SeedModel):
    """Payload of an ``alert.triggered`` event."""

    alert_id: str
    severity: AlertSeverity
    metric_name: str
    threshold: float
    actual_value: float
    message: str
    tags: dict[str, str]


class AlertEvent(_Envelope):
    """An ``alert.triggered`` event in the seed's envelope."""

    event_type: str = "alert.triggered"
    payload: AlertEventPayload

    @classmethod
    def from_alert(cls, alert: Alert) -> AlertEvent:
        """Wrap ``alert`` in an event envelope."""
        payload = AlertEventPayload(
            alert_id=alert.alert_id,
            severity=alert.severity,
            metric_name=alert.metric_name,
            threshold=alert.threshold,
            actual_value=alert.actual_value,
            message=alert.message,
            tags=dict(alert.tags),
        )
        return cls(correlation_id=alert.correlation_id, payload=payload)


def build_metric(
    metric_name: str,
    metric_type: MetricType,
    value: float,
    unit: str,
    tags: dict[str, str] | None = None,
    correlation_id: str | None = None,
) -> Metric:
    """Build and validate a metric, turning validation failures into the package's input error.

    Raises:
        InvalidInputError: a field is invalid; ``field`` names it (``tags.<key>`` for a bad tag value).
    """
    try:
        return Metric(
            metric_name=metric_name,
            metric_type=metric_type,
            value=value,
            unit=unit,
            tags={} if tags is None else tags,
            correlation_id=correlation_id,
        )
    except ValidationError as error:
        raise input_error(error, default_field="metric") from error


class PendingMetric(NamedTuple):
    """A metric recorded on a hot path: plain values, made a :class:`Metric` only when it is read or flushed.

    Its number (its id's, see :func:`coordination.ids.numbered_id`) and timestamp are fixed at record time, so it
    becomes the same ``Metric`` however often it is read. The fixed parts come first, so that one recorded from a
    :class:`MetricTemplate` is the template's ``head`` joined to the recorded parts.
    """

    metric_name: str
    metric_type: MetricType
    unit: str
    tags: Mapping[str, str]  # a dict of its own, or a template's read-only view
    value: float
    correlation_id: str | None
    recorded_at: float
    number: int


_new_tuple = tuple.__new__
_isfinite = math.isfinite
# The largest int a float can hold (about 1.8e308): a bigger one cannot become a metric's value.
_FLOAT_MAX = int(sys.float_info.max)
_now = time.time


def _plain_value_and_id(metric_type: MetricType, value: object, correlation_id: object) -> bool:
    """Whether a value and correlation id certainly pass :class:`Metric`'s checks (plain types only)."""
    return (
        ((type(value) is float and _isfinite(value)) or (type(value) is int and -_FLOAT_MAX <= value <= _FLOAT_MAX))
        and (value >= 0 or metric_type is not MetricType.TIMING)
        and (correlation_id is None or _plain_correlation_id(correlation_id))
    )


def _plain_correlation_id(correlation_id: object) -> bool:
    return type(correlation_id) is str and len(correlation_id) <= MAX_METRIC_ID_LENGTH and correlation_id.isprintable()


def pending_metric(
    metric_name: str,
    metric_type: MetricType,
    value: float,
    unit: str,
    tags: dict[str, str] | None,
    correlation_id: str | None,
) -> PendingMetric | None:
    """Record the values of a metric after the checks :class:`Metric` would make; None when one fails.

    The caller then builds the metric with :func:`build_metric` to get the error that names the field.
    """
    if not (
        type(metric_name) is str
        and 0 < len(metric_name) <= MAX_METRIC_NAME_LENGTH
        and metric_name.isprintable()
        and type(unit) is str
        and 0 < len(unit) <= 20
        and unit.isprintable()
        and _plain_value_and_id(metric_type, value, correlation_id)
    ):
        return None
    if tags is None:
        copied: dict[str, str] = {}
    elif type(tags) is dict and len(tags) <= MAX_TAGS:
        for key, tag in tags.items():
            if not (
                type(key) is str
                and 0 < len(key) <= MAX_TAG_KEY_LENGTH
                and key.isprintable()
                and type(tag) is str
                and len(tag) <= MAX_TAG_VALUE_LENGTH
                and tag.isprintable()
            ):
                return None
        copied = tags.copy()
    else:
        return None
    # tuple.__new__ directly: the NamedTuple's generated __new__ is a Python frame on a hot path.
    return _new_tuple(
        PendingMetric,
        (metric_name, metric_type, unit, copied, float(value), correlation_id, _now(), next_number()),
    )


class MetricTemplate:
    """A metric's fixed parts, checked once: a hot path that records the same metric often pays only for its value.

    Made only by :func:`metric_template` (calling the class raises ``TypeError``) and immutable, tags included, so
    what ``MetricsCollector.record_templates_nowait`` trusts is what was checked. Its tags are shared by every
    metric recorded from it (each read or flushed metric gets a dict of its own).
    """

    __slots__ = ("head", "metric_name", "metric_type", "tags", "unit")

    metric_name: str
    metric_type: MetricType
    unit: str
    tags: Mapping[str, str]
    #: ``(metric_name, metric_type, unit, tags)``: the first fields of a :class:`PendingMetric` recorded from it.
    head: tuple[str, MetricType, str, Mapping[str, str]]

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise TypeError("a MetricTemplate is made by metric_template(...), which checks its fields")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a MetricTemplate is immutable")

    def __repr__(self) -> str:
        return f"metric_template({self.metric_name!r}, {self.metric_type!s}, {self.unit!r}, {dict(self.tags)!r})"


def _template(metric_name: str, metric_type: MetricType, unit: str, tags: Mapping[str, str]) -> MetricTemplate:
    template = object.__new__(MetricTemplate)
    view = MappingProxyType(dict(tags))  # a read-only view of a copy no caller holds
    for name, value in (
        ("metric_name", metric_name),
        ("metric_type", metric_type),
        ("unit", unit),
        ("tags", view),
        ("head", (metric_name, metric_type, unit, view)),
    ):
        object.__setattr__(template, name, value)
    return template


def metric_template(
    metric_name: str, metric_type: MetricType, unit: str, tags: dict[str, str] | None = None
) -> MetricTemplate:
    """Check a metric's name, type, unit and tags once, for recording it many times.

    Raises:
        InvalidInputError: a field is invalid; ``field`` names it (``tags.<key>`` for a bad tag value).
    """
    checked = pending_metric(metric_name, metric_type, 0, unit, tags, None)
    if checked is None or not isinstance(metric_type, MetricType):
        # The model names the field at fault, or takes what the fast checks leave to it ("timing" as a type).
        model = build_metric(metric_name, metric_type, 0, unit, tags)
        return _template(model.metric_name, model.metric_type, model.unit, model.tags)
    return _template(metric_name, metric_type, unit, checked.tags)


def pending_from_template(
    template: MetricTemplate, value: float, correlation_id: str | None, recorded_at: float | None = None
) -> PendingMetric | None:
    """A :class:`PendingMetric` of ``template`` when its value and correlation id pass the hot path's checks.

    None otherwise: the caller builds the :class:`Metric` (which may coerce, as for ``"2"``, or name the error).

    Args:
        template: from :func:`metric_template`.
        value: the metric's value.
        correlation_id: the metric's correlation id.
        recorded_at: when it was recorded (seconds since the epoch; None: now). Several metrics recorded by one
            call share one moment.
    """
    # _plain_value_and_id's checks, the value's inline: this runs for every routing decision.
    if not (
        ((type(value) is float and _isfinite(value)) or (type(value) is int and -_FLOAT_MAX <= value <= _FLOAT_MAX))
        and (value >= 0 or template.metric_type is not MetricType.TIMING)
        and (correlation_id is None or _plain_correlation_id(correlation_id))
    ):
        return None
    recorded = (float(value), correlation_id, _now() if recorded_at is None else recorded_at, next_number())
    return _new_tuple(PendingMetric, template.head + recorded)  # one C concatenation (unpacking builds a list)


def pending_from_templates(
    records: tuple[object, ...], correlation_id: str | None, recorded_at: float
) -> list[PendingMetric] | None:
    """The :class:`PendingMetric` of every ``(template, value)`` in ``records``, or None unless all pass.

    :func:`pending_from_template`'s checks for a whole call at once (the correlation id checked once): the routing
    orchestrator records two metrics per decision through here. None when any record is not a pair of a
    :class:`MetricTemplate` and a plain value that passes; the caller then takes the records one at a time.

    Args:
        records: the ``(template, value)`` pairs.
        correlation_id: every metric's correlation id.
        recorded_at: when they were recorded (seconds since the epoch).
    """
    if not (correlation_id is None or _plain_correlation_id(correlation_id)):
        return None
    pending: list[PendingMetric] = []
    for record in records:
        # Exact pairs only: anything else (an iterator, a list, an object whose unpacking raises) goes the slow
        # way, which takes each record once, so nothing is consumed or raised here.
        if type(record) is not tuple or len(record) != 2 or type(record[0]) is not MetricTemplate:
            return None
        metric = pending_from_template(record[0], record[1], correlation_id, recorded_at)
        if metric is None:
            return None
        pending.append(metric)
    return pending


def materialize(item: Metric | PendingMetric) -> Metric:
    """Return ``item`` as a :class:`Metric` (pending metrics become the same metric every time)."""
    if not isinstance(item, PendingMetric):
        return item
    return prevalidated(
        Metric,
        {
            "metric_id": numbered_id(item.number),
            "metric_name": item.metric_name,
            "metric_type": item.metric_type,
            "value": item.value,
            "unit": item.unit,
            "tags": dict(item.tags),  # a template's tags are shared by every metric recorded from it
            "timestamp": datetime.fromtimestamp(item.recorded_at, UTC),
            "correlation_id": item.correlation_id,
            "agent_id": None,
        },
    )
