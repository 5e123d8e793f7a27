"""One routing decision, computed (pure): checked arguments, the state summary, every router, consolidation.

:class:`~coordination.smart_routing.SmartRoutingOrchestrator` is the stateful shell around this module: it draws
the routing id, times the call, and keeps the history, the statistics and the metrics. Everything that decides is
here, with no I/O and no state of its own.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple
from uuid import UUID

from coordination.errors import InvalidInputError
from coordination.models.routing import RoutingContext, RoutingDecision, RoutingResult, RoutingStrategy
from coordination.routing.analysis import has_errors
from coordination.routing.consolidation import consolidate
from coordination.routing.outcomes import OUTCOMES, Outcome
from coordination.routing.proposals import Proposal
from coordination.routing.routers import BaseRouter, Decider

logger = logging.getLogger(__name__)

#: Longest accepted ``current_task`` (the seed's RoutingContext limit).
MAX_TASK_LENGTH = 256

#: The decision when no router is registered, or every router failed (the seed's default).
NO_ROUTERS = Proposal(
    decision=RoutingDecision.CONTINUE,
    confidence=0.5,
    reasoning="No routers available, using default decision",
    strategy=RoutingStrategy.PRIORITY,
    next_task=None,
    metadata={},
    matched=False,
)
_NO_ROUTERS_OUTCOME = OUTCOMES[NO_ROUTERS.decision, NO_ROUTERS.strategy]


class DecisionInput(NamedTuple):
    """What one decision is made from: the fields of its :class:`RoutingContext` as plain values.

    The routing id is kept as its text (what ``route()`` returns; the ``UUID`` object is built with the context),
    the state summary's four facts inline. ``custom_data`` is the caller's dict copied, and a list of completed
    tasks is copied too, so the history does not change when the caller's objects do.
    """

    routing_id: str
    current_task: str
    execution_time: float
    retry_count: int
    custom_data: dict[str, Any]
    correlation_id: str | None
    key_count: int
    has_errors: bool
    completed_tasks: Any
    task_priority: Any

    def state_summary(self) -> dict[str, Any]:
        """The seed's ``state_summary``: ``key_count``, ``has_errors``, ``completed_tasks``, ``task_priority``."""
        return {
            "key_count": self.key_count,
            "has_errors": self.has_errors,
            "completed_tasks": self.completed_tasks,
            "task_priority": self.task_priority,
        }

    def context(self) -> RoutingContext:
        """The :class:`RoutingContext` (what a router of one's own is given, and what the history records)."""
        # Built without validation: decision_input() checked every value.
        return RoutingContext.model_construct(
            routing_id=UUID(self.routing_id),
            current_task=self.current_task,
            state_summary=self.state_summary(),
            execution_time=self.execution_time,
            retry_count=self.retry_count,
            custom_data=self.custom_data,
            correlation_id=self.correlation_id,
        )


def decision_input(
    routing_id: str,
    state: object,
    current_task: object,
    execution_time: object = 0.0,
    retry_count: object = 0,
    custom_data: object = None,
    correlation_id: object = None,
) -> DecisionInput:
    """Check ``route()``'s arguments, summarize the state, and return both as a :class:`DecisionInput`.

    Raises:
        InvalidInputError: an argument is invalid (the error names it).
    """
    if not isinstance(state, dict):
        raise InvalidInputError("state", f"must be a dict, got {type(state).__name__}")
    if not isinstance(current_task, str):
        raise InvalidInputError("current_task", f"must be a string, got {type(current_task).__name__}")
    if not 0 < len(current_task) <= MAX_TASK_LENGTH:
        raise InvalidInputError(
            "current_task", f"must be 1 to {MAX_TASK_LENGTH} characters long, got {len(current_task)}"
        )
    # Exact types first: route() runs after every agent step, and nearly every call passes plain values.
    if type(execution_time) is not float or not 0.0 <= execution_time < _INFINITY:
        execution_time = _checked_execution_time(execution_time)
    if type(retry_count) is not int or retry_count < 0:
        retry_count = _checked_retry_count(retry_count)
    if custom_data is None:
        custom_data = {}
    elif isinstance(custom_data, dict):
        custom_data = dict(custom_data)
    else:
        raise InvalidInputError("custom_data", f"must be a dict or None, got {type(custom_data).__name__}")
    if correlation_id is not None and not isinstance(correlation_id, str):
        raise InvalidInputError("correlation_id", f"must be a string or None, got {type(correlation_id).__name__}")
    completed = state.get("completed_tasks")
    if completed is None:
        completed = []
    elif isinstance(completed, list):
        completed = list(completed)
    return _new_tuple(
        DecisionInput,
        (
            routing_id,
            current_task,
            execution_time,
            retry_count,
            custom_data,
            correlation_id,
            len(state),
            has_errors(state),
            completed,
            state.get("task_priority", 50),
        ),
    )


