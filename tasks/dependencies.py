"""Dependency events and checks as Celery tasks (resources, quality gates, on-demand checks)."""

from __future__ import annotations

from typing import Any

from config.celery_app import task
from coordination import task_names as names
from coordination.pipeline.components import components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.polling import poll
from coordination.signals import SettledDependency


def start_unblocked(settled: list[SettledDependency]) -> list[str]:
    """Enqueue the pipeline agents that settled dependencies made ready (see ``Dispatcher.start_unblocked``)."""
    return Dispatcher(components()).start_unblocked(settled)


@task(names.MARK_RESOURCE)
def mark_resource(resource_id: str, available: bool = True) -> dict[str, Any]:
    """Mark a resource (un)available; agents waiting on it start at once."""
    settled = components().resolver.mark_resource_available_sync(resource_id, available)
    return {"resource_id": resource_id, "available": available, "started": start_unblocked(settled)}


@task(names.SET_GATE)
def set_gate(gate_id: str, score: float) -> dict[str, Any]:
    """Score a quality gate; agents whose threshold it meets start at once."""
    settled = components().resolver.update_quality_gate_score_sync(gate_id, score)
    return {"gate_id": gate_id, "score": score, "started": start_unblocked(settled)}


@task(names.CHECK_DEPENDENCIES)
def check_dependencies() -> dict[str, Any]:
    """Run beat's poll now, on demand: due dependency checks and agent repairs."""
    return poll().as_dict()
