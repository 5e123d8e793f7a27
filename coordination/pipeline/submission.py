"""Submitting a workflow: validate, write contexts and records, register dependencies, start the ready agents."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from config.settings import get_settings
from coordination import jsonutil
from coordination.errors import InvalidInputError
from coordination.ids import validate_id
from coordination.models.dependencies import Dependency
from coordination.models.signals import SignalType
from coordination.models.workflow import WorkflowSpec
from coordination.pipeline.components import components
from coordination.pipeline.dispatch import Dispatcher
from coordination.store.connection import sync_client


def new_coordination_id(spec: WorkflowSpec) -> str:
    """A fresh id: the workflow name and 12 random hex digits."""
    return f"{spec.name}-{uuid.uuid4().hex[:12]}"


def submit(spec: WorkflowSpec, input: Any = None, coordination_id: str | None = None) -> str:
    """Start a coordination of ``spec`` and return its id at once; workers run it to the end.

    Raises:
        InvalidInputError: the input is not JSON or too large, or the id is taken; nothing was written.
    """
    settings = get_settings()
    input_json = jsonutil.dumps(input, "input", settings.max_context_bytes)
    cid = validate_id(coordination_id, "coordination_id") if coordination_id else new_coordination_id(spec)
    parts = components()
    dispatcher = Dispatcher(parts)
    records = dispatcher.records
    ckeys = parts.keys.coordination(cid)
    if sync_client().exists(ckeys.meta):
        raise InvalidInputError("coordination_id", f"{cid!r} already exists")

    order = spec.order()
    upstream = spec.upstream()
    assignments = {
        agent_id: {
            "objective": spec.agents[agent_id].objective,
            "tasks": spec.agents[agent_id].tasks,
            "input_data": spec.agents[agent_id].input_data,
            "dependencies": upstream[agent_id],
            "output_requirements": spec.agents[agent_id].output_requirements,
            "success_criteria": spec.agents[agent_id].success_criteria,
        }
        for agent_id in order
    }
    parts.contexts.distribute_agent_context_sync(
        {"coordination_id": cid, "session_id": cid},
        assignments,
        shared_intelligence=spec.shared_intelligence,
        resource_allocations={agent_id: spec.agents[agent_id].resources for agent_id in order},
    )
    auto = [agent_id for agent_id in order if spec.agents[agent_id].start == "auto"]
    dormant = [agent_id for agent_id in order if spec.agents[agent_id].start != "auto"]
    if not records.create(cid, spec.name, spec.model_dump_json(), input_json, auto, dormant):
        raise InvalidInputError("coordination_id", f"{cid!r} already exists")

    dependencies = spec.all_dependencies()
    counts = Counter(dependency.agent for dependency in dependencies)
    if counts:
        # Count every dependency of an agent before registering any, so it cannot look ready half-way.
        sync_client().hset(ckeys.agent_pending, mapping=dict(counts))
    for item in dependencies:
        metadata: dict[str, Any] = {
            "require_success": item.require_success,
            "threshold": item.threshold,
            "max_retries": item.max_retries,
        }
        if item.check_interval_ms is not None:
            metadata["check_interval_ms"] = item.check_interval_ms
        parts.resolver.register_sync(
            cid,
            Dependency(
                item.id, item.type, item.target, timeout=item.timeout, max_retries=item.max_retries, metadata=metadata
            ),
            owner=item.agent,
            precounted=True,
        )
    dispatcher.signal(
        cid,
        SignalType.COORDINATION_STARTED,
        "system",
        {"workflow": spec.name, "agents": order, "dependencies": len(dependencies)},
        f"{cid}.started",
    )
    pending = records.pending_counts(cid)
    dispatcher.enqueue(spec, cid, [agent_id for agent_id in auto if pending.get(agent_id, 0) <= 0])
    return cid
