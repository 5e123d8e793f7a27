"""The kinds of routing outcome (a decision made by a strategy), each described once, at import (pure).

``route()`` runs after every agent step. What it needs of a decision's kind besides the decision itself (the two
values it returns, the key its statistics and its metrics are kept under) is the same for every decision of that
kind, so it is made here once for each of the 32 kinds and looked up with one dictionary access.
"""

from __future__ import annotations

from typing import Final

from coordination.models.routing import RoutingDecision, RoutingStrategy

__all__ = ["OUTCOMES", "Outcome"]


class Outcome:
    """One kind of outcome: a decision and the strategy that made it, with their values.

    Compared and hashed by identity: there is one per kind (:data:`OUTCOMES`), so statistics and metric templates
    are kept under it without hashing its enum members again.

    Attributes:
        decision: the decision (a member).
        strategy: the strategy (a member).
        decision_value: ``decision.value`` (what ``route()`` returns).
        strategy_value: ``strategy.value``.
    """

    __slots__ = ("decision", "decision_value", "strategy", "strategy_value")

    def __init__(self, decision: RoutingDecision, strategy: RoutingStrategy) -> None:
        self.decision = decision
        self.strategy = strategy
        # _value_ is the member's own attribute; .value is a descriptor call, costly on a hot path.
        self.decision_value: str = decision._value_
        self.strategy_value: str = strategy._value_

    def __repr__(self) -> str:
        return f"Outcome({self.decision_value!r}, {self.strategy_value!r})"


#: (decision, strategy) → its :class:`Outcome` (read-only by convention: a plain dict is the fastest lookup). The
#: members' hash and equality are their strings', so a pair of plain values (``("continue", "priority")``) finds
#: the same outcome as the members do.
OUTCOMES: Final[dict[tuple[RoutingDecision, RoutingStrategy], Outcome]] = {
    (decision, strategy): Outcome(decision, strategy) for decision in RoutingDecision for strategy in RoutingStrategy
}
