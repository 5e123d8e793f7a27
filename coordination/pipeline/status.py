"""What a user reads about a coordination: overall status and, per agent, status, times, attempts, quality."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from coordination import jsonutil
from coordination.errors import CoordinationNotFoundError
from coordination.ids import validate_id
from coordination.pipeline.components import Components, components
from coordination.pipeline.records import FINISHED, Records
from coordination.store.connection import sync_client


def _time(value: str | None) -> datetime | None:
    return None if not value else datetime.fromtimestamp(int(float(value)) / 1000, UTC)


class AgentStatus(BaseModel):
    """One agent of a coordination."""

    agent_id: str
    status: str = Field(
        description="waiting, dormant, queued, running, retrying, completed, failed, skipped, timed_out, cancelled"
    )
    attempts: int = 0
    queued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    quality: float | None = None
    decision: str | None = None
    error: str | None = None
    traceback: str | None = Field(None, description="Formatted traceback of the last failed attempt, if kept.")
    task_id: str | None = Field(None, description="Celery task id of the last delivery (its Flower page).")
    result: dict[str, Any] | None = None


class DependencyView(BaseModel):
    """One dependency of a coordination, with how long its agent waited."""

    dependency_id: str
    agent_id: str | None
    dependency_type: str
    target: str
    status: str
    wait_ms: float | None = None
    scope: str | None = Field(None, description="Resources and gates: run (this coordination's own) or global.")


class ApprovalView(BaseModel):
    """One approval gate of a coordination: who may approve, and the verdict once given."""

    gate: str
    status: str = Field(description="pending, approved, rejected, timed_out, or closed (the coordination ended)")
    agents: list[str] = Field(default_factory=list, description="The agents waiting for it.")
    approvers: str | None = Field(None, description="Who may approve, as declared (free text).")
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None


def approval_views(dependencies: list[dict[str, Any]], verdicts: dict[str, dict[str, Any]]) -> list[ApprovalView]:
    """The approval gates of a coordination from its approval dependencies and its recorded verdicts.

    Args:
        dependencies: approval dependencies, each with ``target``, ``status`` (pending, resolved, failed, timeout;
            an overdue pending one counts as timed out), ``owner`` and ``approvers`` (or None).
        verdicts: gate -> recorded verdict (``verdict``, ``by``, ``at_ms``, ``note``).
    """
    views: dict[str, ApprovalView] = {}
    for dependency in dependencies:
        gate = str(dependency["target"])
        view = views.setdefault(gate, ApprovalView(gate=gate, status="pending"))
        if dependency.get("owner") and dependency["owner"] not in view.agents:
            view.agents.append(str(dependency["owner"]))
        view.approvers = view.approvers or dependency.get("approvers")
        if dependency.get("status") == "timeout":
            view.status = "timed_out"
        elif dependency.get("status") == "failed" and view.status == "pending":
            view.status = "closed"
    for gate, verdict in verdicts.items():
        view = views.setdefault(gate, ApprovalView(gate=gate, status="pending"))
        view.status = str(verdict.get("verdict", "approved"))
        view.decided_by = verdict.get("by")
        view.decided_at = _time(str(verdict.get("at_ms") or ""))
        view.note = verdict.get("note")
    return [views[gate] for gate in sorted(views)]


class CoordinationStatus(BaseModel):
    """A coordination as a whole, live from Redis or, after expiry, from the archive."""

    coordination_id: str
    workflow: str
    status: str = Field(description="running, completed, failed, cancelled or lost")
    created_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    agents: list[AgentStatus] = Field(default_factory=list)
    dependencies: list[DependencyView] = Field(default_factory=list)
    approvals: list[ApprovalView] = Field(default_factory=list)
    signals: int = 0
    routing_decisions: int = 0
    source: Literal["redis", "archive"] = "redis"

    @property
    def finished(self) -> bool:
        """True once the coordination ended: completed, failed, cancelled or lost."""
        return self.status in FINISHED

    def agent(self, agent_id: str) -> AgentStatus:
        """One agent's status (KeyError if unknown)."""
        for item in self.agents:
            if item.agent_id == agent_id:
                return item
        raise KeyError(agent_id)


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
        agents.append(
            AgentStatus(
                agent_id=agent_id,
                status=raw.get("status", "unknown"),
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
    signals = int(sync_client().hget(parts.keys.coordination(coordination_id).signal_metrics, "sent") or 0)
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


def coordination_status(coordination_id: str) -> CoordinationStatus:
    """The status of a coordination, live or archived.

    Raises:
        CoordinationNotFoundError: neither Redis nor the archive knows the coordination (a ``KeyError``).
    """
    live = read_status(coordination_id)
    if live is not None:
        return live
    try:
        from coordination.archive.reader import archived_status
    except ImportError:  # the archive is optional for readers without PostgreSQL drivers
        archived = None
    else:
        archived = archived_status(coordination_id)
    if archived is None:
        raise CoordinationNotFoundError(coordination_id, "in Redis or in the archive")
    return archived
