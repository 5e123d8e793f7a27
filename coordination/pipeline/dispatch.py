"""Turning decisions into effects: one atomic settlement per outcome, then the messages it asks for.

An outcome and everything that follows from it (its signal, the dependencies it settles, the agents those make
ready, its retry, branch targets, skipped agents, the end of the coordination) is one Lua script run
(``agent_settle.lua``): the first caller wins, a duplicate changes nothing, and a crash can only fall between the
settlement and the sending of the messages it queued — beat re-sends those after ``COORD_DISPATCH_GRACE_SECONDS``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from config.settings import get_settings
from coordination import jsonutil
from coordination.errors import PayloadTooLargeError
from coordination.models.signals import SignalType
from coordination.models.workflow import WorkflowSpec
from coordination.pipeline.background import writer_for
from coordination.pipeline.components import Components
from coordination.pipeline.records import ROUTING_FIELDS, Ended, Records, Send, Settled
from coordination.pipeline.spec_cache import stored_workflow
from coordination.planning import Plan
from coordination.signals import SettledDependency
from coordination.smart_routing import PERSISTED_HISTORY_CAP
from coordination.task_names import agent_task

logger = logging.getLogger(__name__)

#: Longest traceback kept per failed attempt (characters; the end is kept, where the error is raised).
MAX_TRACEBACK = 16 * 1024
#: Longest error message kept on a record.
MAX_ERROR = 2000
#: Log lines and tracebacks kept per coordination in Redis (the archive keeps them all).
MAX_LOG_ENTRIES = 10_000

_SIGNAL_OF_OUTCOME = {
    "completed": SignalType.AGENT_COMPLETED,
    "skipped": SignalType.AGENT_SKIPPED,
    "cancelled": SignalType.AGENT_SKIPPED,
    "retrying": SignalType.AGENT_RETRYING,
    "failed": SignalType.AGENT_FAILED,
    "timed_out": SignalType.AGENT_FAILED,
}


def queue_for(spec: WorkflowSpec) -> str:
    """The queue a coordination's agent messages go to: its stored workflow's, whoever sends them.

    A coordination submitted before workflows carried their queue has none: the settings' queue then.
    """
    return spec.queue or get_settings().task_queue


class Dispatcher:
    """Carries out plans for the coordinations of one namespace.

    Args:
        parts: the pipeline's components.
        clock: the time transitions are made at, in ms (tests; default: now).
        report_sent_later: report sent messages through the process's background writer (agent attempts in a
            worker: no round trip of their own) instead of at once.
    """

    def __init__(
        self, parts: Components, clock: Callable[[], int] | None = None, *, report_sent_later: bool = False
    ) -> None:
        self.parts = parts
        self.records = Records(parts.keys) if clock is None else Records(parts.keys, clock)
        self._report_sent_later = report_sent_later

    # -- messages ----------------------------------------------------------------------------------------------

    def send(
        self,
        sends: Sequence[Send],
        target_of: Callable[[Send], tuple[str, str] | None],
        retry_task_id: str | None = None,
        retrying_agent: str | None = None,
    ) -> list[str]:
        """Send the messages of queued attempts, then tell beat they were sent; return the agents sent.

        ``target_of`` names each attempt's agent task and queue (None: the coordination is gone; nothing is sent).
        The retry of ``retrying_agent`` is sent under ``retry_task_id``.
        """
        sent: list[Send] = []
        for item in sends:
            target = target_of(item)
            if target is None:
                continue
            task, queue = target
            retry_id = retry_task_id if item.agent_id == retrying_agent and item.attempt > 1 else None
            self.publish(task, queue, item, retry_id)
            sent.append(item)
        if self._report_sent_later:
            writer_for(self.records).mark_sent(sent)
        else:
            self.records.mark_sent(sent, get_settings().requeue_after_seconds * 1000)
        return [item.agent_id for item in sent]

    def publish(self, task: str, queue: str, item: Send, task_id: str | None = None) -> None:
        """Publish one attempt's Celery message to ``queue`` (ids only, as keyword arguments)."""
        from config.celery_app import app  # (the Celery app imports this package's tasks: import it when sending)

        app.send_task(
            agent_task(task),
            queue=queue,
            # Keyword arguments: Flower's task list and search show them.
            kwargs={"coordination_id": item.coordination_id, "agent_id": item.agent_id, "attempt": item.attempt},
            countdown=item.countdown or None,
            task_id=task_id,
            # Outcomes live in the coordination's records, not in the result backend; without this, every send
            # subscribes to a result channel that nobody reads.
            ignore_result=True,
        )

    def queue_of(self, coordination_id: str) -> str:
        """The queue of a coordination's agent messages (see :func:`queue_for`), read from its stored workflow."""
        spec = stored_workflow(self.records, coordination_id)
        return get_settings().task_queue if spec is None else queue_for(spec)

    def send_for(
        self,
        spec: WorkflowSpec,
        sends: Sequence[Send],
        retry_task_id: str | None = None,
        retrying_agent: str | None = None,
    ) -> list[str]:
        """Send attempts of one coordination whose workflow is ``spec``."""
        queue = queue_for(spec)
        return self.send(sends, lambda item: (spec.task_name(item.agent_id), queue), retry_task_id, retrying_agent)

    def send_any(self, sends: Sequence[Send]) -> list[str]:
        """Send attempts of any coordinations (their workflows are read from the store when needed)."""

        def target_of(item: Send) -> tuple[str, str] | None:
            spec = stored_workflow(self.records, item.coordination_id)
            if spec is None or spec.owner_of(item.agent_id) is None:
                return None
            return spec.task_name(item.agent_id), queue_for(spec)

        return self.send(sends, target_of)

    def start_unblocked(self, settled: Iterable[SettledDependency]) -> list[str]:
        """Send the first attempts that settled dependencies queued, in whatever coordinations they belong to.

        Coordinations that are not pipeline coordinations (a resolver used directly) queue nothing.
        """
        return self.send_any(
            [
                Send(item.coordination_id, item.ready_agent, item.attempt, 0.0)
                for item in settled
                if item.queued and item.ready_agent
            ]
        )

    # -- signals -----------------------------------------------------------------------------------------------

    def signal_values(
        self, coordination_id: str, signal_type: SignalType, sender: str, data: dict[str, Any], signal_id: str
    ) -> list[str]:
        """The stored form of one signal with a deterministic id (so a re-emission stores nothing twice)."""
        return self.parts.signals.prepare(
            coordination_id,
            {"event_type": signal_type, "event_data": data, "sender_agent_id": sender, "signal_id": signal_id},
        )

    def emit(
        self, coordination_id: str, signal_type: SignalType, sender: str, data: dict[str, Any], signal_id: str
    ) -> list[str]:
        """Emit one signal with a deterministic id and send the attempts it unblocked; return those agents."""
        outcome = self.parts.signals.emit_sync(
            coordination_id,
            [{"event_type": signal_type, "event_data": data, "sender_agent_id": sender, "signal_id": signal_id}],
        )
        return self.start_unblocked(outcome.settled)

    def end(self, coordination_id: str, final: str, reason: str, *, agent_status: str) -> Ended:
        """End a running coordination now (a cancel; a coordination beat cannot process); announce it once."""
        return self.records.end(
            coordination_id,
            final,
            reason,
            agent_status=agent_status,
            history=self.parts.signals.max_history_size,
            finished=self.finished_signal(coordination_id),
        )

    def finished_signal(self, coordination_id: str) -> list[str]:
        """The coordination_finished signal (its data, status and reason, is filled in by the script that ends)."""
        return self.signal_values(
            coordination_id, SignalType.COORDINATION_FINISHED, "system", {}, f"{coordination_id}.finished"
        )

    def _outcome_signal(
        self, coordination_id: str, agent_id: str, attempt: int, outcome: str, data: dict[str, Any]
    ) -> list[str]:
        kind = _SIGNAL_OF_OUTCOME[outcome]
        signal_id = f"{coordination_id}.{agent_id}.a{attempt}.{kind.value}"
        try:
            return self.signal_values(coordination_id, kind, agent_id, data, signal_id)
        except PayloadTooLargeError:
            # The result is on the agent's record (coord status); the signal announces the outcome without it.
            small: dict[str, Any] = {
                key: data[key] for key in ("agent_id", "attempt", "status", "decision", "reason") if key in data
            }
            return self.signal_values(coordination_id, kind, agent_id, {**small, "result_omitted": True}, signal_id)

    # -- plans -------------------------------------------------------------------------------------------------

    def apply(
        self,
        spec: WorkflowSpec,
        coordination_id: str,
        agent_id: str,
        attempt: int,
        plan: Plan,
        *,
        run: str = "",
        result: dict[str, Any] | None,
        quality: float | None,
        error: str,
        decision: str,
        traceback: str = "",
        mode: str = "finish",
        routing: Sequence[dict[str, str]] = (),
        logs: Sequence[list[str]] = (),
        retry_task_id: str | None = None,
    ) -> Settled:
        """Carry out ``plan`` for one agent in one atomic step, then send what it queued.

        ``mode`` 'finish' settles the running attempt that holds lease ``run``; 'mark' settles a waiting or queued
        agent that never ran (a dependency time-out). ``routing`` are the routing-stream entries of this decision and
        ``logs`` the attempt's log lines (``[ts, level, text]``), both stored with the outcome; a retry is sent under
        ``retry_task_id`` (the failed attempt's Celery task id, so Flower shows one task that retried). Returns what
        the settlement did (``first`` False: another delivery already did).
        """
        settings = get_settings()
        outcome = "skipped" if plan.outcome == "rearmed" else plan.outcome
        if outcome in ("failed", "timed_out") and plan.reason and plan.reason != error:
            error = f"{plan.reason}; last error: {error}" if error and error not in plan.reason else plan.reason
        summary = {"quality_score": quality, "decision": decision, "reason": plan.reason}
        if outcome == "completed":
            data: dict[str, Any] = {"agent_id": agent_id, "attempt": attempt, **(result or {}), **summary}
        elif outcome in ("skipped", "cancelled"):
            data = {"agent_id": agent_id, "attempt": attempt, **summary, "status": outcome}
        elif outcome == "retrying":
            data = {"agent_id": agent_id, "attempt": attempt, "retry_in_s": plan.retry_delay, **summary}
            data["error"] = error
        else:
            data = {"agent_id": agent_id, "attempt": attempt, "error": error or plan.reason, "status": outcome}
        document: dict[str, Any] = {
            "cid": coordination_id,
            "agent": agent_id,
            "mode": mode,
            "attempt": attempt,
            "run": run,
            "outcome": outcome,
            "result": "" if result is None else _json(result),
            "quality": "" if quality is None else repr(float(quality)),
            "error": error[:MAX_ERROR],
            "traceback": traceback[-MAX_TRACEBACK:],
            "decision": recorded_decision(outcome, decision),
            "routed": bool(decision),
            # Name/value pairs in the stream format's order: the format module is the only place the names are spelled.
            "routing": [[part for name in ROUTING_FIELDS for part in (name, entry[name])] for entry in routing],
            "routing_cap": PERSISTED_HISTORY_CAP,
            "history": self.parts.signals.max_history_size,
            "grace_ms": settings.dispatch_grace_seconds * 1000,
            "signal": self._outcome_signal(coordination_id, agent_id, attempt, outcome, data),
            "retry": None,
            "enqueue": list(plan.enqueue),
            "skip": [
                [
                    other,
                    f"skipped by {agent_id}",
                    self._outcome_signal(
                        coordination_id, other, 0, "skipped", {"agent_id": other, "reason": f"skipped by {agent_id}"}
                    ),
                ]
                for other in plan.skip
            ],
            "end": None if not plan.end else {"status": plan.end, "reason": plan.reason or decision},
            "finished": self.finished_signal(coordination_id),
            "logs": [list(line) for line in logs],
            "logs_cap": MAX_LOG_ENTRIES,
        }
        if outcome == "retrying":
            document["retry"] = {"attempt": attempt + 1, "countdown_ms": round((plan.retry_delay or 0) * 1000)}
        owner = spec.owner_of(agent_id)
        if owner is not None and owner != agent_id:
            # An item of a map agent: the signal its map agent emits if this outcome completes or fails it.
            document["map_signal"] = self._map_signal(coordination_id, owner, agent_id, outcome, error)
        settled = self.records.settle(document)
        if not settled.first:
            logger.info("%s/%s attempt %s was already settled; nothing done twice", coordination_id, agent_id, attempt)
            return settled
        self.send_for(spec, settled.sends, retry_task_id if outcome == "retrying" else None, agent_id)
        return settled

    def _map_signal(self, coordination_id: str, agent_id: str, item: str, outcome: str, error: str) -> list[str] | None:
        if outcome in ("completed", "skipped"):
            data: dict[str, Any] = {"agent_id": agent_id, "status": "completed", "last_item": item}
            return self.signal_values(
                coordination_id, SignalType.AGENT_COMPLETED, agent_id, data, f"{coordination_id}.{agent_id}.map.done"
            )
        if outcome in ("failed", "timed_out"):
            data = {"agent_id": agent_id, "status": "failed", "error": f"item {item} failed: {error}"[:MAX_ERROR]}
            return self.signal_values(
                coordination_id, SignalType.AGENT_FAILED, agent_id, data, f"{coordination_id}.{agent_id}.map.failed"
            )
        return None

    def expand(
        self, spec: WorkflowSpec, coordination_id: str, agent_id: str, attempt: int, run: str, items: Sequence[Any]
    ) -> Settled:
        """Create map agent ``agent_id``'s items and send their first attempts, in one atomic step (once).

        ``items`` is the list the agent maps over (already checked against ``max_items``); an empty list completes
        the agent at once with the result ``[]``.
        """
        document: dict[str, Any] = {
            "cid": coordination_id,
            "agent": agent_id,
            "attempt": attempt,
            "run": run,
            "items": [jsonutil.dumps(item, "map item") for item in items],
            "history": self.parts.signals.max_history_size,
            "grace_ms": get_settings().dispatch_grace_seconds * 1000,
            "signal": self.signal_values(
                coordination_id,
                SignalType.AGENT_COMPLETED,
                agent_id,
                {"agent_id": agent_id, "status": "completed", "items": 0},
                f"{coordination_id}.{agent_id}.map.done",
            ),
            "finished": self.finished_signal(coordination_id),
        }
        settled = self.records.expand(document)
        if settled.first:
            self.send_for(spec, settled.sends)
        return settled


def recorded_decision(outcome: str, routed: str) -> str:
    """What the agent's record says was decided: what really happened, not only what routing proposed.

    A failed attempt that routing left at "continue" was retried or failed; the record says so.
    """
    if outcome == "retrying":
        return "retry"
    if outcome == "failed":
        return "error" if routed == "error" else "fail"
    if outcome == "timed_out":
        return "timeout"
    if outcome == "cancelled":
        return "cancel"
    if outcome == "skipped":
        return "skip"
    return routed or "continue"


def _json(value: Any) -> str:
    return jsonutil.dumps(value, "result")
