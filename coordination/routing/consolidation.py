"""Choosing one decision among the routers' results (pure).

Rule (it replaces the seed's plain ``confidence × strategy priority``, under which a StateAnalysisRouter saying
"nothing special, continue" outscored every parallel or priority decision):

1. Results whose router matched something (``matched=True``) beat default results (``matched=False``).
2. Within that group, the highest ``confidence × weight[strategy]`` wins.
3. Ties go to the earlier router (lower order).

Only when no router matched anything does a default result win, by the same score. Weights default to the seed's
strategy priorities; a strategy missing from the weights counts :data:`UNKNOWN_STRATEGY_WEIGHT`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from coordination.models.routing import RoutingResult, RoutingStrategy

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


def score(result: RoutingResult, weights: Mapping[RoutingStrategy, float] = DEFAULT_STRATEGY_WEIGHTS) -> float:
    """Return ``confidence × weight`` of ``result``'s strategy."""
    return result.confidence * weights.get(result.strategy, UNKNOWN_STRATEGY_WEIGHT)


def consolidate(
    results: Iterable[tuple[int, RoutingResult]],
    weights: Mapping[RoutingStrategy, float] = DEFAULT_STRATEGY_WEIGHTS,
) -> tuple[int, RoutingResult] | None:
    """Return the winning ``(order, result)`` pair, or None when there are no results.

    Args:
        results: ``(router order, result)`` pairs; a lower order means the router was added earlier.
        weights: weight per strategy.
    """
    best: RoutingResult | None = None
    best_matched = False
    best_score = -1.0  # below any real score (weights and confidences are >= 0): the first result always wins
    best_order = 0
    get = weights.get
    for order, result in results:
        matched = result.matched
        if best_matched and not matched:
            continue
        value = result.confidence * get(result.strategy, UNKNOWN_STRATEGY_WEIGHT)
        if matched != best_matched or value > best_score or (value == best_score and order < best_order):
            best, best_matched, best_score, best_order = result, matched, value, order
    return None if best is None else (best_order, best)
