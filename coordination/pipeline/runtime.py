"""One agent attempt inside a worker: admit the delivery, run the user's function, route, dispatch.

Nothing here waits for another task: dependents are enqueued by whoever completes their last dependency.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from config.settings import get_settings
from coordination import jsonutil
from coordination.dependencies import DependencyResolver
from coordination.errors import AttemptCancelledError, InvalidInputError
from coordination.ids import validate_id
from coordination.models.context import AgentContext
from coordination.models.signals import SignalType
from coordination.models.workflow import WorkflowSpec
from coordination.pipeline.components import Components, components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.records import Records
from coordination.pipeline.routing import orchestrator_for
from coordination.pipeline.spec_cache import cached_workflow, remember_workflow
from coordination.planning import Plan, compute_backoff, plan_after_attempt, routing_state
from coordination.state import ThreadSafeState

logger = logging.getLogger(__name__)

AgentFunction = Callable[["AgentRun"], Any]


@dataclass
class AgentRun:
    """What an agent function receives: its context, the shared state, and ways to talk to the others.

    Attributes:
        coordination_id: the coordination this attempt belongs to.
        agent_id: the agent's id in the workflow.
        attempt: 1 for the first run, 2 for the first retry, ...
        context: the agent's distributed context (assignment, shared intelligence, resource allocation).
        input: the input the coordination was submitted with.
        state: versioned state shared by this coordination's agents (its own namespace).
    """

    coordination_id: str
    agent_id: str
    attempt: int
    context: AgentContext | None
    input: Any
    state: ThreadSafeState[Any]
    _parts: Components = field(repr=False)
    _spec: WorkflowSpec = field(repr=False)

    @property
    def idempotency_key(self) -> str:
        """A key unique to this attempt: use it to make external side effects idempotent under redelivery."""
        return f"{self.coordination_id}.{self.agent_id}.a{self.attempt}"

    @property
    def resolver(self) -> DependencyResolver:
        """The pipeline's dependency resolver."""
        return self._parts.resolver

    def is_cancelled(self) -> bool:
        """Tell whether this attempt's coordination has ended (cancelled, or ended by another agent or a failure).

        One Redis read. A long-running agent can call it between steps and stop early: the coordination will
        not use what it produces any more.
        """
        status = Records(self._parts.keys).status(self.coordination_id)
        return status is not None and status != "running"

    def raise_if_cancelled(self) -> None:
        """Raise :class:`~coordination.errors.AttemptCancelledError` if the coordination has ended.

        Let it propagate: the attempt is then recorded as skipped (``error = "cancelled: ..."``), not as a failure,
        and it is neither routed nor retried.
        """
        if self.is_cancelled():
            raise AttemptCancelledError(f"coordination {self.coordination_id!r} has ended")

    def result_of(self, agent_id: str) -> dict[str, Any] | None:
        """The recorded result of another agent of this coordination (None if it has none)."""
        raw = Records(self._parts.keys).agent(self.coordination_id, validate_id(agent_id, "agent_id")).get("result")
        return None if raw is None else dict(jsonutil.loads(raw))

    def signal(
        self, event_type: str | SignalType, data: dict[str, Any] | None = None, recipients: list[str] | None = None
    ) -> None:
        """Send a signal to the other agents (e.g. ``inter_agent_message``)."""
        self._parts.signals.emit_sync(
            self.coordination_id,
            [
                {
                    "event_type": event_type,
                    "event_data": data or {},
                    "sender_agent_id": self.agent_id,
                    "recipient_agents": recipients,
                }
            ],
        )

    def report_quality(self, gate_id: str, score: float) -> None:
        """Score a quality gate (0..1); agents waiting on it start as soon as the score passes their threshold."""
        settled = self._parts.resolver.update_quality_gate_score_sync(gate_id, score)
        self._start_unblocked(settled)

    def mark_resource(self, resource_id: str, available: bool = True) -> None:
        """Mark a resource available; agents waiting on it start at once."""
        settled = self._parts.resolver.mark_resource_available_sync(resource_id, available)
        self._start_unblocked(settled)

    def _start_unblocked(self, settled: list[Any]) -> None:
        Dispatcher(self._parts).start_unblocked(settled)


def coordination_state_namespace(coordination_id: str) -> str:
    """The namespace of the state shared by one coordination's agents (``<pipeline namespace>.<cid>``)."""
    return f"{get_settings().pipeline_namespace}.{coordination_id}"[:128]


def coordination_state(coordination_id: str) -> ThreadSafeState[Any]:
    """The versioned state shared by one coordination's agents."""
    return ThreadSafeState(namespace=coordination_state_namespace(coordination_id))