_new_tuple = tuple.__new__
_INFINITY = math.inf


def _checked_execution_time(execution_time: object) -> float:
    if isinstance(execution_time, bool) or not isinstance(execution_time, int | float):
        raise InvalidInputError("execution_time", f"must be a number of ms, got {type(execution_time).__name__}")
    try:
        finite = math.isfinite(execution_time)
    except OverflowError:  # an int too large for a float
        finite = False
    if not (finite and execution_time >= 0):
        shown = (
            f"an integer of {execution_time.bit_length()} bits"
            if not finite and isinstance(execution_time, int)
            else repr(execution_time)
        )
        raise InvalidInputError("execution_time", f"must be a finite number >= 0, got {shown}")
    return float(execution_time)


def _checked_retry_count(retry_count: object) -> int:
    if isinstance(retry_count, bool) or not isinstance(retry_count, int):
        raise InvalidInputError("retry_count", f"must be an integer, got {type(retry_count).__name__}")
    if retry_count < 0:
        raise InvalidInputError("retry_count", f"must be >= 0, got {retry_count}")
    return int(retry_count)


class RouterPlan:
    """The registered routers, in order, each with its context-free decider (or None: ask its ``evaluate``).

    Immutable: the orchestrator builds a new plan when routers are added or removed, so a decision running in
    another thread keeps the plan it started with.
    """

    __slots__ = ("_steps", "routers")

    def __init__(self, routers: Sequence[BaseRouter] = ()) -> None:
        self.routers: tuple[BaseRouter, ...] = tuple(routers)
        self._steps: tuple[tuple[BaseRouter, Decider | None], ...] = tuple(
            (router, router.decider()) for router in self.routers
        )

    def decide(
        self, state: dict[str, Any], given: DecisionInput, weights: Mapping[RoutingStrategy, float]
    ) -> tuple[Proposal, Outcome, int]:
        """Ask every router, in order; return the consolidated decision, its kind, and how many routers answered.

        A router that raises, or (a router of one's own) returns something other than a :class:`RoutingResult`
        with a decision and a strategy of their enums (a result built with ``model_construct`` may hold anything),
        is logged and skipped (the seed's behaviour); with no answer at all the decision is :data:`NO_ROUTERS`.
        """
        if not self._steps:
            return NO_ROUTERS, _NO_ROUTERS_OUTCOME, 0
        task, retry_count, custom_data = given.current_task, given.retry_count, given.custom_data  # deciders' input
        answers: list[Proposal] = []
        context: RoutingContext | None = None  # built once, and only for routers of one's own
        for router, decide in self._steps:
            try:
                if decide is not None:
                    answers.append(decide(state, task, retry_count, custom_data))
                    continue
                if context is None:
                    context = given.context()
                result = router.evaluate(state, context)
            except Exception:  # one failing router must not lose the decision
                logger.warning("router %r failed on task %r; skipped", router, task, exc_info=True)
                continue
            proposal = _proposal_of(result)
            if proposal is None:
                logger.warning(
                    "router %r returned %s, not a RoutingResult with a RoutingDecision and a RoutingStrategy; skipped",
                    router,
                    _described(result),
                )
                continue
            answers.append(proposal)
        winner = consolidate(enumerate(answers), weights)
        if winner is None:
            return NO_ROUTERS, _NO_ROUTERS_OUTCOME, len(answers)
        proposal = winner[1]
        return proposal, OUTCOMES[proposal.decision, proposal.strategy], len(answers)


def _proposal_of(result: object) -> Proposal | None:
    """``result`` of a router of one's own as a proposal holding the enum members, or None when it is not one."""
    if not isinstance(result, RoutingResult):
        return None
    decision: Any = result.decision  # anything: model_construct does not check
    strategy: Any = result.strategy
    try:
        outcome = OUTCOMES.get((decision, strategy))
        if outcome is None:  # members of an Enum of one's own with our values: known by their values
            values: Any = (getattr(decision, "value", None), getattr(strategy, "value", None))
            outcome = OUTCOMES.get(values)
    except Exception:  # an unhashable value, or one whose .value raises, put there by model_construct
        return None
    if outcome is None:
        return None
    proposal = Proposal.from_result(result)
    if proposal.decision is not outcome.decision or proposal.strategy is not outcome.strategy:
        # plain strings equal to the values (model_construct does not convert them): the members from here on
        proposal = proposal._replace(decision=outcome.decision, strategy=outcome.strategy)
    return proposal


def _described(result: object) -> str:
    if not isinstance(result, RoutingResult):
        return type(result).__name__
    decision, strategy = getattr(result, "decision", None), getattr(result, "strategy", None)
    return f"a RoutingResult with decision {decision!r} and strategy {strategy!r}"
