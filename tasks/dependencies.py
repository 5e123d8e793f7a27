"""Dependency events and checks as Celery tasks (resources, quality gates, approvals, on-demand checks).

Resources and gates are per coordination: ``coordination_id`` names it, or ``global_scope=True`` sets the
namespace's value for every coordination (what a workflow declares ``scope: global``); giving neither is refused.
"""

from __future__ import annotations

from typing import Any

from config.celery_app import task
from coordination import task_names as names
from coordination.pipeline.approvals import approve as record_approval
from coordination.pipeline.components import components
from coordination.pipeline.conditions import mark_resource as mark
from coordination.pipeline.conditions import set_gate as score_gate
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.polling import poll
from coordination.signals import SettledDependency


def start_unblocked(settled: list[SettledDependency]) -> list[str]:
    """Enqueue the pipeline agents that settled dependencies made ready (see ``Dispatcher.start_unblocked``)."""
    return Dispatcher(components()).start_unblocked(settled)


@task(names.MARK_RESOURCE)
def mark_resource(
    resource_id: str, available: bool = True, coordination_id: str | None = None, global_scope: bool = False
) -> dict[str, Any]:
    """Mark a resource (un)available for one coordination (or every one); agents waiting on it start at once."""
    change = mark(resource_id, available, coordination_id=coordination_id, global_scope=global_scope)
    return {
        "resource_id": resource_id,
        "available": available,
        "coordination_id": coordination_id,
        "started": change.started,
    }


@task(names.SET_GATE)
def set_gate(
    gate_id: str, score: float, coordination_id: str | None = None, global_scope: bool = False
) -> dict[str, Any]:
    """Score a quality gate for one coordination (or every one); agents whose threshold it meets start at once."""
    change = score_gate(gate_id, score, coordination_id=coordination_id, global_scope=global_scope)
    return {"gate_id": gate_id, "score": score, "coordination_id": coordination_id, "started": change.started}


@task(names.APPROVE)
def approve(coordination_id: str, gate: str, by: str, reject: bool = False, note: str | None = None) -> dict[str, Any]:
    """Record a verdict on an approval gate of a coordination (``coordination.approve``)."""
    verdict = record_approval(coordination_id, gate, by=by, reject=reject, note=note)
    return {
        "coordination_id": coordination_id,
        "gate": gate,
        "verdict": verdict.verdict,
        "by": verdict.by,
        "started": verdict.started,
    }


@task(names.CHECK_DEPENDENCIES)
def check_dependencies() -> dict[str, Any]:
    """Run beat's poll now, on demand: due dependency checks and agent repairs."""
    return poll().as_dict()
