"""Turning decisions into effects: records settled once, signals emitted, the next messages sent.

Every step is idempotent: records change through first-caller-wins Lua scripts, signals carry deterministic
ids, and a message is sent only by the caller that won the agent's transition to ``queued``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from coordination.models.signals import SignalType
from coordination.models.workflow import WorkflowSpec
from coordination.pipeline.components import Components
from coordination.pipeline.records import Records
from coordination.pipeline.spec_cache import stored_workflow
from coordination.planning import Plan
from coordination.signals import SettledDependency
from tasks.names import agent_task

logger = logging.getLogger(__name__)


class Dispatcher:
    """Carries out plans for the coordinations of one namespace."""

    def __init__(self, parts: Components) -> None:
        self.parts = parts
        self.records = Records(parts.keys)

    # -- messages ----------------------------------------------------------------------------------------------

    def send_agent(
        self, spec: WorkflowSpec, coordination_id: str, agent_id: str, attempt: int, countdown: float | None = None
    ) -> None:
        """Send one agent attempt to the workers (a plain Celery message with ids only)."""
        from config.celery_app import app

        app.send_task(
            agent_task(spec.task_name(agent_id)),
            args=[coordination_id, agent_id, attempt],
            countdown=countdown,
            # Outcomes live in the coordination's records, not in the result backend; without this, every send
            # subscribes to a result channel that nobody reads.
            ignore_result=True,
        )

    def enqueue(
        self, spec: WorkflowSpec, coordination_id: str, agents: Iterable[str], mode: str = "ready"
    ) -> list[str]:
        """Send the agents whose transition to ``queued`` this call wins; return them."""
        sent = []
        for agent_id in agents:
            attempt = self.records.enqueue(coordination_id, agent_id, mode)
            if attempt:
                self.send_agent(spec, coordination_id, agent_id, attempt)
                sent.append(agent_id)
        return sent

    def enqueue_settled(self, spec: WorkflowSpec, settled: Iterable[SettledDependency]) -> list[str]:
        """Start the agents that settled dependencies made ready (same coordination as ``spec``)."""
        by_coordination: dict[str, list[str]] = {}
        for item in settled:
            if item.ready_agent and item.status == "resolved":
                by_coordination.setdefault(item.coordination_id, []).append(item.ready_agent)
        sent: list[str] = []
        for coordination_id, agents in by_coordination.items():
            sent += self.enqueue(spec, coordination_id, agents)
        return sent

    def start_unblocked(self, settled: Iterable[SettledDependency]) -> list[str]:
        """Start the agents that settled dependencies made ready, in whatever coordinations they belong to.

        Coordinations that are not pipeline coordinations (a resolver used directly) or that expired are skipped.
        """
        started: list[str] = []
        for item in settled:
            if not (item.ready_agent and item.status == "resolved"):
                continue
            spec = stored_workflow(self.records, item.coordination_id)
            if spec is not None:
                started += self.enqueue(spec, item.coordination_id, [item.ready_agent])
        return started

    # -- signals -----------------------------------------------------------------------------------------------

    def signal(
        self, coordination_id: str, signal_type: SignalType, sender: str, data: dict[str, Any], signal_id: str
    ) -> list[SettledDependency]:
        """Emit one signal with a deterministic id (re-emission after a crash stores nothing twice)."""
        outcome = self.parts.signals.emit_sync(
            coordination_id,
            [{"event_type": signal_type, "event_data": data, "sender_agent_id": sender, "signal_id": signal_id}],
        )
        return outcome.settled

    def announce_done(
        self, spec: WorkflowSpec, coordination_id: str, agent_id: str, attempt: int, skipped: bool, data: dict[str, Any]
    ) -> list[str]:
        """Tell everyone an agent is done (completed or skipped) and start the agents it unblocked."""
        kind = SignalType.AGENT_SKIPPED if skipped else SignalType.AGENT_COMPLETED
        settled = self.signal(
            coordination_id,
            kind,
            agent_id,
            {"agent_id": agent_id, "attempt": attempt, **data},
            f"{coordination_id}.{agent_id}.a{attempt}.{kind.value}",
        )
        return self.enqueue_settled(spec, settled)

    def finished(self, coordination_id: str, final: str, reason: str = "") -> None:
        """Announce the end of a coordination (once, whoever ends it)."""
        if not final:
            return
        self.signal(
            coordination_id,
            SignalType.COORDINATION_FINISHED,
            "system",
            {"status": final, "reason": reason},
            f"{coordination_id}.finished",
        )

    # -- plans -------------------------------------------------------------------------------------------------

    def apply(
        self,
        spec: WorkflowSpec,
        coordination_id: str,
        agent_id: str,
        attempt: int,
        plan: Plan,
        *,
        result: dict[str, Any] | None,
        quality: float | None,
        error: str,
        decision: str,
        mode: str = "finish",
        routing: Sequence[dict[str, str]] = (),
    ) -> bool:
        """Carry out ``plan`` for one agent; False when another delivery already did (nothing done).

        ``routing`` are the routing-stream entries of this decision, stored with the outcome (one round trip).
        """
        outcome = "skipped" if plan.outcome == "rearmed" else plan.outcome
        if plan.enqueue:
            # Before settling: settling the last open agent would finish the coordination, and a branch target
            # must be counted open first. Enqueueing is idempotent, so a duplicate delivery changes nothing.
            pending = self.records.pending_counts(coordination_id)
            ready = [other for other in plan.enqueue if pending.get(other, 0) <= 0]
            self.enqueue(spec, coordination_id, ready, mode="branch")
        if outcome in ("failed", "timed_out") and plan.reason and plan.reason != error:
            error = f"{plan.reason}; last error: {error}" if error and error not in plan.reason else plan.reason
        # END / ERROR after an attempt: end the coordination before announcing the attempt's outcome, so the agents
        # it would unblock are not started any more (agents not started are skipped by the same script). A waiting
        # agent settled by "mark" (a dependency time-out) must be settled first, or the end would skip it.
        ended_here = (
            bool(plan.end)
            and mode == "finish"
            and self.records.end(coordination_id, str(plan.end), plan.reason or decision)
        )
        first, final, coordination_status = self.records.settle(
            coordination_id,
            agent_id,
            mode=mode,
            attempt=attempt,
            outcome=outcome,
            result=result,
            quality=quality,
            error=error,
            decision=decision,
            routing=routing,
        )
        if not first:
            logger.info("%s/%s attempt %s was already settled; nothing done twice", coordination_id, agent_id, attempt)
            return False
        summary = {"quality_score": quality, "decision": decision, "reason": plan.reason}
        if outcome == "completed":
            self.announce_done(spec, coordination_id, agent_id, attempt, False, {**(result or {}), **summary})
        elif outcome == "skipped":
            self.announce_done(spec, coordination_id, agent_id, attempt, True, summary)
        elif outcome == "retrying":
            self.signal(
                coordination_id,
                SignalType.AGENT_RETRYING,
                agent_id,
                {"agent_id": agent_id, "attempt": attempt, "retry_in_s": plan.retry_delay, **summary, "error": error},
                f"{coordination_id}.{agent_id}.a{attempt}.retrying",
            )
            next_attempt = self.records.enqueue(coordination_id, agent_id, "retry", attempt + 1)
            if next_attempt:
                self.send_agent(spec, coordination_id, agent_id, next_attempt, countdown=plan.retry_delay)
        else:  # failed, timed_out
            self.signal(
                coordination_id,
                SignalType.AGENT_FAILED,
                agent_id,
                {"agent_id": agent_id, "attempt": attempt, "error": error or plan.reason, "status": outcome},
                f"{coordination_id}.{agent_id}.a{attempt}.failed",
            )
        for other in plan.skip:
            first_skip, skip_final, _status = self.records.settle(
                coordination_id,
                other,
                mode="mark",
                attempt=0,
                outcome="skipped",
                error=f"skipped by {agent_id}",
                decision="skip",
            )
            if first_skip:
                self.announce_done(spec, coordination_id, other, 0, True, {"reason": f"skipped by {agent_id}"})
                final = final or skip_final
        if ended_here or (
            plan.end and mode != "finish" and self.records.end(coordination_id, str(plan.end), plan.reason or decision)
        ):
            final = str(plan.end)
        # A coordination that had already ended when this outcome was settled (ended early by another agent) is
        # announced again; the announcement's id is deterministic, so it is stored once. The settle script
        # reports that status, which saves reading the record once more.
        ended = coordination_status if coordination_status in ("completed", "failed") else ""
        self.finished(coordination_id, final or ended, plan.reason if plan.end else "")
        return True
