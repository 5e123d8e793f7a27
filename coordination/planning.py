"""Pure planning: dependency-graph ordering, retry back-off, and routing decisions turned into plans (no I/O)."""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from coordination.errors import InvalidInputError, WorkflowError


def topological_order(depends_on: Mapping[str, Sequence[str]], field: str = "dependencies") -> list[str]:
    """Order agents so that every agent comes after the agents it depends on.

    Ties keep the declaration order, so the result is deterministic.

    Args:
        depends_on: agent id -> the agent ids it waits for.
        field: name used in error messages.

    Raises:
        WorkflowError: an agent depends on an unknown agent or on itself, or the dependencies form a cycle
            (the message shows the cycle).
    """
    for agent, upstream in depends_on.items():
        for other in upstream:
            if other == agent:
                raise WorkflowError(f"{field}[{agent!r}]", "an agent cannot depend on itself")
            if other not in depends_on:
                raise WorkflowError(f"{field}[{agent!r}]", f"depends on unknown agent {other!r}")
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(agent: str, path: list[str]) -> None:
        mark = state.get(agent)
        if mark == 2:
            return
        if mark == 1:
            cycle = [*path[path.index(agent) :], agent]
            raise WorkflowError(field, "dependency cycle: " + " -> ".join(cycle))
        state[agent] = 1
        for other in depends_on[agent]:
            visit(other, [*path, agent])
        state[agent] = 2
        order.append(agent)

    for agent in depends_on:
        visit(agent, [])
    return order


# -- retries -----------------------------------------------------------------------------------------------------


def compute_backoff(attempt: int, base: float, maximum: float, rand: Callable[[], float] = random.random) -> float:
    """Delay before retry number ``attempt`` (1 = first retry): exponential, bounded, with jitter.

    The ceiling doubles per retry from ``base`` up to ``maximum``; the delay is drawn uniformly from the upper half
    of it ("equal jitter"), so retries of many agents spread out but never come sooner than half the ceiling.
    """
    if attempt < 1:
        raise ValueError("attempt must be at least 1")
    ceiling = min(maximum, base * 2.0 ** (attempt - 1))
    return ceiling / 2 + rand() * ceiling / 2


# -- decisions into actions --------------------------------------------------------------------------------------

Outcome = Literal["completed", "failed", "skipped", "cancelled", "retrying", "timed_out", "rearmed", "released"]


@dataclass(frozen=True)
class Plan:
    """What the pipeline does after a routing decision (pure data; the dispatcher carries it out).

    Attributes:
        outcome: what becomes of the routed agent (``rearmed``: its dependency's clock restarted; ``released``: the
            dependency stops holding it back and it runs when nothing else does).
        retry_delay: seconds before the next attempt (outcome ``retrying``).
        enqueue: other agents to start now (a BRANCH target, PARALLEL members).
        skip: other agents to mark skipped (SKIP with a ``next_task``).
        end: ``completed`` (END) or ``failed`` (ERROR, or a failure nothing can recover) ends the coordination.
        reason: why, for status and signals.
    """

    outcome: Outcome
    reason: str
    retry_delay: float | None = None
    enqueue: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    end: Literal["completed", "failed"] | None = None


