"""Live status reads: a coordination's records in Redis, as :class:`~coordination.models.status.CoordinationStatus`."""

from __future__ import annotations

from datetime import UTC, datetime

from coordination import jsonutil
from coordination.ids import validate_id
from coordination.models.fan_out import item_counts
from coordination.models.status import (
    AgentStatus,
    ApprovalView,
    CoordinationStatus,
    DependencyView,
    MapItems,
    approval_views,
)
from coordination.pipeline.components import Components, components
from coordination.pipeline.records import Records
from coordination.store.connection import sync_client
from coordination.streams import signals_sent

__all__ = ["read_status"]


def _time(value: str | None) -> datetime | None:
    return None if not value else datetime.fromtimestamp(int(float(value)) / 1000, UTC)


def read_status(coordination_id: str, parts: Components | None = None) -> CoordinationStatus | None:
    """The live status from Redis, or None when Redis no longer (or never) had the coordination."""
    validate_id(coordination_id, "coordination_id")
    parts = parts or components()
    records = Records(parts.keys)
    meta = records.meta(coordination_id)
    if not meta:
        return None
    agents = []
    for agent_id in records.agent_ids(coordination_id):
        raw = records.agent(coordination_id, agent_id)
        started, finished = raw.get("started_ms"), raw.get("finished_ms")
        status = raw.get("status", "unknown")
        # A queued attempt that a limit held back is shown as deferred, with the limit key it waits for.
        waiting_on = raw.get("waiting_on") if status in ("queued", "retrying") else None
        agents.append(
            AgentStatus(
                agent_id=agent_id,
                status="deferred" if waiting_on else status,
                waiting_on=waiting_on or None,
                attempts=int(raw.get("attempt", 0)),
                queued_at=_time(raw.get("queued_ms")),
                started_at=_time(started),
                finished_at=_time(finished),
                duration_ms=float(finished) - float(started) if started and finished else None,
                quality=float(raw["quality"]) if raw.get("quality") else None,
                decision=raw.get("decision") or None,
                error=raw.get("error") or None,
                traceback=raw.get("traceback") or None,
                task_id=raw.get("task_id") or None,
                result=jsonutil.loads(raw["result"]) if raw.get("result") else None,
                items=_map_items(records, coordination_id, agent_id, raw),
                progress=float(raw["progress"]) if raw.get("progress") else None,
                progress_message=raw.get("progress_msg") or None,
                output=raw.get("output") or None,
            )
        )
    dependencies = []
    for dependency_id in sorted(parts.resolver.list_dependencies(coordination_id)):
        view = parts.resolver.get_dependency_status(coordination_id, dependency_id)
        dependencies.append(
            DependencyView(
                dependency_id=dependency_id,
                agent_id=view.get("owner"),
                dependency_type=view["dependency_type"],
                target=view["target"],
                status=view["status"],
                wait_ms=view.get("wait_ms"),
                scope=view.get("scope"),
            )
        )
    approvals = _live_approvals(parts, coordination_id, dependencies)
    signals = signals_sent(sync_client().hgetall(parts.keys.coordination(coordination_id).signal_metrics))
    return CoordinationStatus(
        coordination_id=coordination_id,
        workflow=meta.get("name", ""),
        status=meta.get("status", "unknown"),
        created_at=_time(meta.get("created_ms")),
        finished_at=_time(meta.get("finished_ms")),
        error=meta.get("error") or None,
        agents=agents,
        dependencies=dependencies,
        approvals=approvals,
        signals=signals,
        routing_decisions=int(meta.get("decisions", 0)),
        runs=int(meta.get("runs") or 1),
    )


def _map_items(records: Records, coordination_id: str, agent_id: str, raw: dict[str, str]) -> MapItems | None:
    """A map agent's items by status (one more round trip, only for a map agent that was expanded)."""
    if not raw.get("map_count"):
        return None
    items = records.map_items(coordination_id, agent_id, int(raw["map_count"]))
    return MapItems(
        count=len(items),
        statuses=item_counts([item.get("status", "unknown") for item in items]),
        attempts=sum(int(item.get("attempt", 0)) for item in items),
    )


def _live_approvals(parts: Components, coordination_id: str, dependencies: list[DependencyView]) -> list[ApprovalView]:
    """The coordination's approval gates from Redis (one more round trip, only when it has approvals)."""
    waiting = [item for item in dependencies if item.dependency_type == "approval"]
    if not waiting:
        return []
    ck = parts.keys.coordination(coordination_id)
    client = sync_client()
    pipe = client.pipeline(transaction=False)
    for item in waiting:
        pipe.hget(ck.dependency(item.dependency_id), "metadata")
    pipe.hgetall(ck.approvals)
    *metadata, verdicts = pipe.execute()
    declared = []
    for item, raw in zip(waiting, metadata, strict=True):
        approvers = jsonutil.loads(raw).get("approvers") if raw else None
        declared.append({"target": item.target, "status": item.status, "owner": item.agent_id, "approvers": approvers})
    return approval_views(declared, {gate: jsonutil.loads(text) for gate, text in verdicts.items()})
