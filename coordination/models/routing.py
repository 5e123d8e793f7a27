"""Routing models (pure): decisions, strategies, rules, and the records of routing decisions.

Field names, defaults and constraints follow the seed. Unknown fields are ignored with a warning, as the seed
ignored them (:mod:`coordination.models.seed`); inside a workflow declaration they are errors. Differences:
timestamps are aware UTC, :class:`ConditionalRule` checks its operator and the shape of its value when it is built,
and :class:`RoutingResult` carries ``matched`` (did the router find something to say?) for consolidation.
"""

from __future__ import annotations

import math
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID, uuid4

from pydantic import Field, ValidationInfo, field_validator

from coordination.errors import RoutingRuleError
from coordination.limits import MAX_DURATION_MS
from coordination.models.base import utcnow
from coordination.models.seed import FrozenSeedModel, SeedModel


class RoutingDecision(str, Enum):
    """What should happen after the current task (seed values)."""

    ERROR = "error"
    END = "end"
    RETRY = "retry"
    PARALLEL = "parallel"
    CONDITIONAL = "conditional"
    BRANCH = "branch"
    SKIP = "skip"
    CONTINUE = "continue"


class RoutingStrategy(str, Enum):
    """The kind of router that produced a result (seed values)."""

    CONDITIONAL = "conditional"
    PARALLEL = "parallel"
    STATE_ANALYSIS = "state_analysis"
    PRIORITY = "priority"


#: Every rule operator, in the seed's order.
OPERATORS: tuple[str, ...] = ("==", "!=", ">", "<", ">=", "<=", "in", "not_in", "contains", "not_contains")
#: Operators whose ``condition_value`` must be a collection.
MEMBERSHIP_OPERATORS = frozenset({"in", "not_in"})
#: Operators whose ``condition_value`` must be a number or a string.
ORDERING_OPERATORS = frozenset({">", "<", ">=", "<="})
#: Accepted collection types for ``in`` / ``not_in`` (a string is refused: ``"a" in "abc"`` is a substring test).
COLLECTION_TYPES: tuple[type, ...] = (list, tuple, set, frozenset, dict)


def operator_problem(operator: object) -> str | None:
    """Return why ``operator`` is not a rule operator, or None when it is one."""
    if isinstance(operator, str) and operator in OPERATORS:
        return None
    return f"unknown operator {operator!r}; expected one of {', '.join(OPERATORS)}"


def condition_value_problem(operator: str, value: object) -> str | None:
    """Return why ``value`` has the wrong shape for ``operator``, or None when it fits.

    ``in``/``not_in`` need a list, tuple, set, frozenset or dict (not a string); ``> < >= <=`` need a number or a
    string (not None, a bool or a collection); the other operators accept any value. Whatever the operator, a
    number must be finite, alone or as an item of a collection: NaN equals nothing, and neither NaN nor an
    infinity survives being stored as JSON.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return f"operator {operator!r} needs a finite number, got {value!r}"
    if isinstance(value, list | tuple | set | frozenset | dict) and any(
        isinstance(item, float) and not math.isfinite(item) for item in value
    ):
        return f"operator {operator!r} needs finite numbers, got {value!r:.60}"
    if operator in MEMBERSHIP_OPERATORS:
        if not isinstance(value, COLLECTION_TYPES):
            return (
                f"operator {operator!r} needs a collection (list, tuple, set, frozenset or dict), "
                f"got {type(value).__name__} {value!r}"
            )
    elif operator in ORDERING_OPERATORS and (isinstance(value, bool) or not isinstance(value, int | float | str)):
        return f"operator {operator!r} needs a number or a string, got {type(value).__name__} {value!r}"
    return None


class RoutingContext(SeedModel):
    """What the routers know about the decision being made (seed fields)."""

    routing_id: UUID = Field(default_factory=uuid4)
    current_task: str = Field(min_length=1, max_length=256)
    state_summary: dict[str, Any] = Field(default_factory=dict)
    execution_time: float = Field(default=0.0, ge=0)
    retry_count: int = Field(default=0, ge=0)
    custom_data: dict[str, Any] = Field(default_factory=dict)
    correlation_id: str | None = None


class RoutingResult(SeedModel):
    """One router's decision (seed fields, plus ``matched``).

    ``matched`` is True when the router found something to say (a rule matched, a parallel group is ready, the
    state has errors, the priority is high or low, ...) and False for its "nothing special, continue" default.
    The orchestrator prefers matched results over defaults; see :mod:`coordination.routing.consolidation`.
    """

    decision: RoutingDecision
    confidence: float = Field(ge=0.0, le=1.0)
    reasoning: str = Field(min_length=1)
    strategy: RoutingStrategy
    next_task: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    matched: bool = True


class RoutingHistoryRecord(FrozenSeedModel):
    """One routing decision as kept in the orchestrator's history (seed fields; aware UTC timestamp)."""

    timestamp: datetime = Field(default_factory=utcnow)
    routing_id: UUID
    context: RoutingContext
    result: RoutingResult
    routing_time_ms: float = Field(ge=0)


