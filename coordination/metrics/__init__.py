"""Metrics: record timings, counters, gauges and rates; flush them to Redis; read them back; raise alerts.

``MetricsCollector`` keeps the seed's async API and adds synchronous, never-raising ``*_nowait`` methods
for hot paths. Unlike the seed, flushed metrics are never dropped: they go to a Redis stream shared by every
process, from which ``read_metrics()`` and ``get_stats()["metrics"]`` read them back and beat archives them.
"""

from coordination.metrics.collector import MetricsCollector
from coordination.metrics.decorators import counted, timed, timing
from coordination.metrics.models import (
    Alert,
    AlertRule,
    AlertSeverity,
    Metric,
    MetricTemplate,
    MetricType,
    metric_template,
)

__all__ = [
    "Alert",
    "AlertRule",
    "AlertSeverity",
    "Metric",
    "MetricTemplate",
    "MetricType",
    "MetricsCollector",
    "counted",
    "metric_template",
    "timed",
    "timing",
]
