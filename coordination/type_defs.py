"""TypedDicts used as return types (seed names, pure)."""

from __future__ import annotations

from typing import Any, TypedDict


class CoordinationResultDict(TypedDict, total=False):
    """What :meth:`CoordinationOrchestrator.coordinate_workflow` returns."""

    workflow_id: str
    coordination_id: str
    duration_ms: float
    contexts_distributed: int
    dependencies_resolved: int
    signals_sent: int
    routing_decisions: int
    agent_contexts: dict[str, Any]
    error: str
    dependency_details: list[dict[str, Any]]
    routing_details: list[dict[str, Any]]


class SignalMetricsDict(TypedDict):
    """Signal figures of one coordination."""

    total_signals_sent: int
    total_signals_received: int
    average_propagation_ms: float
    max_propagation_ms: float
    signals_by_type: dict[str, int]


class ContextMetricsDict(TypedDict):
    """Context figures of one coordination."""

    contexts_distributed: int
    agent_ids: list[str]


class RoutingMetricsDict(TypedDict, total=False):
    """Routing figures (the orchestrator's lifetime statistics)."""

    total_routings: int
    avg_routing_time_ms: float
    min_routing_time_ms: float
    max_routing_time_ms: float
    decisions: dict[str, int]
    strategies: dict[str, int]
    history_size: int


class CoordinationMetricsDict(TypedDict):
    """Everything known about one coordination's figures."""

    signal_metrics: SignalMetricsDict
    context_metrics: ContextMetricsDict
    routing_metrics: RoutingMetricsDict


class DependencyResolutionDict(TypedDict):
    """Summary of resolved dependencies."""

    resolved_count: int
    details: list[dict[str, Any]]


class RoutingResultDict(TypedDict):
    """Summary of routing decisions."""

    decision_count: int
    details: list[dict[str, Any]]
