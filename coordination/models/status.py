"""What a user reads about a coordination (pure): overall status and, per agent, status, times, attempts, quality.

Live reads build these from Redis (:mod:`coordination.pipeline.status`), the archive from PostgreSQL
(:mod:`coordination.archive.reader`); :func:`coordination.views.status.coordination_status` takes whichever knows it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from coordination.models.fan_out import count_summary
from coordination.models.statuses import FINISHED_COORDINATION


class MapItems(BaseModel):
    """The items of an agent declared with ``map:`` (fan-out over a result): how many, and where they are."""

    count: int = Field(description="Items in the list the agent runs over.")
    statuses: dict[str, int] = Field(default_factory=dict, description="Items per status (completed, running...).")
    attempts: int = Field(0, description="Attempts of all items together (retries included).")

    def summary(self) -> str:
        """``×12 (10 done, 1 running, 1 queued)``."""
        return count_summary(self.count, self.statuses)


class AgentStatus(BaseModel):
    """One agent of a coordination."""

    agent_id: str
    status: str = Field(
        description="waiting, dormant, queued, deferred (over a limit: waiting_on names it), running, retrying, "
        "completed, failed, skipped, timed_out, cancelled"
    )
    waiting_on: str | None = Field(None, description="The limit key a deferred attempt waits for.")
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
    result: dict[str, Any] | list[Any] | None = Field(
        None, description="The agent's result; for a map agent the list of its items' results, in item order."
    )
    items: MapItems | None = Field(None, description="A map agent's items (None for an agent without map:).")
    progress: float | None = Field(None, description="The running attempt's last run.progress fraction (0..1).")
    progress_message: str | None = Field(None, description="The message of its last run.progress.")
    output: str | None = Field(None, description="The end of the text its attempt streamed (run.stream), live only.")


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


def _time(value: str | None) -> datetime | None:
    return None if not value else datetime.fromtimestamp(int(float(value)) / 1000, UTC)


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
    runs: int = Field(1, description="How many times it ran: 2 after its first re-run (coord retry).")

    @property
    def finished(self) -> bool:
        """True once the coordination ended: completed, failed, cancelled or lost."""
        return self.status in FINISHED_COORDINATION

    def agent(self, agent_id: str) -> AgentStatus:
        """One agent's status (KeyError if unknown)."""
        for item in self.agents:
            if item.agent_id == agent_id:
                return item
        raise KeyError(agent_id)
