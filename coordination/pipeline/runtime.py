"""One agent attempt inside a worker: admit the delivery, run the user's function under a lease, route, settle.

Nothing here waits for another task: dependents are queued by the settlement that completes their last dependency.
"""

from __future__ import annotations

import logging
import math
import time
import traceback as tb
import uuid
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from config.settings import get_settings
from coordination import jsonutil
from coordination.dependencies import DependencyResolver
from coordination.errors import AttemptCancelledError, CoordinationNotFoundError, InvalidInputError
from coordination.ids import validate_id
from coordination.models.context import AgentContext
from coordination.models.fan_out import MapInputError, items_at, resolve_over
from coordination.models.signals import SignalType
from coordination.models.workflow import MapSpec, WorkflowSpec
from coordination.pipeline import progress
from coordination.pipeline.components import Components, components
from coordination.pipeline.conditions import ConditionChange, mark_resource, set_gate
from coordination.pipeline.dispatch import Dispatcher, queue_for
from coordination.pipeline.leases import holding
from coordination.pipeline.limit_usage import Deferral, use_tokens
from coordination.pipeline.records import Admission, MapItem, Records, Send, now_ms
from coordination.pipeline.routing import orchestrator_for, routing_reason
from coordination.pipeline.spec_cache import cached_workflow, remember_workflow
from coordination.planning import Plan, compute_backoff, plan_after_attempt, routing_state
from coordination.rate_limits import check_token_count
from coordination.state import ThreadSafeState
from coordination.store.keys import coordination_state_namespace

logger = logging.getLogger(__name__)

AgentFunction = Callable[["AgentRun"], Any]

#: Log lines an attempt keeps (``run.log``), and the longest line; more are counted, not kept.
MAX_LOG_LINES = 200
MAX_LOG_LINE = 2000


class AttemptLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """``run.log``: a standard logger adapter whose lines also stay with the attempt (``coord logs``).

    Lines go to the worker's log as usual (logger ``coordination.agent.<agent id>``) and, bounded, to the
    coordination's log stream when the attempt is settled.
    """

    def __init__(self, agent_id: str, coordination_id: str, attempt: int) -> None:
        super().__init__(logging.getLogger(f"coordination.agent.{agent_id}"), {})
        self.context = f"{coordination_id}/{agent_id} a{attempt}"
        self.lines: list[list[str]] = []
        self.dropped = 0

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        """Prefix the attempt to worker-log lines."""
        return f"[{self.context}] {msg}", kwargs

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        """Log ``msg`` (``%``-formatted with ``args``) at ``level`` and keep the line with the attempt."""
        if len(self.lines) < MAX_LOG_LINES:
            text = str(msg) % args if args else str(msg)
            self.lines.append([repr(time.time()), logging.getLevelName(level), text[:MAX_LOG_LINE]])
        else:
            self.dropped += 1
        super().log(level, msg, *args, **kwargs)

    def kept(self) -> list[list[str]]:
        """The kept lines, with a last line counting the dropped ones."""
        if not self.dropped:
            return self.lines
        return [*self.lines, [repr(time.time()), "WARNING", f"{self.dropped} more line(s) not kept"]]


