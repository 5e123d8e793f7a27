"""Choosing one decision among the routers' answers (pure): the one place the rule is written.

Rule (it replaces the seed's plain ``confidence × strategy priority``, under which a StateAnalysisRouter saying
"nothing special, continue" outscored every parallel or priority decision):

1. Answers whose router matched something (``matched=True``) beat default answers (``matched=False``).
2. Within that group, the highest ``confidence × weight[strategy]`` wins.
3. Ties go to the earlier router (lower order).

Only when no router matched anything does a default answer win, by the same score. Weights default to the seed's
strategy priorities; a strategy missing from the weights counts :data:`UNKNOWN_STRATEGY_WEIGHT`.

The answers may be :class:`~coordination.models.routing.RoutingResult` models (the seed's API) or the routers'
:class:`~coordination.routing.proposals.Proposal` tuples (what ``SmartRoutingOrchestrator.route()`` collects):
both carry ``matched``, ``confidence`` and ``strategy``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Protocol, TypeVar

from coordination.errors import InvalidInputError
from coordination.models.routing import RoutingStrategy

#: The seed's strategy priorities (explicit rules first, then data, optimisation, scheduling).
DEFAULT_STRATEGY_WEIGHTS: Mapping[RoutingStrategy, float] = MappingProxyType(
    {
        RoutingStrategy.CONDITIONAL: 100.0,
        RoutingStrategy.STATE_ANALYSIS: 80.0,
        RoutingStrategy.PARALLEL: 60.0,
        RoutingStrategy.PRIORITY: 40.0,
    }
)
#: Weight of a strategy that has no entry in the weights (the seed's fallback).
UNKNOWN_STRATEGY_WEIGHT = 50.0


class Answer(Protocol):
    """What consolidation reads of a router's answer."""

    @property
    def matched(self) -> bool:
        """Did the router find something to say (not its "continue" default)?"""

    @property
    def confidence(self) -> float:
        """The router's confidence, 0..1."""

    @property
    def strategy(self) -> RoutingStrategy:
        """The router's strategy (it selects the weight)."""


A = TypeVar("A", bound=Answer)


def score(answer: Answer, weights: Mapping[RoutingStrategy, float] = DEFAULT_STRATEGY_WEIGHTS) -> float:
    """Return ``confidence × weight`` of ``answer``'s strategy."""
    return answer.confidence * weights.get(answer.strategy, UNKNOWN_STRATEGY_WEIGHT)


def consolidate(
    answers: Iterable[tuple[int, A]],
    weights: Mapping[RoutingStrategy, float] = DEFAULT_STRATEGY_WEIGHTS,
) -> tuple[int, A] | None:
    """Return the winning ``(order, answer)`` pair, or None when there are no answers.

    Args:
        answers: ``(router order, answer)`` pairs; a lower order means the router was added earlier.
        weights: weight per strategy.
    """
    best: tuple[int, A] | None = None
    best_rank = (False, 0.0, 0)
    for order, answer in answers:
        rank = (answer.matched, score(answer, weights), -order)  # matched first, then the score, then the earlier
        if best is None or rank > best_rank:
            best, best_rank = (order, answer), rank
    return best


def checked_weights(weights: object) -> dict[RoutingStrategy, float]:
    """Return ``weights`` (strategy or its value → number) keyed by strategy, checked.

    None gives no weights (the defaults apply).

    Raises:
        InvalidInputError: not a mapping, an unknown strategy, or a weight that is not a finite number >= 0.
    """
    if weights is None:
        return {}
    if not isinstance(weights, Mapping):
        raise InvalidInputError("strategy_weights", f"must be a mapping, got {type(weights).__name__}")
    checked: dict[RoutingStrategy, float] = {}
    for key, value in weights.items():
        try:
            strategy = RoutingStrategy(key)
        except ValueError:
            choices = ", ".join(member.value for member in RoutingStrategy)
            raise InvalidInputError("strategy_weights", f"unknown strategy {key!r}; expected {choices}") from None
        if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and value >= 0):
            raise InvalidInputError(
                f"strategy_weights[{strategy.value}]", f"must be a finite number >= 0, got {value!r}"
            )
        checked[strategy] = float(value)
    return checked
