"""Beat's safety net: due dependency checks (time-outs, conditions without events) and reconciliation.

Events do the normal work; this finds what they cannot: dependencies whose time ran out, conditions written
straight into the state, and anything a crash between two steps left undone (every step it repeats is
idempotent, so running it twice does nothing twice).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from config.settings import get_settings
from coordination.models.signals import SignalType
from coordination.pipeline.components import Components, components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.records import TERMINAL, now_ms
from coordination.pipeline.routing import orchestrator_for
from coordination.pipeline.spec_cache import workflow_of
from coordination.planning import plan_after_timeout, routing_state
from coordination.signals import SettledDependency
from coordination.store.connection import sync_client
from coordination.store.scripts import script

logger = logging.getLogger(__name__)


@dataclass
class PollReport:
    """What one poll did."""

    checked: int = 0
    resolved: int = 0
    timed_out: int = 0
    enqueued: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "checked": self.checked,
            "resolved": self.resolved,
            "timed_out": self.timed_out,
            "enqueued": self.enqueued,
        }


def poll_due_dependencies(limit: int = 1000, parts: Components | None = None) -> PollReport:
    """Check every dependency whose check time has come: settle, time out, or schedule the next check."""
    parts = parts or components()
    keys = parts.keys
    dispatcher = Dispatcher(parts)
    report = PollReport()
    due = sync_client().zrangebyscore(keys.due, "-inf", now_ms(), start=0, num=limit)
    for member in due:
        coordination_id, _, dependency_id = member.partition("/")
        status, ready, _deadline, owner, _type = script("deps_check")(
            sync_client(),
            [],
            [keys.namespace_prefix, keys.coordination_prefix, now_ms(), coordination_id, dependency_id, "poll", "beat"],
        )
        report.checked += 1
        if status == "resolved":
            report.resolved += 1
            if ready:
                report.enqueued += dispatcher.start_unblocked(
                    [SettledDependency(coordination_id, dependency_id, "resolved", ready)]
                )
        elif status in ("timeout", "failed") and owner:
            report.timed_out += 1
            report.enqueued += handle_dependency_timeout(dispatcher, coordination_id, dependency_id, owner, status)
    return report


def handle_dependency_timeout(
    dispatcher: Dispatcher, coordination_id: str, dependency_id: str, owner: str, status: str
) -> list[str]:
    """Route a dependency's time-out (or failure) for the agent that waited on it, and carry out the plan."""
    records = dispatcher.records
    if not records.meta(coordination_id):
        return []
    spec = workflow_of(records, coordination_id)
    parts = dispatcher.parts
    rearms_used = int(
        sync_client().hget(parts.keys.coordination(coordination_id).dependency(dependency_id), "rearms") or 0
    )
    dispatcher.signal(
        coordination_id,
        SignalType.DEPENDENCY_TIMEOUT,
        "system",
        {"dependency_id": dependency_id, "agent_id": owner, "status": status},
        f"{coordination_id}.{dependency_id}.{status}.r{rearms_used}",
    )
    declared = next((d for d in spec.all_dependencies() if d.id == dependency_id), None)
    error = f"dependency {dependency_id!r} {'timed out' if status == 'timeout' else 'failed'}"
    state = routing_state(
        None,
        event="dependency_timeout",
        attempt=1,
        completed=records.completed_agents(coordination_id),
        priority=spec.agents[owner].priority,
        error=error,
        extra={"dependency_id": dependency_id},
    )
    decision = orchestrator_for(coordination_id, spec, owner, parts.state).route(
        state, current_task=owner, correlation_id=coordination_id
    )
    max_rearms = declared.max_retries if declared else 0
    plan = plan_after_timeout(
        decision["decision"] if status == "timeout" else "error",
        rearms_left=max_rearms - rearms_used,
        next_task=decision.get("next_task"),
        reasoning=decision.get("reasoning", ""),
    )
    if plan.outcome == "rearmed":
        keys = parts.keys
        rearmed, _ = script("deps_rearm")(
            sync_client(),
            [],
            [keys.namespace_prefix, keys.coordination_prefix, now_ms(), coordination_id, dependency_id, max_rearms],
        )
        if int(rearmed):
            logger.info("%s: dependency %s re-armed after its time-out", coordination_id, dependency_id)
            return []
        plan = plan_after_timeout("error", rearms_left=0, next_task=None, reasoning="no re-arms left")
    dispatcher.apply(
        spec,
        coordination_id,
        owner,
        0,
        plan,
        result=None,
        quality=None,
        error=error,
        decision=decision["decision"],
        mode="mark",
    )
    return list(plan.enqueue)


def reconcile(parts: Components | None = None) -> list[str]:
    """Repair what a crash between two steps may have left undone, in every running coordination.

    Re-announces finished agents whose completion was not signalled, starts agents whose dependencies are all
    met but which were never enqueued, and re-sends queued messages that never started.
    """
    parts = parts or components()
    dispatcher = Dispatcher(parts)
    records = dispatcher.records
    requeue_after_ms = get_settings().requeue_after_seconds * 1000
    started: list[str] = []
    for coordination_id in sorted(sync_client().smembers(parts.keys.active)):
        meta = records.meta(coordination_id)
        if meta.get("status") != "running":
            continue
        spec = workflow_of(records, coordination_id)
        done = set(records.completed_agents(coordination_id))
        pending = records.pending_counts(coordination_id)
        for agent_id in records.agent_ids(coordination_id):
            record = records.agent(coordination_id, agent_id)
            status = record.get("status")
            attempt = int(record.get("attempt", 0))
            if status in ("completed", "skipped") and agent_id not in done:
                started += dispatcher.announce_done(
                    spec, coordination_id, agent_id, attempt, status == "skipped", {"reconciled": True}
                )
            elif status == "waiting" and pending.get(agent_id, 0) <= 0:
                started += dispatcher.enqueue(spec, coordination_id, [agent_id])
            elif status == "queued":
                again = records.enqueue(coordination_id, agent_id, "requeue", requeue_after_ms=requeue_after_ms)
                if again:
                    dispatcher.send_agent(spec, coordination_id, agent_id, again)
                    started.append(agent_id)
        if all(
            records.agent(coordination_id, a).get("status") in TERMINAL | {"dormant"}
            for a in records.agent_ids(coordination_id)
        ):
            dispatcher.finished(coordination_id, records.meta(coordination_id).get("status", ""))
    return started
