"""Agent and coordination records of the pipeline, changed only through Lua scripts (first caller wins).

Each transition is one script run: submission, admission of a delivery (with its lease), lease renewal, the
settlement of an outcome with everything that follows from it, the end of a coordination, beat's repair of an
agent that came due. The scripts queue the attempts that must run next and return them as :class:`Send`; the
caller sends their Celery messages and then reports them sent (:meth:`Records.mark_sent`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from coordination import jsonutil
from coordination.errors import InvalidInputError
from coordination.models.fan_out import item_id
from coordination.models.statuses import FINISHED_COORDINATION, TERMINAL_AGENT
from coordination.routing.history_format import FIELDS as ROUTING_FIELDS
from coordination.store.connection import sync_client
from coordination.store.keys import CoordinationKeys, Keys
from coordination.store.scripts import script

__all__ = [
    "FINISHED",
    "ROUTING_FIELDS",
    "TERMINAL",
    "Admission",
    "Ended",
    "MapItem",
    "Records",
    "Send",
    "Settled",
    "now_ms",
]

#: Agent statuses after which nothing more happens to the agent.
TERMINAL = TERMINAL_AGENT
#: Coordination statuses after which nothing more happens to the coordination.
FINISHED = FINISHED_COORDINATION


def now_ms() -> int:
    """Current time in milliseconds (the unit every record uses)."""
    return int(time.time() * 1000)


class Send(NamedTuple):
    """An attempt a script queued: the caller sends its message (``countdown`` seconds from now)."""

    coordination_id: str
    agent_id: str
    attempt: int
    countdown: float

    @classmethod
    def parse(cls, text: str) -> Send:
        """Parse the ``cid/agent/attempt/countdown_ms`` descriptor the scripts return."""
        cid, agent, attempt, countdown_ms = text.split("/")
        return cls(cid, agent, int(attempt), int(countdown_ms) / 1000)


def parse_sends(items: list[Any]) -> list[Send]:
    """Parse a list of send descriptors."""
    return [Send.parse(str(item)) for item in items]


@dataclass(frozen=True)
class Admission:
    """The verdict on one delivery, with what an admitted attempt reads first, fetched in the same round trip.

    Attributes:
        verdict: 'run' | 'exhausted' | 'stale' | 'duplicate' | 'cancelled' | 'gone' | 'deferred' (over a limit;
            see ``agent_start.lua``).
        detail: expired leases taken over so far ('run'), ``wait_ms/kind/limit key`` ('deferred'), or why the
            delivery was refused.
        context_json: the agent's distributed context (None if it has none).
        input_json: the input the coordination was submitted with (None if absent).
        workflow_json: the stored workflow declaration, when it was asked for (None otherwise).
        completed: agents of the coordination that had completed (or were skipped) when the attempt started.
    """

    verdict: str
    detail: str
    context_json: str | None
    input_json: str | None
    workflow_json: str | None
    completed: list[str]


class Settled(NamedTuple):
    """What :meth:`Records.settle` did.

    Attributes:
        first: this call recorded the outcome (False: a duplicate; nothing changed).
        final: the coordination's final status when this call finished it, else ''.
        coordination_status: the coordination's status right after the call.
        sends: attempts queued by this call (dependents it unblocked, its retry, branch targets).
    """

    first: bool
    final: str
    coordination_status: str
    sends: list[Send]


@dataclass(frozen=True)
class MapItem:
    """An item of a map agent, as its attempt reads it: the value, its 0-based index, the count, the context JSON."""

    value: Any
    index: int
    count: int
    context_json: str | None


class Ended(NamedTuple):
    """What :meth:`Records.end` did: whether this call ended it, the status after it, agents closed and running."""

    ended: bool
    status: str
    closed: list[str]
    running: list[str]


@dataclass(frozen=True)
class Records:
    """Lua-backed transitions of one namespace's pipeline records.

    ``clock`` gives the time (ms) every transition is made at; tests pass a fixed one to act "later".
    """

    keys: Keys
    clock: Callable[[], int] = now_ms

    def coordination(self, coordination_id: str) -> CoordinationKeys:
        """Keys of one coordination."""
        return self.keys.coordination(coordination_id)

    def _head(self) -> list[Any]:
        return [self.keys.namespace_prefix, self.keys.coordination_prefix, self.clock()]

    # -- transitions -------------------------------------------------------------------------------------------

    def submit(self, document: dict[str, Any]) -> list[Send] | None:
        """Create a coordination from a fully validated submission document; None if the id exists.

        See ``pipeline_submit.lua`` for the document's fields. Returns the first attempts to send.
        """
        reply = script("pipeline_submit")(sync_client(), [], [*self._head(), jsonutil.dumps(document, "submission")])
        if reply[0] == "exists":
            return None
        return parse_sends(reply[1:])

    def admit(
        self,
        coordination_id: str,
        agent_id: str,
        attempt: int,
        *,
        task_id: str,
        run: str,
        lease_ms: int,
        max_takeovers: int,
        with_workflow: bool,
        history: int,
        initialized: list[str],
        deferred_task_id: str = "",
    ) -> Admission:
        """Admit one delivery (one round trip): give it the attempt's lease and read what it needs first.

        ``initialized`` holds the ``agent_initialized`` signal's values, emitted when the delivery is admitted.
        ``deferred_task_id``: the task id the caller re-sends the message under if a limit defers the attempt.
        """
        verdict, detail, context, input_json, workflow, completed = script("agent_start")(
            sync_client(),
            [],
            [
                *self._head(),
                coordination_id,
                agent_id,
                attempt,
                task_id,
                run,
                lease_ms,
                max_takeovers,
                "1" if with_workflow else "0",
                history,
                *initialized,
                deferred_task_id,
            ],
        )
        return Admission(
            str(verdict), str(detail), context or None, input_json or None, workflow or None, list(completed)
        )

    def renew(self, leases: list[tuple[str, str, str]], lease_ms: int) -> list[bool]:
        """Renew leases ``(coordination_id, agent_id, run)``; False where the attempt is no longer held."""
        args: list[Any] = [*self._head(), lease_ms]
        for lease in leases:
            args.extend(lease)
        return [bool(int(flag)) for flag in script("agent_renew")(sync_client(), [], args)]

    def settle(self, plan: dict[str, Any]) -> Settled:
        """Record an outcome once and carry out its plan (see ``agent_settle.lua`` for the document)."""
        reply = script("agent_settle")(sync_client(), [], [*self._head(), jsonutil.dumps(plan, "outcome")])
        if reply[0] != "first":
            return Settled(False, "", str(reply[2]), [])
        return Settled(True, str(reply[1]), str(reply[2]), parse_sends(reply[3:]))

    def expand(self, document: dict[str, Any]) -> Settled:
        """Create a map agent's items and queue them, once (see ``map_expand.lua`` for the document)."""
        reply = script("map_expand")(sync_client(), [], [*self._head(), jsonutil.dumps(document, "map items")])
        if reply[0] != "first":
            return Settled(False, "", str(reply[2]), [])
        return Settled(True, str(reply[1]), str(reply[2]), parse_sends(reply[3:]))

    def map_item(self, coordination_id: str, item_id: str, agent_id: str) -> MapItem:
        """What an item's attempt reads besides its admission (one round trip): its value, index, count, context."""
        ck = self.coordination(coordination_id)
        pipe = sync_client().pipeline(transaction=False)
        pipe.hmget(ck.agent(item_id), "item", "map_index")
        pipe.hget(ck.agent(agent_id), "map_count")
        pipe.hget(ck.contexts, agent_id)
        (item, index), count, context = pipe.execute()
        if item is None or index is None or count is None:
            raise InvalidInputError("agent_id", f"{item_id!r} is not an item of map agent {agent_id!r}")
        return MapItem(jsonutil.loads(item), int(index), int(count), context)

    def map_items(self, coordination_id: str, agent_id: str, count: int) -> list[dict[str, str]]:
        """The records of a map agent's ``count`` items, in item order (one round trip)."""
        ck = self.coordination(coordination_id)
        pipe = sync_client().pipeline(transaction=False)
        for index in range(count):
            pipe.hgetall(ck.agent(item_id(agent_id, index)))
        return [dict(raw) for raw in pipe.execute()]

    def end(
        self, coordination_id: str, final: str, reason: str, *, agent_status: str, history: int, finished: list[str]
    ) -> Ended:
        """End a running coordination now; agents not started are closed with ``agent_status``."""
        ended, status, closed, running = script("coordination_end")(
            sync_client(),
            [],
            [*self._head(), coordination_id, final, reason, agent_status, history, *finished],
        )
        return Ended(bool(int(ended)), str(status), [str(a) for a in closed], [str(a) for a in running])

    def retry(self, document: dict[str, Any]) -> tuple[bool, str, str, list[Send]]:
        """Re-run a finished coordination (see ``coordination_retry.lua`` for the document).

        Returns ``(True, run number, '', first attempts to send)`` or ``(False, why, detail, [])``.
        """
        reply = script("coordination_retry")(sync_client(), [], [*self._head(), jsonutil.dumps(document, "retry")])
        if reply[0] != "retried":
            return False, str(reply[1]), str(reply[2]), []
        return True, str(reply[1]), "", parse_sends(reply[2:])

    def recover(
        self,
        coordination_id: str,
        agent_id: str,
        *,
        requeue_ms: int,
        max_takeovers: int,
        lease_ms: int,
        run: str,
        grace_ms: int,
    ) -> tuple[str, int]:
        """Beat's repair of an agent that came due: ``(action, attempt)``, see ``agent_recover.lua``."""
        action, attempt = script("agent_recover")(
            sync_client(),
            [],
            [*self._head(), coordination_id, agent_id, requeue_ms, max_takeovers, lease_ms, run, grace_ms],
        )
        return str(action), int(attempt)

    def mark_sent(self, sends: list[Send], requeue_ms: int) -> None:
        """Tell beat these messages were sent: it looks at them again only after ``requeue_ms``."""
        if not sends:
            return
        args: list[Any] = [*self._head(), requeue_ms]
        for send in sends:
            args.extend((send.coordination_id, send.agent_id, send.attempt))
        script("agents_sent")(sync_client(), [], args)

    # -- reads -------------------------------------------------------------------------------------------------

    def due_agents(self, until_ms: int, limit: int) -> list[tuple[str, str]]:
        """Agents due for beat's attention at ``until_ms`` (oldest first), as ``(coordination_id, agent_id)``."""
        members = sync_client().zrangebyscore(self.keys.agents_due, "-inf", until_ms, start=0, num=limit)
        return [tuple(member.split("/", 1)) for member in members]

    def agent(self, coordination_id: str, agent_id: str) -> dict[str, str]:
        """One agent's record."""
        return dict(sync_client().hgetall(self.coordination(coordination_id).agent(agent_id)))

    def first_attempt(self, coordination_id: str, agent_id: str) -> int:
        """The number of the agent's first attempt in the coordination's current run (1 unless it was re-run)."""
        value = sync_client().hget(self.coordination(coordination_id).agent(agent_id), "first_attempt")
        return 1 if value is None else int(value)

    def status(self, coordination_id: str) -> str | None:
        """The coordination's status, None if Redis has no such coordination."""
        status = sync_client().hget(self.coordination(coordination_id).meta, "status")
        return None if status is None else str(status)

    def meta(self, coordination_id: str) -> dict[str, str]:
        """The coordination's record."""
        return dict(sync_client().hgetall(self.coordination(coordination_id).meta))

    def agent_ids(self, coordination_id: str) -> list[str]:
        """The coordination's agents in dependency order."""
        return list(sync_client().lrange(self.coordination(coordination_id).agents, 0, -1))

    def completed_agents(self, coordination_id: str) -> list[str]:
        """Agents whose completion satisfied their dependents (completed or skipped)."""
        return sorted(sync_client().smembers(self.coordination(coordination_id).completed))

    def workflow_json(self, coordination_id: str) -> str | None:
        """The stored workflow declaration."""
        value = sync_client().get(self.coordination(coordination_id).workflow)
        return None if value is None else str(value)

    def input(self, coordination_id: str) -> Any:
        """The input the coordination was submitted with."""
        value = sync_client().get(self.coordination(coordination_id).input)
        return None if value is None else jsonutil.loads(value)

    def pending_counts(self, coordination_id: str) -> dict[str, int]:
        """Agent id -> number of its dependencies still pending."""
        raw = sync_client().hgetall(self.coordination(coordination_id).agent_pending)
        return {agent: int(count) for agent, count in raw.items()}