def routing_state(
    result: Mapping[str, Any] | None,
    *,
    event: str,
    attempt: int,
    completed: Sequence[str],
    priority: int,
    error: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The state the routers see after an agent attempt or a dependency time-out.

    The agent's result fields come first (``quality_score``, ``summary``, ...), then the pipeline's own keys.
    """
    state: dict[str, Any] = dict(result or {})
    state.update(extra or {})
    state.update(
        {
            "event": event,
            "attempt": attempt,
            "retry_count": attempt - 1,
            "completed_tasks": list(completed),
            "task_priority": priority,
        }
    )
    if error:
        state["error"] = error
    return state


def plan_after_attempt(
    decision: str,
    *,
    failed: bool,
    attempt: int,
    max_attempts: int,
    next_task: str | None,
    parallel_tasks: Sequence[str] = (),
    reasoning: str = "",
    backoff: Callable[[int], float],
) -> Plan:
    """Turn the routing decision after an agent attempt into a plan.

    On success: CONTINUE/CONDITIONAL complete the agent; PARALLEL also starts the other members of its group;
    RETRY re-runs it while attempts remain (then fails); SKIP skips ``next_task`` if given, else discards this
    result and marks the agent skipped; BRANCH completes it and starts ``next_task``; END completes it and ends the
    coordination; ERROR fails it and the coordination.
    On failure (the agent raised): SKIP marks it skipped (its dependents go on); BRANCH skips it and starts
    ``next_task`` (a fallback); ERROR and END fail the coordination; anything else retries while attempts remain.
    """
    can_retry = attempt < max_attempts

    def retry_or_fail(why: str) -> Plan:
        if can_retry:
            return Plan("retrying", why, retry_delay=backoff(attempt))
        return Plan("failed", f"retries exhausted after {attempt} attempt(s): {why}", end="failed")

    if failed:
        if decision == "skip":
            return Plan("skipped", reasoning or "failure skipped by routing")
        if decision == "branch" and next_task:
            return Plan("skipped", reasoning or f"failure branched to {next_task}", enqueue=(next_task,))
        if decision in ("error", "end"):
            return Plan("failed", reasoning or "failure ends the coordination", end="failed")
        return retry_or_fail(reasoning or "the agent raised an error")
    if decision == "retry":
        return retry_or_fail(reasoning or "routing asked for a retry")
    if decision == "skip":
        if next_task:
            return Plan("completed", reasoning, skip=(next_task,))
        return Plan("skipped", reasoning or "result skipped by routing")
    if decision == "branch" and next_task:
        return Plan("completed", reasoning, enqueue=(next_task,))
    if decision == "parallel":
        return Plan("completed", reasoning, enqueue=tuple(parallel_tasks))
    if decision == "end":
        return Plan("completed", reasoning or "routing ended the coordination", end="completed")
    if decision == "error":
        return Plan("failed", reasoning or "routing failed the coordination", end="failed")
    return Plan("completed", reasoning)


def plan_after_timeout(decision: str, *, rearms_left: int, next_task: str | None, reasoning: str = "") -> Plan:
    """Turn the routing decision after a dependency time-out into a plan for the waiting agent.

    RETRY restarts the dependency's clock while its ``max_retries`` allow; SKIP skips the agent (its dependents go
    on); BRANCH skips it and starts ``next_task``; anything else times the agent out and fails the coordination.
    """
    if decision == "retry" and rearms_left > 0:
        return Plan("rearmed", reasoning or "dependency clock restarted")
    if decision == "skip":
        return Plan("skipped", reasoning or "dependency timed out; agent skipped")
    if decision == "branch" and next_task:
        return Plan("skipped", reasoning or f"dependency timed out; branched to {next_task}", enqueue=(next_task,))
    return Plan("timed_out", reasoning or "a dependency timed out", end="failed")


# -- declared defaults of a dependency (on_timeout, on_reject) -----------------------------------------------------

#: The actions a dependency may declare for its time-out (``on_timeout``) or an approval's rejection (``on_reject``).
DEFAULT_ACTIONS = ("fail", "skip", "continue", "branch:<agent>")


def parse_default_action(text: str) -> tuple[str, str | None]:
    """Split a declared default into its action and, for ``branch:<agent>``, the agent to start.

    Raises:
        ValueError: ``text`` is not one of :data:`DEFAULT_ACTIONS` (the message lists them).
    """
    action, colon, agent = text.partition(":")
    if action == "branch" and colon and agent:
        return "branch", agent
    if not colon and action in ("fail", "skip", "continue"):
        return action, None
    raise ValueError(f"must be one of {', '.join(DEFAULT_ACTIONS)}, got {text[:60]!r}")


def plan_after_dependency(
    status: str,
    decision: str,
    *,
    declared: str | None,
    rearms_left: int,
    next_task: str | None,
    cause: str = "",
    reasoning: str = "",
) -> Plan:
    """Turn a dependency's time-out or failure into a plan for the agent that waited on it.

    A failure is an approval rejected (or an awaited agent that failed).

    A declared default (``on_timeout`` for a time-out, ``on_reject`` for a rejection) decides, whatever routing
    said: ``fail`` fails the agent and the coordination (``timed_out`` after a time-out), ``skip`` skips the agent
    (its dependents go on), ``continue`` releases the dependency (the agent runs once nothing else holds it back),
    ``branch:<agent>`` skips it and starts that agent. Without one, the routing ``decision`` does: after a time-out
    as :func:`plan_after_timeout` says; after a failure SKIP and BRANCH as there, anything else (a RETRY too: a
    verdict is not asked again) fails the agent and the coordination.

    Args:
        status: ``timeout`` or ``failed``.
        decision: the routing decision (ignored when a default is declared).
        declared: the declared default for this status, if any.
        rearms_left: how often a RETRY may still restart a timed-out dependency's clock.
        next_task: the agent a BRANCH decision names.
        cause: what happened to the dependency (its recorded error), for the agent's record.
        reasoning: the routing decision's reasoning.
    """
    timed_out = status == "timeout"
    what = cause or ("a dependency timed out" if timed_out else "a dependency failed")
    if declared is not None:
        action, branch_to = parse_default_action(declared)
        why = f"{what} ({'on_timeout' if timed_out else 'on_reject'}: {declared})"
        if action == "skip":
            return Plan("skipped", why)
        if action == "continue":
            return Plan("released", why)
        if action == "branch" and branch_to:
            return Plan("skipped", why, enqueue=(branch_to,))
        return Plan("timed_out" if timed_out else "failed", why, end="failed")
    if timed_out:
        return plan_after_timeout(decision, rearms_left=rearms_left, next_task=next_task, reasoning=reasoning)
    if decision == "skip":
        return Plan("skipped", f"{what}; agent skipped by routing")
    if decision == "branch" and next_task:
        return Plan("skipped", f"{what}; branched to {next_task} by routing", enqueue=(next_task,))
    return Plan("failed", what, end="failed")


# -- re-running a finished coordination ----------------------------------------------------------------------------

#: Coordination statuses a re-run may start from (``lost`` coordinations have no records left in Redis to re-run).
RERUNNABLE = frozenset({"completed", "failed", "cancelled"})


@dataclass(frozen=True)
class RerunPlan:
    """Which agents a re-run runs again (see :func:`plan_rerun`).

    Attributes:
        agents: the agents that run again, in workflow order: the roots and everything downstream of them.
        roots: where the re-run starts: the agents that did not complete, or the ``--from`` agent.
        dormant: branch targets among ``agents`` that are not roots: they wait again for a branch to wake them.
        failures: agents that stay failed (not re-run): the coordination still ends ``failed`` because of them.
    """

    agents: list[str]
    roots: list[str]
    dormant: list[str]
    failures: int


def plan_rerun(
    order: Sequence[str],
    upstream: Mapping[str, Sequence[str]],
    statuses: Mapping[str, str],
    coordination_status: str,
    branch_targets: Collection[str],
    done: Collection[str],
    from_agent: str | None = None,
) -> RerunPlan:
    """Choose the agents a re-run of a finished coordination runs again (pure).

    Without ``from_agent`` the re-run starts at every agent that did not complete (failed, timed out, skipped,
    cancelled, never started; branch targets never woken stay dormant); with it, at ``from_agent``. Everything
    downstream of a root (through agent-completion dependencies) runs again too; completed agents upstream keep
    their results.

    Args:
        order: the workflow's agents in dependency order.
        upstream: agent -> the agents whose completion it waits for.
        statuses: agent -> its current status.
        coordination_status: the coordination's status.
        branch_targets: agents declared ``start: on_branch``.
        done: agents whose completion satisfies the agents waiting for them (completed, or skipped by routing).
        from_agent: re-run from this agent (and everything downstream), even after a completed run.

    Raises:
        InvalidInputError: the coordination is running or lost; it completed and no ``from_agent`` was given
            (nothing to retry); ``from_agent`` is not an agent of the workflow, or an agent it waits for did not
            complete and is not re-run.
    """
    if coordination_status not in RERUNNABLE:
        raise InvalidInputError(
            "coordination_id",
            f"is {coordination_status}; only a failed, cancelled or completed coordination can be re-run"
            + (" (wait for it to finish, or cancel it first)" if coordination_status == "running" else ""),
        )
    if from_agent is not None:
        if from_agent not in statuses or from_agent not in upstream:
            raise InvalidInputError("from_agent", f"{from_agent!r} is not an agent of this coordination")
        roots = [from_agent]
    else:
        if coordination_status == "completed":
            raise InvalidInputError(
                "coordination_id", "completed: nothing to retry (name an agent to re-run from: --from AGENT)"
            )
        # (A branch target no branch woke is still 'dormant': it is not a root.)
        roots = [agent for agent in order if statuses.get(agent) not in ("completed", "dormant")]
        if not roots:
            raise InvalidInputError("coordination_id", f"{coordination_status}, but every agent completed")
    chosen = set(roots)
    for agent in order:  # dependency order: an agent's upstream is decided before it
        if any(other in chosen for other in upstream.get(agent, ())):
            chosen.add(agent)
    agents = [agent for agent in order if agent in chosen]
    for agent in agents:
        for other in upstream.get(agent, ()):
            if other not in chosen and other not in done:
                raise InvalidInputError(
                    "from_agent" if from_agent is not None else "coordination_id",
                    f"{agent!r} waits for {other!r}, which is {statuses.get(other)} and would not run again "
                    f"(re-run from {other!r}, or without --from)",
                )
    dormant = [agent for agent in agents if agent in branch_targets and agent not in roots]
    failures = sum(1 for agent in order if agent not in chosen and statuses.get(agent) in ("failed", "timed_out"))
    return RerunPlan(agents, roots, dormant, failures)