def execute_attempt(
    function: AgentFunction, coordination_id: str, agent_id: str, attempt: int, task_id: str
) -> dict[str, Any]:
    """Run one delivery of an agent message and return a small summary for the result backend."""
    validate_id(coordination_id, "coordination_id")
    validate_id(agent_id, "agent_id")
    parts = components()
    dispatcher = Dispatcher(parts)
    records = dispatcher.records
    settings = get_settings()
    # One round trip admits the delivery and reads what the attempt needs (and the workflow, if this process has
    # not seen the coordination yet): the first steps of an attempt are latency, not work.
    cached = cached_workflow(coordination_id)
    if cached is not None and agent_id not in cached.agents:
        raise InvalidInputError("agent_id", f"{agent_id!r} is not an agent of coordination {coordination_id!r}")
    admission = records.admit(
        coordination_id, agent_id, attempt, task_id, settings.max_redeliveries + 1, with_workflow=cached is None
    )
    if cached is None:
        if admission.workflow_json is None:
            raise InvalidInputError(
                "coordination_id",
                f"no coordination {coordination_id!r} in Redis (never submitted, or expired after archiving)",
            )
        spec = remember_workflow(coordination_id, admission.workflow_json)
        if agent_id not in spec.agents:
            raise InvalidInputError("agent_id", f"{agent_id!r} is not an agent of coordination {coordination_id!r}")
    else:
        spec = cached
    verdict, detail = admission.verdict, admission.detail
    if verdict == "exhausted":
        reason = f"message delivered {detail} times without finishing; giving up"
        plan = plan_after_attempt(
            "error",
            failed=True,
            attempt=attempt,
            max_attempts=attempt,
            next_task=None,
            reasoning=reason,
            backoff=lambda _n: 0.0,
        )
        dispatcher.apply(
            spec, coordination_id, agent_id, attempt, plan, result=None, quality=None, error=reason, decision="error"
        )
        return {"agent": agent_id, "attempt": attempt, "status": "failed", "reason": reason}
    if verdict != "run":
        logger.info("%s/%s attempt %s not run: %s (%s)", coordination_id, agent_id, attempt, verdict, detail)
        return {"agent": agent_id, "attempt": attempt, "status": verdict, "detail": detail}

    context = None if admission.context_json is None else AgentContext.model_validate_json(admission.context_json)
    dispatcher.signal(
        coordination_id,
        SignalType.AGENT_INITIALIZED,
        agent_id,
        {"agent_id": agent_id, "attempt": attempt, "ready": True},
        f"{coordination_id}.{agent_id}.a{attempt}.initialized",
    )
    run = AgentRun(
        coordination_id,
        agent_id,
        attempt,
        context,
        None if admission.input_json is None else jsonutil.loads(admission.input_json),
        coordination_state(coordination_id),
        parts,
        spec,
    )
    started = time.perf_counter()
    result: dict[str, Any] | None = None
    error = ""
    try:
        result = _normalise(function(run))
    except AttemptCancelledError as exc:  # the agent stopped because its coordination ended: nothing to route
        reason = f"cancelled: {exc}"
        logger.info("agent %s/%s attempt %s stopped: %s", coordination_id, agent_id, attempt, reason)
        applied = dispatcher.apply(
            spec,
            coordination_id,
            agent_id,
            attempt,
            Plan("skipped", reason),
            result=None,
            quality=None,
            error=reason,
            decision="",
        )
        return {"agent": agent_id, "attempt": attempt, "status": "skipped" if applied else "duplicate"}
    except Exception as exc:  # the agent's own failure: routed like any other outcome
        error = f"{type(exc).__name__}: {exc}"
        logger.warning("agent %s/%s attempt %s raised %s", coordination_id, agent_id, attempt, error)
    elapsed_ms = (time.perf_counter() - started) * 1000
    quality = _quality(result)
    if result is not None:
        result.setdefault("execution_time_ms", round(elapsed_ms, 3))

    completed = records.completed_agents(coordination_id)
    agent_spec = spec.agents[agent_id]
    state = routing_state(
        result,
        event="failed" if error else "completed",
        attempt=attempt,
        completed=[*completed, agent_id] if not error else completed,
        priority=agent_spec.priority,
        error=error or None,
    )
    orchestrator = orchestrator_for(coordination_id, spec, agent_id, parts.state)
    decision = orchestrator.route(state, current_task=agent_id, retry_count=attempt - 1, correlation_id=coordination_id)
    routing_entries = orchestrator.take_unpersisted()  # stored with the outcome, in the same round trip
    max_attempts = 1 + agent_spec.resources.max_retry_attempts
    plan = plan_after_attempt(
        decision["decision"],
        failed=bool(error),
        attempt=attempt,
        max_attempts=max_attempts,
        next_task=decision.get("next_task"),
        parallel_tasks=decision.get("metadata", {}).get("parallel_tasks", ()),
        reasoning=error or decision.get("reasoning", ""),
        backoff=lambda n: compute_backoff(n, settings.retry_backoff_base_seconds, settings.retry_backoff_max_seconds),
    )
    applied = dispatcher.apply(
        spec,
        coordination_id,
        agent_id,
        attempt,
        plan,
        result=result,
        quality=quality,
        error=error,
        decision=decision["decision"],
        routing=routing_entries,
    )
    return {
        "agent": agent_id,
        "attempt": attempt,
        "status": plan.outcome if applied else "duplicate",
        "decision": decision["decision"],
        "elapsed_ms": round(elapsed_ms, 3),
    }


def _normalise(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        return {"summary": str(value)}
    jsonutil.dumps(value, "agent result", get_settings().max_signal_bytes)
    return dict(value)


def _quality(result: dict[str, Any] | None) -> float | None:
    if not result:
        return None
    value = result.get("quality_score")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)
