"""Re-running a finished coordination from where it broke, or from a named agent (``coord retry``).

The agents to run again are chosen by :func:`coordination.planning.plan_rerun` (pure); everything the re-run will
build is checked here first; then one script (``coordination_retry.lua``) resets their records, re-arms their
dependencies, makes the coordination running and active again with its run number bumped, and queues the agents
that can start. Attempt numbers go on from the earlier run's, so a message of an earlier attempt is refused as
stale by ``agent_start`` and the history keeps both runs of an agent (signals and log lines carry the attempt).
"""

from __future__ import annotations

from dataclasses import dataclass

from config.settings import get_settings
from coordination.errors import CoordinationNotFoundError, InvalidInputError
from coordination.ids import validate_id
from coordination.models.dependencies import DependencyType
from coordination.models.signals import SignalType
from coordination.pipeline.components import Components, components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.spec_cache import workflow_of
from coordination.pipeline.submission import verdict_signal_id
from coordination.planning import plan_rerun
from coordination.store.connection import sync_client


@dataclass(frozen=True)
class Retry:
    """What :func:`retry_coordination` did.

    Attributes:
        run: the coordination's run number now (2 after its first re-run).
        agents: the agents that run again, in workflow order.
        started: those whose first attempt of the re-run was sent at once (the others wait for their dependencies).
    """

    run: int
    agents: list[str]
    started: list[str]


def retry_coordination(coordination_id: str, from_agent: str | None = None, parts: Components | None = None) -> Retry:
    """Run a finished coordination again from where it broke, or from ``from_agent`` and everything downstream.

    Without ``from_agent`` the agents that did not complete (failed, timed out, skipped, cancelled, never
    started) run again, with everything downstream of them; a completed coordination is refused ("nothing to
    retry"). With ``from_agent``, that agent and everything downstream of it run again, even after a completed
    run. Agents that are not re-run keep their records, results and contexts. Re-run agents get new attempt
    numbers (the counter goes on; their retry budget starts afresh) and their dependencies wait again from now
    (time-outs re-armed; a rejected approval is asked again, a given approval stands). The coordination becomes
    ``running``; a ``coordination_started`` signal (``run`` in its data) announces the re-run and a new
    ``coordination_finished`` its end.

    Raises:
        InvalidIdError: ``coordination_id`` or ``from_agent`` cannot be an id.
        InvalidInputError: the coordination is running (``field`` ``coordination_id``, the message names the
            status), completed without ``from_agent``, still has an attempt running after it ended (wait for it),
            or changed while this call looked at it; ``from_agent`` is not one of its agents, or waits for an agent
            that did not complete. Nothing was written.
        CoordinationNotFoundError: Redis holds no coordination of that id (never submitted, or expired after it
            was archived); it is a ``KeyError``.
        StoreUnavailableError: Redis could not be reached.
    """
    validate_id(coordination_id, "coordination_id")
    if from_agent is not None:
        if not isinstance(from_agent, str):
            raise InvalidInputError("from_agent", f"must be an agent id, got {type(from_agent).__name__}")
        validate_id(from_agent, "from_agent")
    parts = parts or components()
    dispatcher = Dispatcher(parts)
    records = dispatcher.records
    meta = records.meta(coordination_id)
    if not meta:
        raise CoordinationNotFoundError(
            coordination_id,
            "in Redis: never submitted, or finished and expired after it was archived; only a coordination "
            "still held in Redis can be re-run",
        )
    spec = workflow_of(records, coordination_id)
    agent_ids = records.agent_ids(coordination_id)
    ck = parts.keys.coordination(coordination_id)
    pipe = sync_client().pipeline(transaction=False)
    for agent_id in agent_ids:
        pipe.hmget(ck.agent(agent_id), "status", "attempt")
    fields = dict(zip(agent_ids, pipe.execute(), strict=True))
    statuses = {agent_id: str(status) for agent_id, (status, _) in fields.items()}
    attempts = {agent_id: int(attempt or 0) for agent_id, (_, attempt) in fields.items()}
    status = str(meta.get("status"))
    plan = plan_rerun(
        spec.order(),
        spec.upstream(),
        statuses,
        status,
        {agent_id for agent_id, agent in spec.agents.items() if agent.start != "auto"},
        records.completed_agents(coordination_id),
        from_agent,
    )
    # Any attempt still in flight (a cancel or an END lets running attempts finish) would settle into the new run:
    # wait for it, whether or not its agent is re-run.
    busy = [agent_id for agent_id in agent_ids if statuses[agent_id] in ("running", "queued", "retrying")]
    if busy:
        raise InvalidInputError(
            "coordination_id",
            f"is {status}, but the attempt of {busy[0]!r} (attempt {attempts[busy[0]]}) is still "
            f"{statuses[busy[0]]}; retry once it has finished",
        )
    runs = int(meta.get("runs") or 1)

    # Every signal id the re-run builds must be an id, like at submission (ids are never truncated); from this
    # run on they end with ".r<run>" (signal_lib.lua).
    suffix = f".r{runs + 1}"
    validate_id(f"{coordination_id}.finished{suffix}", "coordination_id (in signal id <id>.finished.r<run>)")
    for agent_id in plan.agents:
        last = attempts[agent_id] + 1 + spec.agents[agent_id].resources.max_retry_attempts
        longest = f"{coordination_id}.{agent_id}.a{last}.agent_initialized{suffix}"
        validate_id(longest, f"agents.{agent_id} (in signal id {longest[:40]}...)")
    chosen = set(plan.agents)
    verdicts: list[str] = []
    for dependency in spec.all_dependencies():
        if dependency.agent not in chosen:
            continue
        longest = f"{coordination_id}.{dependency.id}.timeout.r{dependency.max_retries}{suffix}"
        validate_id(longest, f"dependencies.{dependency.id} (in signal id {longest[:40]}...)")
        if dependency.type is DependencyType.APPROVAL:
            verdicts.append(dependency.target)
            verdict = verdict_signal_id(coordination_id, dependency.target) + suffix
            validate_id(verdict, f"dependencies.{dependency.id}.target (in signal id {verdict[:40]}...)")
    document = {
        "cid": coordination_id,
        "runs": runs,
        "rerun": plan.agents,
        "dormant": plan.dormant,
        "failures": plan.failures,
        "verdicts": verdicts,
        "history": parts.signals.max_history_size,
        "grace_ms": get_settings().dispatch_grace_seconds * 1000,
        "signal": dispatcher.signal_values(
            coordination_id,
            SignalType.COORDINATION_STARTED,
            "system",
            {
                "workflow": spec.name,
                "run": runs + 1,
                "from_agent": from_agent,
                "agents": plan.agents,
                "retried_from": status,
            },
            f"{coordination_id}.started",  # stored as <id>.started.r<run>
        ),
    }
    retried, detail, more, sends = records.retry(document)
    if not retried:
        if detail == "gone":
            raise CoordinationNotFoundError(coordination_id, "in Redis (it expired while the re-run was prepared)")
        if detail == "busy":
            raise InvalidInputError("coordination_id", f"an attempt of {more!r} is still running; retry once it ends")
        if detail == "moved":
            raise InvalidInputError("coordination_id", f"was re-run by someone else meanwhile (now run {more})")
        raise InvalidInputError("coordination_id", f"is {more}; only a finished coordination can be re-run")
    sent = dispatcher.send_for(spec, sends)
    return Retry(int(detail), plan.agents, list(sent))
