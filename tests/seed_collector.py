"""A metrics collector of a user's own, with only the seed's per-metric ``*_nowait`` methods (a test double).

Components record through ``record_many_nowait``/``record_templates_nowait`` when the collector has them (ours
does); this one has not, so tests see the seed's per-metric calls they fall back to.
"""

from __future__ import annotations

MetricCall = tuple[str, float, dict[str, str], str | None]


class SeedStyleCollector:
    """Records each call: per kind (``timings``, ``counters``, ``gauges``) and, with its kind, in ``recorded``."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.timings: list[MetricCall] = []
        self.counters: list[MetricCall] = []
        self.gauges: list[MetricCall] = []
        self.recorded: list[tuple[str, str, float, dict[str, str], str | None]] = []

    def _add(
        self, kind: str, calls: list[MetricCall], name: str, value: float, tags: dict[str, str] | None, cid: str | None
    ) -> None:
        if self.fail:
            raise RuntimeError("collector broken")
        calls.append((name, value, dict(tags or {}), cid))
        self.recorded.append((kind, name, value, dict(tags or {}), cid))

    def record_timing_nowait(
        self,
        metric_name: str,
        duration_ms: float,
        tags: dict[str, str] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        self._add("timing", self.timings, metric_name, duration_ms, tags, correlation_id)

    def record_counter_nowait(
        self, metric_name: str, count: int = 1, tags: dict[str, str] | None = None, correlation_id: str | None = None
    ) -> None:
        self._add("counter", self.counters, metric_name, count, tags, correlation_id)

    def record_gauge_nowait(
        self,
        metric_name: str,
        value: float,
        unit: str,
        tags: dict[str, str] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        self._add("gauge", self.gauges, metric_name, value, tags, correlation_id)
