"""Beat's safety net: due dependency checks (time-outs, conditions without events) and agent repairs.

Events do the normal work; this finds what they cannot: dependencies whose time ran out, conditions written
straight into the state, attempts whose worker died (expired leases), and queued attempts whose message was never
sent or was lost. Everything it must look at sits in two sorted sets by due time (``due`` for dependencies,
``agents-due`` for agents), so a poll reads what is due, not every active coordination: its cost follows what is
due, not how many coordinations run. Each item is handled on its own: one that cannot be processed ends its
coordination as failed with the reason, and the others go on. A poll stops after its time budget; what is left
stays due for the next one.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pydantic import ValidationError

from config.settings import get_settings
from coordination.dependency_conditions import release_dependency
from coordination.errors import InvalidInputError
from coordination.models.signals import SignalType
from coordination.pipeline.components import Components, components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.records import Send, parse_sends
from coordination.pipeline.routing import orchestrator_for, routing_reason
from coordination.pipeline.spec_cache import workflow_of
from coordination.planning import (
    Plan,
    parse_default_action,
    plan_after_dependency,
    plan_after_timeout,
    routing_state,
)
from coordination.signals import SettledDependency
from coordination.store.connection import STORE_ERRORS, sync_client
from coordination.store.scripts import script

logger = logging.getLogger(__name__)

#: Items read from a due set at a time.
PAGE = 200


@dataclass
class PollReport:
    """What one poll did."""

    checked: int = 0
    resolved: int = 0
    timed_out: int = 0
    enqueued: list[str] = field(default_factory=list)
    resent: int = 0
    taken_over: int = 0
    failed: list[str] = field(default_factory=list)
    unfinished: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "checked": self.checked,
            "resolved": self.resolved,
            "timed_out": self.timed_out,
            "enqueued": self.enqueued,
            "resent": self.resent,
            "taken_over": self.taken_over,
            "failed": self.failed,
            "unfinished": self.unfinished,
        }


def poll(
    parts: Components | None = None,
    *,
    budget_seconds: float | None = None,
    keep_alive: Callable[[], bool] | None = None,
    now: int | None = None,
) -> PollReport:
    """Handle every due dependency check and every due agent, within ``budget_seconds``.

    Args:
        parts: the pipeline components (default: this process's).
        budget_seconds: stop after this long (default: three poll intervals); the rest stays due.
        keep_alive: called between pages; returning False stops the poll (its lock was lost).
        now: the time to poll at, in ms (tests; default: the current time, read again for every item, so each
            settlement records when it happened, not when its poll began).
    """
    parts = parts or components()
    dispatcher = Dispatcher(parts, None if now is None else (lambda: now))
    report = PollReport()
    budget = budget_seconds if budget_seconds is not None else get_settings().poll_interval_seconds * 3
    stop_at = time.monotonic() + budget
    for source in (_dependency_page, _agent_page):
        while True:
            if time.monotonic() > stop_at or (keep_alive is not None and not keep_alive()):
                report.unfinished = True
                return report
            handled = source(dispatcher, report, stop_at)
            if handled < PAGE:
                break
    return report


def poll_due_dependencies(limit: int = 1000, parts: Components | None = None) -> PollReport:
    """Check every dependency whose check time has come (what beat's poll does first); kept for callers."""
    parts = parts or components()
    report = PollReport()
    _dependency_page(Dispatcher(parts), report, time.monotonic() + 60, limit)
    return report


def _dependency_page(dispatcher: Dispatcher, report: PollReport, stop_at: float, limit: int = PAGE) -> int:
    keys = dispatcher.parts.keys
    due = sync_client().zrangebyscore(keys.due, "-inf", dispatcher.records.clock(), start=0, num=limit)
    for member in due:
        if time.monotonic() > stop_at:
            break
        coordination_id, _, dependency_id = member.partition("/")
        _isolated(
            dispatcher,
            report,
            coordination_id,
            partial(check_dependency, dispatcher, coordination_id, dependency_id, report=report),
        )
    return len(due)


def check_dependency(
    dispatcher: Dispatcher,
    coordination_id: str,
    dependency_id: str,
    *,
    checked_by: str = "beat",
    report: PollReport | None = None,
) -> list[str]:
    """Check one dependency now, as beat's poll does, and carry out what follows; return the agents sent.

    Settles it if its condition holds (sending the agent it made ready), times it out at its deadline, and routes a
    time-out or failure for the agent that waited on it (:func:`handle_dependency_timeout`). One that timed out or
    failed earlier but whose agent still waits (its router stopped half-way) is routed now.
    """
    keys = dispatcher.parts.keys
    # The time of this check, not of the page's start: a page of time-outs takes a while, and the record keeps when
    # each one fired (resolved_ms).
    at = dispatcher.records.clock()
    status, ready, _deadline, owner, _type, *queued = script("deps_check")(
        sync_client(),
        [],
        [
            keys.namespace_prefix,
            keys.coordination_prefix,
            at,
            coordination_id,
            dependency_id,
            "poll",
            checked_by,
            get_settings().dispatch_grace_seconds * 1000,
        ],
    )
    report = report if report is not None else PollReport()
    report.checked += 1
    enqueued: list[str] = []
    if status == "resolved":
        report.resolved += 1
        if queued:
            enqueued = dispatcher.start_unblocked(
                [
                    SettledDependency(
                        coordination_id, dependency_id, "resolved", ready, True, int(str(queued[0]).split("/")[2])
                    )
                ]
            )
    elif status in ("timeout", "failed") and owner:
        report.timed_out += 1
        enqueued = handle_dependency_timeout(dispatcher, coordination_id, dependency_id, owner, status)
    report.enqueued += enqueued
    return enqueued


def handle_dependency_timeout(
    dispatcher: Dispatcher, coordination_id: str, dependency_id: str, owner: str, status: str
) -> list[str]:
    """Route a dependency's time-out (or failure: a rejected approval) for the agent that waited on it.

    The dependency's declared default (``on_timeout``, ``on_reject``) decides when there is one; otherwise the
    agent's routing does (see :func:`coordination.planning.plan_after_dependency`). Safe to call twice for the same
    settlement: the agent's settlement is first-caller-wins, a re-arm or a release happens once.
    """
    records = dispatcher.records
    if not records.meta(coordination_id):
        return []
    spec = workflow_of(records, coordination_id)
    parts = dispatcher.parts
    record_key = parts.keys.coordination(coordination_id).dependency(dependency_id)
    rearms, cause, dependency_type = sync_client().hmget(record_key, "rearms", "error", "type")
    rearms_used = int(rearms or 0)
    dispatcher.emit(
        coordination_id,
        SignalType.DEPENDENCY_TIMEOUT,
        "system",
        {"dependency_id": dependency_id, "agent_id": owner, "status": status},
        f"{coordination_id}.{dependency_id}.{status}.r{rearms_used}",
    )
    declared = next((d for d in spec.all_dependencies() if d.id == dependency_id), None)
    default = declared.default_for(status) if declared else None
    error = (
        f"dependency {dependency_id!r} timed out"
        if status == "timeout"
        else str(cause or f"dependency {dependency_id!r} failed")
    )
    max_rearms = declared.max_retries if declared else 0
    if default is not None:
        decision: dict[str, Any] = {"decision": parse_default_action(default)[0]}
    else:
        extra: dict[str, Any] = {"dependency_id": dependency_id, "dependency_status": status}
        if dependency_type == "approval":
            extra["approval"] = "rejected" if status == "failed" else "timeout"
        state = routing_state(
            None,
            event="dependency_timeout",
            attempt=1,
            completed=records.completed_agents(coordination_id),
            priority=spec.agents[owner].priority,
            error=error,
            extra=extra,
        )
        decision = orchestrator_for(coordination_id, spec, owner, parts.state).route(
            state, current_task=owner, correlation_id=coordination_id
        )
    plan = plan_after_dependency(
        status,
        decision["decision"],
        declared=default,
        rearms_left=max_rearms - rearms_used,
        next_task=decision.get("next_task"),
        cause="" if status == "timeout" else error,
        reasoning=routing_reason(decision) or error,
    )
    keys = parts.keys
    if plan.outcome == "rearmed":
        rearmed, why = script("deps_rearm")(
            sync_client(),
            [],
            [
                keys.namespace_prefix,
                keys.coordination_prefix,
                records.clock(),
                coordination_id,
                dependency_id,
                max_rearms,
            ],
        )
        if int(rearmed):
            logger.info("%s: dependency %s re-armed after its time-out", coordination_id, dependency_id)
            return []
        if why != "no re-arms left":
            return []  # no longer timed out: another router of this time-out re-armed it first
        plan = plan_after_timeout("error", rearms_left=0, next_task=None, reasoning="no re-arms left")
    if plan.outcome == "released":
        released, queued = release_dependency(
            keys,
            coordination_id,
            dependency_id,
            now_ms=records.clock(),
            grace_ms=get_settings().dispatch_grace_seconds * 1000,
        )
        if released:
            logger.info("%s: %s; %s goes on without it", coordination_id, plan.reason, owner)
        return dispatcher.send_for(spec, parse_sends(queued))
    settled = dispatcher.apply(
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
    # Routed: a check now finds its agent settled and takes it out of the due set (it was kept there in case this
    # process stopped before routing it).
    script("deps_check")(
        sync_client(),
        [],
        [keys.namespace_prefix, keys.coordination_prefix, records.clock(), coordination_id, dependency_id, "check", ""],
    )
    return [send.agent_id for send in settled.sends]


def _agent_page(dispatcher: Dispatcher, report: PollReport, stop_at: float) -> int:
    due = dispatcher.records.due_agents(dispatcher.records.clock(), PAGE)
    for coordination_id, agent_id in due:
        if time.monotonic() > stop_at:
            break
        _isolated(
            dispatcher, report, coordination_id, partial(_recover_agent, dispatcher, report, coordination_id, agent_id)
        )
    return len(due)


def _recover_agent(dispatcher: Dispatcher, report: PollReport, coordination_id: str, agent_id: str) -> None:
    settings = get_settings()
    run = f"beat-{uuid.uuid4().hex}"
    action, attempt = dispatcher.records.recover(
        coordination_id,
        agent_id,
        requeue_ms=settings.requeue_after_seconds * 1000,
        max_takeovers=settings.max_redeliveries,
        lease_ms=settings.lease_seconds * 1000,
        run=run,
        grace_ms=settings.dispatch_grace_seconds * 1000,
    )
    if action == "resend":
        report.resent += 1
        report.enqueued += dispatcher.send_any([Send(coordination_id, agent_id, attempt, 0.0)])
        logger.info(
            "%s/%s attempt %s re-sent (lost message, or its worker was lost)", coordination_id, agent_id, attempt
        )
    elif action == "exhausted":
        report.taken_over += 1
        spec = workflow_of(dispatcher.records, coordination_id)
        reason = (
            f"the attempt's worker was lost more than {settings.max_redeliveries} times (its lease expired each "
            "time); giving up (COORD_MAX_REDELIVERIES)"
        )
        logger.error("%s/%s attempt %s: %s", coordination_id, agent_id, attempt, reason)
        dispatcher.apply(
            spec,
            coordination_id,
            agent_id,
            attempt,
            Plan("failed", reason, end="failed"),
            run=run,
            result=None,
            quality=None,
            error=reason,
            decision="error",
        )


def _isolated(dispatcher: Dispatcher, report: PollReport, coordination_id: str, work: Callable[[], object]) -> None:
    """Run one item's work; a coordination whose records cannot be processed fails alone, with the reason."""
    try:
        work()
    except STORE_ERRORS:
        raise  # the store is in trouble: this poll ends, the next one retries everything still due
    except (InvalidInputError, ValidationError, KeyError, ValueError, TypeError) as error:
        reason = f"beat could not process this coordination's records: {type(error).__name__}: {error}"
        logger.error("%s: %s; it is failed so the others go on", coordination_id, reason)
        report.failed.append(coordination_id)
        fail_unprocessable(dispatcher, coordination_id, reason)


def fail_unprocessable(dispatcher: Dispatcher, coordination_id: str, reason: str) -> None:
    """End a coordination beat cannot process as failed, and take it out of the due sets."""
    try:
        dispatcher.end(coordination_id, "failed", reason[:2000], agent_status="skipped")
    except (InvalidInputError, ValueError) as error:  # an id that cannot even build a signal id
        logger.error("%s: could not be ended (%s)", coordination_id, error)
    client = sync_client()
    keys = dispatcher.parts.keys
    for due_set in (keys.agents_due, keys.due):
        # Ids hold no glob characters ([A-Za-z0-9._-]), so the pattern matches this coordination's members only.
        members = [member for member, _score in client.zscan_iter(due_set, match=f"{coordination_id}/*")]
        if members:
            client.zrem(due_set, *members)
