"""Agent and coordination records of the pipeline, changed only through Lua scripts (first caller wins)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from redis.exceptions import NoScriptError

from coordination import jsonutil
from coordination.routing.history_format import FIELDS as ROUTING_FIELDS
from coordination.smart_routing import PERSISTED_HISTORY_CAP
from coordination.store.connection import sync_client
from coordination.store.keys import CoordinationKeys, Keys
from coordination.store.scripts import script

TERMINAL = frozenset({"completed", "failed", "skipped", "timed_out"})


def now_ms() -> int:
    """Current time in milliseconds (the unit every record uses)."""
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Admission:
    """The verdict on one delivery, with what an admitted attempt reads next, fetched in the same round trip.

    Attributes:
        verdict: 'run' | 'stale' | 'duplicate' | 'exhausted' | 'cancelled' (see :meth:`Records.start`).
        detail: the script's detail (deliveries so far, or why the delivery was refused).
        workflow_json: the stored workflow declaration, when it was asked for (None otherwise or if absent).
        context_json: the agent's distributed context (None if it has none).
        input_json: the input the coordination was submitted with (None if absent).
    """

    verdict: str
    detail: str
    workflow_json: str | None
    context_json: str | None
    input_json: str | None


class Settled(NamedTuple):
    """What :meth:`Records.settle` did: whether it was the first to settle, and the coordination's status.

    Attributes:
        first: this call recorded the outcome (False: a duplicate; nothing changed).
        final: 'completed' or 'failed' when this call finished the coordination, else ''.
        coordination_status: the coordination's status right after the call (running, completed, failed).
    """

    first: bool
    final: str
    coordination_status: str


@dataclass(frozen=True)
class Records:
    """Lua-backed transitions of one namespace's pipeline records."""

    keys: Keys

    def coordination(self, coordination_id: str) -> CoordinationKeys:
        """Keys of one coordination."""
        return self.keys.coordination(coordination_id)

    def create(
        self, coordination_id: str, name: str, workflow_json: str, input_json: str, auto: list[str], dormant: list[str]
    ) -> bool:
        """Create the records of a new coordination; False if the id exists.

        ``auto`` agents start when their dependencies are met; ``dormant`` ones only when a branch starts them.
        """
        ck = self.coordination(coordination_id)
        created = script("pipeline_create")(
            sync_client(),
            [ck.workflow, ck.input, ck.meta, ck.agents, self.keys.active],
            [now_ms(), coordination_id, name, workflow_json, input_json, ck.agent_prefix, len(auto), *auto, *dormant],
        )
        return bool(created)

    def enqueue(
        self, coordination_id: str, agent_id: str, mode: str, attempt: int = 0, requeue_after_ms: int = 0
    ) -> int:
        """Claim the right to send an agent's message; return the attempt to send, or 0 if someone else did."""
        ck = self.coordination(coordination_id)
        send, detail = script("agent_enqueue")(
            sync_client(), [ck.meta, ck.agent(agent_id)], [now_ms(), mode, attempt, requeue_after_ms]
        )
        return int(detail) if int(send) == 1 else 0

    def start(
        self, coordination_id: str, agent_id: str, attempt: int, task_id: str, max_deliveries: int
    ) -> tuple[str, str]:
        """Admit one delivery: ('run' | 'stale' | 'duplicate' | 'exhausted' | 'cancelled', detail)."""
        ck = self.coordination(coordination_id)
        verdict, detail = script("agent_start")(
            sync_client(), [ck.meta, ck.agent(agent_id)], [now_ms(), attempt, task_id, max_deliveries]
        )
        return str(verdict), str(detail)

    def admit(
        self,
        coordination_id: str,
        agent_id: str,
        attempt: int,
        task_id: str,
        max_deliveries: int,
        *,
        with_workflow: bool = False,
    ) -> Admission:
        """:meth:`start`, and the reads an admitted attempt needs, in one round trip.

        The reads (context, input, and the workflow when ``with_workflow``) are pipelined with the script; the
        server runs them in order, right after it, so they see what a read after :meth:`start` would see. The
        script never writes for an agent the coordination does not have, so reading the workflow in the same
        round trip (and checking the agent against it afterwards) changes nothing for a bad delivery.
        """
        ck = self.coordination(coordination_id)
        lua = script("agent_start")
        client = sync_client()
        for retry in range(2):
            pipe = client.pipeline(transaction=False)
            if with_workflow:
                pipe.get(ck.workflow)
            pipe.evalsha(lua.sha, 2, ck.meta, ck.agent(agent_id), now_ms(), attempt, task_id, max_deliveries)
            pipe.hget(ck.contexts, agent_id)
            pipe.get(ck.input)
            try:
                replies = pipe.execute()
            except NoScriptError:
                # First use on this server (or its script cache was flushed): the script did not run; load it.
                if retry:
                    raise
                client.script_load(lua.source)
                continue
            workflow = replies.pop(0) if with_workflow else None
            (verdict, detail), context, input_json = replies
            return Admission(str(verdict), str(detail), workflow, context, input_json)
        raise AssertionError("unreachable")

    def settle(
        self,
        coordination_id: str,
        agent_id: str,
        *,
        mode: str,
        attempt: int,
        outcome: str,
        result: dict[str, Any] | None = None,
        quality: float | None = None,
        error: str = "",
        decision: str = "",
        routing: Sequence[dict[str, str]] = (),
    ) -> Settled:
        """Record an outcome once; see :class:`Settled` for what it returns.

        ``routing`` holds routing-stream entries (``SmartRoutingOrchestrator.take_unpersisted``) written in the
        same script when this call wins, which saves a round trip per attempt.
        """
        ck = self.coordination(coordination_id)
        routing_args: list[str] = []
        for entry in routing:
            routing_args += [entry[name] for name in ROUTING_FIELDS]
        verdict, final, status = script("agent_settle")(
            sync_client(),
            [ck.meta, ck.agent(agent_id), self.keys.active, self.keys.finished],
            [
                now_ms(),
                coordination_id,
                mode,
                attempt,
                outcome,
                jsonutil.dumps(result, "result") if result is not None else "",
                "" if quality is None else repr(float(quality)),
                error[:2000],
                decision,
                self.keys.routing_history,
                PERSISTED_HISTORY_CAP,
                len(routing),
                *routing_args,
            ],
        )
        return Settled(verdict == "first", str(final), str(status))

    def end(self, coordination_id: str, final: str, reason: str) -> bool:
        """End a running coordination early; agents not started are skipped. True if this call ended it."""
        return self.end_detail(coordination_id, final, reason)[0]

    def end_detail(self, coordination_id: str, final: str, reason: str) -> tuple[bool, str, list[str], list[str]]:
        """Like :meth:`end`; returns ``(ended, status after the call, agents skipped, agents still running)``."""
        ck = self.coordination(coordination_id)
        ended, status, skipped, running = script("coordination_end")(
            sync_client(),
            [ck.meta, ck.agents, self.keys.active, self.keys.finished],
            [now_ms(), coordination_id, final, reason[:2000], ck.agent_prefix],
        )
        return bool(int(ended)), str(status), [str(a) for a in skipped], [str(a) for a in running]

    def agent(self, coordination_id: str, agent_id: str) -> dict[str, str]:
        """One agent's record."""
        return dict(sync_client().hgetall(self.coordination(coordination_id).agent(agent_id)))

    def status(self, coordination_id: str) -> str | None:
        """The coordination's status (running, completed, failed), None if Redis has no such coordination."""
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
