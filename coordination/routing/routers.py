"""The four routing strategies of the seed (pure, synchronous, no I/O).

Every router turns ``(state, context)`` into a :class:`~coordination.models.routing.RoutingResult` with
:meth:`BaseRouter.evaluate` (the seed's API). Results that only restate the router's "nothing special, continue"
default carry ``matched=False``; the orchestrator lets any matched result beat them (see
:mod:`coordination.routing.consolidation`).

Routers are built once and evaluated after every agent step, so they prepare what they can at construction:
rules are compiled to plain functions, hints are indexed by task, and outcomes that do not depend on the state
(a rule's result, the defaults) are built once and returned every time. Treat returned results as read-only.
Changing ``.rules`` or ``.hints`` after construction has no effect; build a new router instead.

The orchestrator does not go through ``evaluate()`` for the built-in routers: :meth:`BaseRouter.decider` gives it
a function of ``(state, current_task, retry_count, custom_data)`` returning a
:class:`~coordination.routing.proposals.Proposal` (a named tuple), so a decision builds neither a context nor a
result object per router. Both paths run the same code and give the same answer.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from coordination.errors import InvalidInputError, RoutingRuleError
from coordination.models.routing import (
    ConditionalRule,
    ParallelizationHint,
    PriorityRoutingConfig,
    RoutingContext,
    RoutingDecision,
    RoutingResult,
    RoutingStrategy,
)
from coordination.routing import analysis
from coordination.routing.operators import Condition, compile_rule
from coordination.routing.proposals import PreparedResults, Proposal

if TYPE_CHECKING:
    from coordination.metrics import MetricsCollector

_CONTINUE = RoutingDecision.CONTINUE
_measure = analysis.measure
# A list of completed tasks longer than this is turned into a set before membership tests.
_SET_THRESHOLD = 16
# Most distinct integer priorities a PriorityRouter keeps prepared results for.
_MEMO_LIMIT = 256


class BaseRouter(ABC):
    """Base class of routing strategies.

    Subclasses set :attr:`strategy` and implement :meth:`evaluate`.

    Args:
        metrics_collector: kept as ``.metrics`` for subclasses (the built-in routers record nothing themselves;
            the orchestrator records the decision).
    """

    strategy: RoutingStrategy

    def __init__(self, metrics_collector: MetricsCollector | None = None) -> None:
        self.metrics = metrics_collector

    @abstractmethod
    def evaluate(self, state: dict[str, Any], context: RoutingContext) -> RoutingResult:
        """Return this router's decision for ``state``.

        Args:
            state: the current state (not modified).
            context: what is known about the decision (current task, retry count, custom data, ...).
        """

    def decider(self) -> Decider | None:
        """Return a function deciding without a :class:`RoutingContext`, or None (then ``evaluate`` is called).

        The built-in routers read only the current task, the retry count and the custom data of the context, so
        the orchestrator calls them as ``decider(state, current_task, retry_count, custom_data)``, which returns
        a :class:`~coordination.routing.proposals.Proposal` (the result's fields as a named tuple): no context and
        no result object per router call. A subclass that overrides :meth:`evaluate` gets None: its own
        ``evaluate`` is always what runs.
        """
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(strategy={self.strategy.value})"


#: ``(state, current_task, retry_count, custom_data) -> Proposal``: a router's decision without a context.
Decider = Callable[[dict[str, Any], str, int, dict[str, Any]], Proposal]


def _own_decider(router: BaseRouter, builtin: type[BaseRouter], decide: Decider) -> Decider | None:
    # A subclass that overrides evaluate() must be asked through it.
    return decide if type(router).evaluate is builtin.evaluate else None


class ConditionalRouter(BaseRouter):
    """Routes by explicit rules: the first matching rule, by priority (highest first, stable), decides.

    A matching rule gives its decision with confidence 1.0 and ``next_task``; no match gives CONTINUE with
    confidence 0.5 (``matched=False``).

    Args:
        rules: the rules; :class:`ConditionalRule` objects or mappings of their fields.
        metrics_collector: see :class:`BaseRouter`.

    Raises:
        InvalidInputError: ``rules`` is not a list of rules.
        RoutingRuleError: two rules share a ``rule_id``, or a rule built without validation is invalid.
        pydantic.ValidationError: a rule given as a mapping is invalid (the error names the field).
    """

    strategy = RoutingStrategy.CONDITIONAL

    def __init__(
        self,
        rules: Iterable[ConditionalRule | Mapping[str, Any]],
        metrics_collector: MetricsCollector | None = None,
    ) -> None:
        super().__init__(metrics_collector)
        checked = _checked_rules(rules)
        # sorted() is stable, also with reverse=True: equal priorities keep their given order.
        self.rules: list[ConditionalRule] = sorted(checked, key=lambda rule: rule.priority, reverse=True)
        prepared = self._prepared = PreparedResults()
        self._compiled: tuple[tuple[Condition, Proposal], ...] = tuple(
            (compile_rule(rule), prepared.prepare(self._rule_proposal(rule))) for rule in self.rules
        )
        self._no_match = prepared.prepare(
            Proposal(
                decision=_CONTINUE,
                confidence=0.5,
                reasoning="No conditional rules matched, continuing with default behavior",
                strategy=self.strategy,
                next_task=None,
                metadata={"rules_evaluated": len(self.rules)},
                matched=False,
            )
        )

    def _rule_proposal(self, rule: ConditionalRule) -> Proposal:
        return Proposal(
            decision=rule.decision,
            confidence=1.0,
            reasoning=f"Conditional rule '{rule.name}' matched: "
            f"{rule.condition_key} {rule.condition_operator} {rule.condition_value}",
            strategy=self.strategy,
            next_task=rule.next_task,
            metadata={"rule_id": rule.rule_id, "rule_name": rule.name, "rule_priority": rule.priority},
            matched=True,
        )

    def evaluate(self, state: dict[str, Any], context: RoutingContext) -> RoutingResult:
        """Return the result of the first matching rule, or CONTINUE (0.5) when none matches."""
        return self._prepared.result(
            self._decide(state, context.current_task, context.retry_count, context.custom_data)
        )

    def decider(self) -> Decider | None:
        """See :meth:`BaseRouter.decider`."""
        return _own_decider(self, ConditionalRouter, self._decide)

    def _decide(self, state: dict[str, Any], task: str, retry_count: int, custom: dict[str, Any]) -> Proposal:
        for check, proposal in self._compiled:
            if check(state):
                return proposal
        return self._no_match


def _checked_rules(rules: Iterable[ConditionalRule | Mapping[str, Any]]) -> list[ConditionalRule]:
    if isinstance(rules, str | bytes | Mapping) or not isinstance(rules, Iterable):
        raise InvalidInputError("rules", f"must be a list of ConditionalRule, got {type(rules).__name__}")
    checked: list[ConditionalRule] = []
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        if isinstance(rule, Mapping):
            rule = ConditionalRule.model_validate(rule)
        elif not isinstance(rule, ConditionalRule):
            raise InvalidInputError(
                f"rules[{index}]", f"must be a ConditionalRule or a mapping, got {type(rule).__name__}"
            )
        if rule.rule_id in seen:
            raise RoutingRuleError(f"rules[{index}].rule_id", f"duplicate rule_id {rule.rule_id!r}")
        seen.add(rule.rule_id)
        checked.append(rule)
    return checked


class _Hint:
    """A parallelization hint prepared for evaluation."""

    __slots__ = ("dependencies", "duration_ms", "group")

    def __init__(self, hint: ParallelizationHint) -> None:
        self.group = tuple(hint.task_group)
        self.dependencies = tuple(hint.dependencies)
        self.duration_ms = hint.estimated_duration_ms


class ParallelRouter(BaseRouter):
    """Finds tasks that can run alongside the current one.

    For each hint whose ``task_group`` holds the current task (in hint order): when every hint dependency is in
    ``state["completed_tasks"]`` and other group members are not completed yet, the decision is PARALLEL
    (confidence 0.9) with those tasks in ``metadata["parallel_tasks"]``. Otherwise CONTINUE, 0.7
    (``matched=False``).

    Args:
        parallelization_hints: the hints (default none).
        metrics_collector: see :class:`BaseRouter`.
    """

    strategy = RoutingStrategy.PARALLEL

    def __init__(
        self,
        parallelization_hints: list[ParallelizationHint] | None = None,
        metrics_collector: MetricsCollector | None = None,
    ) -> None:
        super().__init__(metrics_collector)
        hints = list(parallelization_hints or [])
        for index, hint in enumerate(hints):
            if not isinstance(hint, ParallelizationHint):
                raise InvalidInputError(
                    f"parallelization_hints[{index}]", f"must be a ParallelizationHint, got {type(hint).__name__}"
                )
        self.hints: list[ParallelizationHint] = hints
        self._by_task: dict[str, list[_Hint]] = {}
        for hint in hints:
            prepared = _Hint(hint)
            for task in dict.fromkeys(hint.task_group):
                self._by_task.setdefault(task, []).append(prepared)
        self._prepared = PreparedResults()
        self._no_opportunity = self._prepared.prepare(
            Proposal(
                decision=_CONTINUE,
                confidence=0.7,
                reasoning="No parallel execution opportunities identified",
                strategy=self.strategy,
                next_task=None,
                metadata={"hints_checked": len(hints)},
                matched=False,
            )
        )

    def evaluate(self, state: dict[str, Any], context: RoutingContext) -> RoutingResult:
        """Return PARALLEL with the ready group members, or CONTINUE (0.7).

        Raises:
            InvalidInputError: ``state["completed_tasks"]`` is not a list, tuple or set.
        """
        return self._prepared.result(
            self._decide(state, context.current_task, context.retry_count, context.custom_data)
        )

    def decider(self) -> Decider | None:
        """See :meth:`BaseRouter.decider`."""
        return _own_decider(self, ParallelRouter, self._decide)

    def _decide(self, state: dict[str, Any], task: str, retry_count: int, custom: dict[str, Any]) -> Proposal:
        candidates = self._by_task.get(task)
        if not candidates:
            return self._no_opportunity
        completed = _completed_tasks(state)
        for hint in candidates:
            ready = True
            for dependency in hint.dependencies:
                if dependency not in completed:
                    ready = False
                    break
            if ready:
                parallel = [member for member in hint.group if member != task and member not in completed]
                if parallel:
                    return Proposal(
                        decision=RoutingDecision.PARALLEL,
                        confidence=0.9,
                        reasoning=f"Task '{task}' can be parallelized with {parallel}",
                        strategy=self.strategy,
                        next_task=None,
                        metadata={
                            "parallel_tasks": parallel,
                            "dependencies": list(hint.dependencies),
                            "estimated_duration_ms": hint.duration_ms,
                        },
                        matched=True,
                    )
        return self._no_opportunity


def _completed_tasks(state: Mapping[str, Any]) -> Any:
    completed = state.get("completed_tasks")
    if completed is None:
        return ()
    if type(completed) is list and len(completed) <= _SET_THRESHOLD:  # the common case, decided at once
        return completed
    if not isinstance(completed, list | tuple | set | frozenset):
        raise InvalidInputError(
            "state.completed_tasks", f"must be a list of task names, got {type(completed).__name__}"
        )
    if len(completed) > _SET_THRESHOLD and not isinstance(completed, set | frozenset):
        try:
            return frozenset(completed)
        except TypeError:  # unhashable entries: keep sequence membership
            return completed
    return completed


class StateAnalysisRouter(BaseRouter):
    """Decides from what the state looks like.

    In order: errors in the state (any of ``error, errors, error_count, failed`` present and truthy) →
    ``error_handling_decision`` (0.95); incomplete data (``required_data`` or ``mandatory_fields`` present and
    falsy) → SKIP (0.8); complexity score above ``max_complexity_score`` → BRANCH (0.85); otherwise CONTINUE (0.9,
    ``matched=False``). ``metadata["complexity_metrics"]`` holds the :class:`StateComplexityMetrics` fields.

    The score is the seed's ``min(1, keys/100*0.4 + depth/10*0.3 + bytes/1_000_000*0.3)``, but ``bytes`` is the
    deep size of the state (its compact JSON length), where the seed used the shallow size of the top-level
    dict, so large values now count.

    Args:
        max_complexity_score: the score above which the decision is BRANCH (0..1).
        error_handling_decision: the decision for a state with errors.
        metrics_collector: see :class:`BaseRouter`.

    Raises:
        InvalidInputError: an argument is out of range or not a decision.
    """

    strategy = RoutingStrategy.STATE_ANALYSIS

    def __init__(
        self,
        max_complexity_score: float = 0.8,
        error_handling_decision: RoutingDecision = RoutingDecision.RETRY,
        metrics_collector: MetricsCollector | None = None,
    ) -> None:
        super().__init__(metrics_collector)
        if (
            isinstance(max_complexity_score, bool)
            or not isinstance(max_complexity_score, int | float)
            or not 0.0 <= max_complexity_score <= 1.0
        ):
            raise InvalidInputError(
                "max_complexity_score", f"must be a number between 0 and 1, got {max_complexity_score!r}"
            )
        self.max_complexity = float(max_complexity_score)
        self.error_decision = _decision(error_handling_decision, "error_handling_decision")

    def evaluate(self, state: dict[str, Any], context: RoutingContext) -> RoutingResult:
        """Return the decision for the state's errors, completeness and complexity."""
        return self._decide(state, context.current_task, context.retry_count, context.custom_data).to_result()

    def decider(self) -> Decider | None:
        """See :meth:`BaseRouter.decider`."""
        return _own_decider(self, StateAnalysisRouter, self._decide)

    def _decide(self, state: dict[str, Any], task: str, retry_count: int, custom: dict[str, Any]) -> Proposal:
        metrics = _measure(state)
        score = metrics["complexity_score"]
        if metrics["has_errors"]:
            return Proposal(
                decision=self.error_decision,
                confidence=0.95,
                reasoning=f"State contains errors (key_count={metrics['key_count']}, complexity={score:.2f})",
                strategy=self.strategy,
                next_task=None,
                metadata={"complexity_metrics": metrics, "retry_count": retry_count},
                matched=True,
            )
        if metrics["has_incomplete_data"]:
            return Proposal(
                decision=RoutingDecision.SKIP,
                confidence=0.8,
                reasoning="State has incomplete data, skipping task",
                strategy=self.strategy,
                next_task=None,
                metadata={"complexity_metrics": metrics},
                matched=True,
            )
        if score > self.max_complexity:
            return Proposal(
                decision=RoutingDecision.BRANCH,
                confidence=0.85,
                reasoning=f"State complexity ({score:.2f}) exceeds threshold ({self.max_complexity:.2f}), "
                "branching to handle complexity",
                strategy=self.strategy,
                next_task=None,
                metadata={"complexity_metrics": metrics},
                matched=True,
            )
        return Proposal(
            decision=_CONTINUE,
            confidence=0.9,
            reasoning=f"State complexity ({score:.2f}) within normal range",
            strategy=self.strategy,
            next_task=None,
            metadata={"complexity_metrics": metrics},
            matched=False,
        )


def _decision(value: object, field: str) -> RoutingDecision:
    try:
        return RoutingDecision(value)
    except ValueError:
        choices = ", ".join(member.value for member in RoutingDecision)
        raise InvalidInputError(field, f"must be one of {choices}, got {value!r}") from None


class PriorityRouter(BaseRouter):
    """Routes by the task's priority (0..100).

    The priority is ``context.custom_data["priority"]``, else ``state["task_priority"]``, else 50; only a missing
    or ``None`` value falls through (the seed also skipped a priority of 0). ``>= high_priority_threshold`` →
    the high decision (0.95); ``<= low_priority_threshold`` → the low decision (0.85); otherwise the default
    decision (0.8, ``matched=False``, as it is when no priority was given at all).

    Args:
        config: thresholds and decisions (default :class:`PriorityRoutingConfig()`); read at every evaluation.
        metrics_collector: see :class:`BaseRouter`.
    """

    strategy = RoutingStrategy.PRIORITY

    def __init__(
        self,
        config: PriorityRoutingConfig | None = None,
        metrics_collector: MetricsCollector | None = None,
    ) -> None:
        super().__init__(metrics_collector)
        if config is not None and not isinstance(config, PriorityRoutingConfig):
            raise InvalidInputError("config", f"must be a PriorityRoutingConfig, got {type(config).__name__}")
        self.config = config or PriorityRoutingConfig()
        # Outcomes for integer priorities, built once per value; dropped whenever the config's values change.
        self._memo: dict[tuple[int, bool], Proposal] = {}
        self._memo_config: dict[str, Any] = {}
        self._prepared = PreparedResults()

    def evaluate(self, state: dict[str, Any], context: RoutingContext) -> RoutingResult:
        """Return the decision for the task's priority band.

        Raises:
            InvalidInputError: the priority given is not a number.
        """
        return self._prepared.result(
            self._decide(state, context.current_task, context.retry_count, context.custom_data)
        )

    def decider(self) -> Decider | None:
        """See :meth:`BaseRouter.decider`."""
        return _own_decider(self, PriorityRouter, self._decide)

    def _decide(self, state: dict[str, Any], task: str, retry_count: int, custom: dict[str, Any]) -> Proposal:
        given = True
        priority = custom.get("priority")
        if priority is None:
            priority = state.get("task_priority")
            if priority is None:
                priority, given = 50, False
            elif type(priority) is not int:
                _check_priority(priority, "state.task_priority")
        elif type(priority) is not int:
            _check_priority(priority, "custom_data.priority")
        config = self.config
        if type(priority) is not int:  # floats (and int subclasses) are rare: no memo
            return self._proposal(priority, given, config)
        if config.__dict__ != self._memo_config:
            self._memo = {}
            self._prepared = PreparedResults()  # a new object: an evaluate() in another thread keeps the old one
            self._memo_config = dict(config.__dict__)
        key = (priority, given)
        proposal = self._memo.get(key)
        if proposal is None:
            proposal = self._proposal(priority, given, config)
            if len(self._memo) < _MEMO_LIMIT:
                self._memo[key] = self._prepared.prepare(proposal)
        return proposal

    def _proposal(self, priority: float, given: bool, config: PriorityRoutingConfig) -> Proposal:
        metadata = {
            "priority": priority,
            "high_threshold": config.high_priority_threshold,
            "low_threshold": config.low_priority_threshold,
        }
        if priority >= config.high_priority_threshold:
            return Proposal(
                decision=config.high_priority_decision,
                confidence=0.95,
                reasoning=f"High-priority task (priority={priority})",
                strategy=self.strategy,
                next_task=None,
                metadata=metadata,
                matched=given,
            )
        if priority <= config.low_priority_threshold:
            return Proposal(
                decision=config.low_priority_decision,
                confidence=0.85,
                reasoning=f"Low-priority task (priority={priority})",
                strategy=self.strategy,
                next_task=None,
                metadata=metadata,
                matched=given,
            )
        return Proposal(
            decision=config.default_decision,
            confidence=0.8,
            reasoning=f"Medium-priority task (priority={priority})",
            strategy=self.strategy,
            next_task=None,
            metadata=metadata,
            matched=False,
        )


def _check_priority(priority: object, field: str) -> None:
    if isinstance(priority, bool) or not isinstance(priority, int | float) or math.isnan(priority):
        raise InvalidInputError(field, f"must be a number, got {priority!r}")