class ConditionalRule(SeedModel):
    """A rule of the :class:`~coordination.routing.ConditionalRouter`: ``state[key] <operator> value``.

    The rule is checked when it is built: an unknown ``condition_operator``, or a ``condition_value`` of the wrong
    shape for its operator (``in``/``not_in`` need a list, tuple, set, frozenset or dict, not a string; ``> < >=
    <=`` need a number or a string), is refused. As with every model, the error is a ``pydantic.ValidationError``
    (a ``ValueError``) whose location and message name the field; the underlying problem is a
    :class:`~coordination.errors.RoutingRuleError`, which is also what the rule compiler raises for rules built
    without validation (``model_construct``).
    """

    rule_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    condition_key: str = Field(min_length=1)
    condition_operator: str = Field(json_schema_extra={"enum": list(OPERATORS)})
    condition_value: Any
    decision: RoutingDecision
    next_task: str | None = None
    priority: int = Field(default=50, ge=0, le=100)

    @field_validator("condition_operator")
    @classmethod
    def _known_operator(cls, value: str) -> str:
        problem = operator_problem(value)
        if problem is not None:
            raise RoutingRuleError("condition_operator", problem)
        return value

    @field_validator("condition_value")
    @classmethod
    def _value_fits_operator(cls, value: Any, info: ValidationInfo) -> Any:
        operator = info.data.get("condition_operator")
        if operator is None:  # the operator itself was refused; that error is already reported
            return value
        problem = condition_value_problem(operator, value)
        if problem is not None:
            raise RoutingRuleError("condition_value", problem)
        return value


class ParallelizationHint(SeedModel):
    """Tasks that may run together once their dependencies are complete (seed fields)."""

    task_group: list[str] = Field(min_length=1)
    dependencies: list[str] = Field(default_factory=list)
    estimated_duration_ms: float = Field(default=0.0, ge=0, le=MAX_DURATION_MS, allow_inf_nan=False)


class StateComplexityMetrics(SeedModel):
    """What the :class:`~coordination.routing.StateAnalysisRouter` measured about a state (seed fields).

    ``total_size_bytes`` is the size of the state's compact JSON encoding in UTF-8 (the seed measured only the
    top-level dict object).
    """

    key_count: int = Field(ge=0)
    nested_depth: int = Field(ge=0)
    total_size_bytes: int = Field(ge=0)
    complexity_score: float = Field(ge=0.0, le=1.0)
    has_errors: bool = False
    has_incomplete_data: bool = False


class PriorityRoutingConfig(SeedModel):
    """Thresholds and decisions of the :class:`~coordination.routing.PriorityRouter` (seed fields)."""

    high_priority_threshold: int = Field(default=80, ge=0, le=100)
    low_priority_threshold: int = Field(default=20, ge=0, le=100)
    high_priority_decision: RoutingDecision = RoutingDecision.CONTINUE
    low_priority_decision: RoutingDecision = RoutingDecision.SKIP
    default_decision: RoutingDecision = RoutingDecision.CONTINUE