@dataclass
class AgentRun:
    """What an agent function receives: its context, the shared state, and ways to talk to the others.

    Attributes:
        coordination_id: the coordination this attempt belongs to.
        agent_id: the agent's id in the workflow.
        attempt: 1 for the first run, 2 for the first retry, ...
        context: the agent's distributed context (assignment, shared intelligence, resource allocation); read
            from its stored JSON when first used.
        input: the input the coordination was submitted with.
        state: versioned state shared by this coordination's agents (its own namespace).
        log: a logger for this attempt (``run.log.info(...)``): lines reach the worker log and ``coord logs``.
        item: for an agent declared with ``map:``, the item of the list this attempt runs for (None otherwise).
        index: the item's 0-based position in the list (None for an agent without ``map:``).
        map_count: how many items the list has (None for an agent without ``map:``).
    """

    coordination_id: str
    agent_id: str
    attempt: int
    _context_json: str | None = field(repr=False)
    input: Any
    state: ThreadSafeState[Any]
    log: AttemptLog
    _parts: Components = field(repr=False)
    _spec: WorkflowSpec = field(repr=False)
    item: Any = None
    index: int | None = None
    map_count: int | None = None
    _lease: str = field(default="", repr=False)  # the run token of the delivery that holds the attempt's lease

    @cached_property
    def context(self) -> AgentContext | None:
        """The agent's distributed context (None if it has none), parsed once, when first read."""
        return None if self._context_json is None else AgentContext.model_validate_json(self._context_json)

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

        Let it propagate: the attempt is then recorded as cancelled (with the reason), not as a failure, and it is
        neither routed nor retried.
        """
        if self.is_cancelled():
            raise AttemptCancelledError(f"coordination {self.coordination_id!r} has ended")

    def result_of(self, agent_id: str) -> Any:
        """The recorded result of another agent of this coordination (None if it has none).

        An agent's result is an object (a dict); a map agent's is the list of its items' results, in item order.
        """
        raw = Records(self._parts.keys).agent(self.coordination_id, validate_id(agent_id, "agent_id")).get("result")
        return None if raw is None else jsonutil.loads(raw)

    def progress(self, fraction: float, message: str = "") -> bool:
        """Report how far this attempt is (0..1, with an optional message): ``coord watch``, status, web view.

        Live only (the archive keeps the result, not the progress); one round trip. Returns False, writing
        nothing, when this attempt no longer holds its lease (another delivery took it over, or it was settled).

        Raises:
            InvalidInputError: ``fraction`` is not a finite number from 0 to 1, or ``message`` is not a text of
                at most 500 characters.
        """
        value = progress.checked_fraction(fraction)
        text = progress.checked_text(message, "message", progress.MAX_PROGRESS_MESSAGE_LENGTH)
        return progress.announce(
            self._parts, self.coordination_id, self.agent_id, self.attempt, self._lease, fraction=value, message=text
        )

    def stream(self, text: str) -> bool:
        """Send a chunk of text as it is produced (e.g. a model's tokens): ``coord watch`` prints it live.

        The agent's record keeps the end of the streamed text (4,000 bytes) for ``coord status`` and the web view;
        the first 500 chunks of an attempt are also events on the signal stream. Nothing is archived: return the
        final text as the result. Send chunks of some words, not single characters: each call is one round trip.
        Returns False, writing nothing, when this attempt no longer holds its lease.

        Raises:
            InvalidInputError: ``text`` is not a text of at most 8,192 characters.
        """
        chunk = progress.checked_text(text, "text", progress.MAX_STREAM_CHUNK_LENGTH)
        if not chunk:
            return True
        return progress.announce(
            self._parts, self.coordination_id, self.agent_id, self.attempt, self._lease, text=chunk
        )

    def signal(
        self, event_type: str | SignalType, data: dict[str, Any] | None = None, recipients: list[str] | None = None
    ) -> None:
        """Send a signal to the other agents (e.g. ``inter_agent_message``)."""
        outcome = self._parts.signals.emit_sync(
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
        Dispatcher(self._parts).start_unblocked(outcome.settled)

    def set_gate(self, gate_id: str, score: float, *, global_scope: bool = False) -> None:
        """Score a quality gate (0..1) of this coordination; its agents waiting on it start once the score passes.

        ``global_scope=True`` scores the namespace's gate instead (a gate declared ``scope: global``). Once the
        coordination has ended the score is not recorded (nothing waits for it any more).
        """
        self._condition(set_gate, gate_id, score, global_scope)

    def report_quality(self, gate_id: str, score: float) -> None:
        """Score a quality gate of this coordination (:meth:`set_gate`)."""
        self.set_gate(gate_id, score)

    def mark_resource(self, resource_id: str, available: bool = True, *, global_scope: bool = False) -> None:
        """Mark a resource of this coordination (un)available; its agents waiting only for it start at once.

        ``global_scope=True`` marks the namespace's resource (declared ``scope: global``) for every coordination.
        """
        self._condition(mark_resource, resource_id, available, global_scope)

    def use_tokens(self, tokens: int) -> None:
        """Record ``tokens`` used by this attempt against the token limits of this agent's limit keys.

        Attempts of the agent's keys start only while the tokens used within the declared period stay below the
        limit (``tokens: "90000/m"``); every limit key counts the tokens (``coord limits``). Without limits this
        does nothing (no round trip).

        Raises:
            InvalidInputError: ``tokens`` is not a whole number from 1 to 10**12 (field ``tokens``).
        """
        count = check_token_count(tokens)
        if self._spec.has_limits(self._spec.owner_of(self.agent_id) or self.agent_id):
            use_tokens(self._parts.keys, self.coordination_id, self.agent_id, count, now_ms())

    def _condition(
        self, change: Callable[..., ConditionChange], target: str, value: bool | float, global_scope: bool
    ) -> None:
        if global_scope:
            change(target, value, global_scope=True, parts=self._parts)
            return
        try:
            change(target, value, coordination_id=self.coordination_id, parts=self._parts)
        except InvalidInputError as error:
            if error.field == "coordination_id" and self.is_cancelled():
                return  # the coordination ended while this attempt ran: nothing waits for the value any more
            raise


def coordination_state(coordination_id: str) -> ThreadSafeState[Any]:
    """The versioned state shared by one coordination's agents (namespace ``<pipeline namespace>.<cid>``)."""
    return ThreadSafeState(namespace=coordination_state_namespace(get_settings().pipeline_namespace, coordination_id))


@dataclass(frozen=True)
class AttemptOutcome:
    """What one delivery of an agent message did (the agent task turns it into a Celery state).

    Attributes:
        status: the attempt's outcome (completed, failed, timed_out, retrying, skipped, cancelled), or why the
            delivery did not run it (duplicate, stale, cancelled, gone, deferred: over a limit, sent again later).
        ran: the agent function ran in this delivery.
        decision: the routing decision, if one was made.
        error: the agent's error (``Type: message``), if it raised.
        exception: the exception the agent raised, if any (for the worker log's traceback).
        retry_in: seconds until the retry (status ``retrying``).
        detail: more about a refused delivery.
    """

    status: str
    ran: bool = False
    decision: str = ""
    error: str = ""
    exception: BaseException | None = None
    retry_in: float | None = None
    detail: str = ""
    elapsed_ms: float | None = None

    def as_dict(self, agent_id: str, attempt: int) -> dict[str, Any]:
        """The task's result as Flower shows it."""
        summary: dict[str, Any] = {"agent": agent_id, "attempt": attempt, "status": self.status}
        if self.decision:
            summary["decision"] = self.decision
        if self.detail:
            summary["detail"] = self.detail
        if self.elapsed_ms is not None:
            summary["elapsed_ms"] = round(self.elapsed_ms, 3)
        return summary


def execute_attempt(
    function: AgentFunction, coordination_id: str, agent_id: str, attempt: int, task_id: str
) -> AttemptOutcome:
    """Run one delivery of an agent message and say what it did."""
    validate_id(coordination_id, "coordination_id")
    validate_id(agent_id, "agent_id")
    parts = components()
    dispatcher = Dispatcher(parts, report_sent_later=True)
    records = dispatcher.records
    settings = get_settings()
    cached = cached_workflow(coordination_id)
    if cached is not None and cached.owner_of(agent_id) is None:
        raise InvalidInputError("agent_id", f"{agent_id!r} is not an agent of coordination {coordination_id!r}")
    run_token = uuid.uuid4().hex
    deferred_task_id = str(uuid.uuid4())  # the message's task id if a limit defers the attempt
    # One round trip admits the delivery, takes the lease, announces the start and reads what the attempt needs
    # (and the workflow, if this process has not seen the coordination yet): the first steps are latency.
    admission = records.admit(
        coordination_id,
        agent_id,
        attempt,
        task_id=task_id,
        run=run_token,
        lease_ms=settings.lease_seconds * 1000,
        max_takeovers=settings.max_redeliveries,
        with_workflow=cached is None,
        history=parts.signals.max_history_size,
        initialized=dispatcher.signal_values(
            coordination_id,
            SignalType.AGENT_INITIALIZED,
            agent_id,
            {"agent_id": agent_id, "attempt": attempt, "ready": True},
            f"{coordination_id}.{agent_id}.a{attempt}.initialized",
        ),
        deferred_task_id=deferred_task_id,
    )
    verdict = admission.verdict
    if verdict == "deferred":
        spec = cached or (
            remember_workflow(coordination_id, admission.workflow_json) if admission.workflow_json else None
        )
        if spec is None:
            raise CoordinationNotFoundError(coordination_id, "in Redis with a stored workflow")
        return _defer(dispatcher, spec, coordination_id, agent_id, attempt, admission.detail, deferred_task_id)
    if verdict not in ("run", "exhausted"):
        logger.info("%s/%s attempt %s not run: %s (%s)", coordination_id, agent_id, attempt, verdict, admission.detail)
        return AttemptOutcome(verdict, detail=admission.detail)
    if cached is None:
        spec = (
            remember_workflow(coordination_id, admission.workflow_json)
            if admission.workflow_json
            else cached_workflow(coordination_id)
        )
        if spec is None:
            raise CoordinationNotFoundError(coordination_id, "in Redis with a stored workflow")
    else:
        spec = cached
    if verdict == "exhausted":
        reason = (
            f"the attempt's worker was lost {admission.detail} times (its lease expired each time); giving up "
            f"(COORD_MAX_REDELIVERIES={settings.max_redeliveries})"
        )
        plan = Plan("failed", reason, end="failed")
        dispatcher.apply(
            spec,
            coordination_id,
            agent_id,
            attempt,
            plan,
            run=run_token,
            result=None,
            quality=None,
            error=reason,
            decision="error",
        )
        return AttemptOutcome("failed", error=reason, decision="error")

    owner = spec.owner_of(agent_id)
    if owner is None:
        raise InvalidInputError("agent_id", f"{agent_id!r} is not an agent of coordination {coordination_id!r}")
    agent_spec = spec.agents[owner]
    started = time.perf_counter()
    result: dict[str, Any] | None = None
    error = ""
    trace = ""
    raised: BaseException | None = None
    max_attempts = 1 + agent_spec.resources.max_retry_attempts
    log = AttemptLog(agent_id, coordination_id, attempt)
    if agent_spec.map is not None and owner == agent_id:
        # The map agent's own attempt runs no function: it reads the list and queues one attempt per item.
        expanded = _expand(dispatcher, spec, coordination_id, agent_id, attempt, run_token, agent_spec.map)
        if isinstance(expanded, AttemptOutcome):
            return expanded
        error = expanded
        max_attempts = 0  # the same upstream result gives the same error: no retry, routed as a failure
    else:
        run = _agent_run(admission, parts, spec, log, coordination_id, agent_id, owner, attempt, run_token)
    with holding(records, coordination_id, agent_id, run_token):
        try:
            result = None if error else _normalise(function(run))
        except AttemptCancelledError as exc:  # the agent stopped because its coordination ended: nothing to route
            reason = f"cancelled: {exc}"
            logger.info("agent %s/%s attempt %s stopped: %s", coordination_id, agent_id, attempt, reason)
            settled = dispatcher.apply(
                spec,
                coordination_id,
                agent_id,
                attempt,
                Plan("cancelled", reason),
                run=run_token,
                result=None,
                quality=None,
                error=reason,
                decision="",
                logs=log.kept(),
            )
            return AttemptOutcome("cancelled" if settled.first else "duplicate", ran=True, detail=reason)
        except Exception as exc:  # the agent's own failure: routed like any other outcome
            raised = exc
            error = f"{type(exc).__name__}: {exc}"
            trace = "".join(tb.format_exception(exc))
            logger.warning("agent %s/%s attempt %s raised %s", coordination_id, agent_id, attempt, error)
    elapsed_ms = (time.perf_counter() - started) * 1000
    quality = _quality(result)
    if result is not None:
        result.setdefault("execution_time_ms", round(elapsed_ms, 3))

    # Retries are counted within one run of the agent: after a re-run (coord retry) its attempt numbers go on
    # from the earlier run's, and its retry budget starts afresh. (Only a later attempt needs the extra read.)
    tries = attempt if attempt == 1 else attempt - records.first_attempt(coordination_id, agent_id) + 1
    state = routing_state(
        result,
        event="failed" if error else "completed",
        attempt=tries,
        completed=[*admission.completed, agent_id] if not error else admission.completed,
        priority=agent_spec.priority,
        error=error or None,
    )
    # An item is routed by its map agent's rules (items are not agents of the workflow).
    orchestrator = orchestrator_for(coordination_id, spec, owner, parts.state)
    decision = orchestrator.route(state, current_task=owner, retry_count=tries - 1, correlation_id=coordination_id)
    routing_entries = orchestrator.take_unpersisted()  # stored with the outcome, in the same round trip
    plan = plan_after_attempt(
        decision["decision"],
        failed=bool(error),
        attempt=tries,
        max_attempts=max_attempts,
        next_task=decision.get("next_task"),
        parallel_tasks=decision.get("metadata", {}).get("parallel_tasks", ()),
        reasoning=error or routing_reason(decision),
        backoff=lambda n: compute_backoff(n, settings.retry_backoff_base_seconds, settings.retry_backoff_max_seconds),
    )
    settled = dispatcher.apply(
        spec,
        coordination_id,
        agent_id,
        attempt,
        plan,
        run=run_token,
        result=result,
        quality=quality,
        error=error,
        traceback=trace,
        decision=decision["decision"],
        routing=routing_entries,
        logs=log.kept(),
        retry_task_id=task_id,
    )
    if not settled.first:
        return AttemptOutcome("duplicate", ran=True, detail="another delivery of this attempt was recorded first")
    return AttemptOutcome(
        plan.outcome,
        ran=True,
        decision=decision["decision"],
        error=error,
        exception=raised,
        retry_in=plan.retry_delay,
        elapsed_ms=elapsed_ms,
    )


def _defer(
    dispatcher: Dispatcher,
    spec: WorkflowSpec,
    coordination_id: str,
    agent_id: str,
    attempt: int,
    detail: str,
    task_id: str,
) -> AttemptOutcome:
    """An attempt over one of its limits: send the same message again after the wait; it stays queued meanwhile.

    Not an attempt: its number is unchanged and nothing ran. The message goes under ``task_id``, the one the
    admission recorded: until it comes back, other messages of the attempt are duplicates. If this process dies
    before sending, or the worker holding the message dies, beat re-sends it (the attempt is due in ``agents-due``
    after the wait plus a lease).
    """
    deferral = Deferral.parse(detail)
    task = spec.task_name(spec.owner_of(agent_id) or agent_id)  # (an item of a map agent runs its agent's task)
    dispatcher.publish(task, queue_for(spec), Send(coordination_id, agent_id, attempt, deferral.countdown), task_id)
    logger.debug("%s/%s attempt %s deferred: %s", coordination_id, agent_id, attempt, deferral.describe())
    return AttemptOutcome("deferred", detail=deferral.describe())


def _agent_run(
    admission: Admission,
    parts: Components,
    spec: WorkflowSpec,
    log: AttemptLog,
    coordination_id: str,
    agent_id: str,
    owner: str,
    attempt: int,
    lease: str = "",
) -> AgentRun:
    """What the agent function receives; an item of a map agent also gets its item, index and count."""
    context_json = admission.context_json
    item: MapItem | None = None
    if owner != agent_id:
        item = Records(parts.keys).map_item(coordination_id, agent_id, owner)
        context_json = item.context_json  # an item runs with its map agent's context
    return AgentRun(
        coordination_id,
        agent_id,
        attempt,
        context_json,
        None if admission.input_json is None else jsonutil.loads(admission.input_json),
        coordination_state(coordination_id),
        log,
        parts,
        spec,
        item=None if item is None else item.value,
        index=None if item is None else item.index,
        map_count=None if item is None else item.count,
        _lease=lease,
    )


def _expand(
    dispatcher: Dispatcher,
    spec: WorkflowSpec,
    coordination_id: str,
    agent_id: str,
    attempt: int,
    run_token: str,
    fan_out: MapSpec,
) -> AttemptOutcome | str:
    """Expand a map agent into its items; return what the delivery did, or the error that fails the agent."""
    resolved = resolve_over(fan_out.over, spec.agents)
    if resolved is None:  # (validated at submission; a stored workflow from elsewhere could still lack it)
        return f"map over {fan_out.over}: no such upstream agent"
    upstream, path = resolved
    record = dispatcher.records.agent(coordination_id, upstream)
    raw = record.get("result")
    if raw is None and record.get("status") == "skipped":
        return f"map over {fan_out.over}: {upstream} was skipped, so it has no result to map over"
    try:
        items = items_at(
            None if raw is None else jsonutil.loads(raw), path, max_items=fan_out.max_items, where=fan_out.over
        )
    except MapInputError as exc:
        logger.warning("map agent %s/%s cannot run: %s", coordination_id, agent_id, exc)
        return str(exc)
    settled = dispatcher.expand(spec, coordination_id, agent_id, attempt, run_token, items)
    if not settled.first:
        return AttemptOutcome("duplicate", detail="another delivery of this attempt expanded it first")
    if items and not settled.sends:
        return AttemptOutcome("cancelled", detail=f"coordination {settled.coordination_status}: no item queued")
    return AttemptOutcome("mapped", detail=f"{len(items)} item(s) queued")


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
