"""Lifetime statistics of an orchestrator's decisions (pure; the orchestrator serialises access with its lock)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from coordination.routing.outcomes import Outcome


class RoutingStatistics:
    """Counts and timings of every decision added, also those no longer retained in the history."""

    __slots__ = ("count", "max_ms", "min_ms", "outcomes", "total_ms")

    def __init__(self) -> None:
        self.count = 0
        self.total_ms = 0.0
        self.min_ms = float("inf")
        self.max_ms = 0.0
        #: Decisions counted by their kind: one update per decision (keyed by identity); :meth:`as_dict` sums.
        self.outcomes: dict[Outcome, int] = {}

    def add(self, outcome: Outcome, routing_time_ms: float) -> None:
        """Count one decision of kind ``outcome`` that took ``routing_time_ms``."""
        self.count += 1
        self.total_ms += routing_time_ms
        if routing_time_ms < self.min_ms:
            self.min_ms = routing_time_ms
        if routing_time_ms > self.max_ms:
            self.max_ms = routing_time_ms
        outcomes = self.outcomes
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        """Return the seed's ``get_stats()`` figures.

        Keys ``total_routings``, ``avg/min/max_routing_time_ms`` (0.0 before the first decision), ``decisions`` and
        ``strategies`` (counts by value).
        """
        decisions: Counter[str] = Counter()
        strategies: Counter[str] = Counter()
        for outcome, count in self.outcomes.items():
            decisions[outcome.decision_value] += count
            strategies[outcome.strategy_value] += count
        return {
            "total_routings": self.count,
            "avg_routing_time_ms": self.total_ms / self.count if self.count else 0.0,
            "min_routing_time_ms": self.min_ms if self.count else 0.0,
            "max_routing_time_ms": self.max_ms,
            "decisions": dict(decisions),
            "strategies": dict(strategies),
        }
