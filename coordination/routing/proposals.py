"""A router's decision as plain values, for the orchestrator's hot path (pure).

``route()`` runs every router after every agent step but returns only one decision, as a dict. Building a
:class:`~coordination.models.routing.RoutingResult` model for each router's answer cost more than most routers'
own work, so the built-in routers answer the orchestrator with a :data:`Proposal` tuple and build a
``RoutingResult`` only when :meth:`~coordination.routing.BaseRouter.evaluate` is called (the seed's API).
"""

from __future__ import annotations

from typing import Any, Final

from coordination.models.routing import RoutingDecision, RoutingResult, RoutingStrategy, trusted_result

#: ``(decision, confidence, reasoning, strategy, next_task, metadata, matched)``: the fields of a
#: :class:`~coordination.models.routing.RoutingResult`, in its field order. Treat as read-only: routers return
#: the same tuple (and metadata dict) for outcomes that do not depend on the state.
Proposal = tuple[RoutingDecision, float, str, RoutingStrategy, str | None, dict[str, Any], bool]

#: Positions in a :data:`Proposal`.
CONFIDENCE: Final = 1
STRATEGY: Final = 3
METADATA: Final = 5
MATCHED: Final = 6


def to_result(proposal: Proposal) -> RoutingResult:
    """Return ``proposal`` as a :class:`RoutingResult` (built without validation: routers build valid ones)."""
    return trusted_result(*proposal)


def from_result(result: RoutingResult) -> Proposal:
    """Return ``result``'s fields as a :data:`Proposal`."""
    return (
        result.decision,
        result.confidence,
        result.reasoning,
        result.strategy,
        result.next_task,
        result.metadata,
        result.matched,
    )


class PreparedResults:
    """The :class:`RoutingResult` of each state-independent proposal of a router, built once.

    ``evaluate()`` then returns the same result object for the same outcome, as it did before proposals (and
    costs no model construction); proposals built per call get a new result.
    """

    __slots__ = ("_results",)

    def __init__(self) -> None:
        self._results: dict[int, tuple[Proposal, RoutingResult]] = {}

    def prepare(self, proposal: Proposal) -> Proposal:
        """Build ``proposal``'s result now, keep both, and return ``proposal``."""
        self._results[id(proposal)] = (proposal, to_result(proposal))
        return proposal

    def result(self, proposal: Proposal) -> RoutingResult:
        """Return the prepared result of ``proposal``, or a new one if it was not prepared."""
        prepared = self._results.get(id(proposal))
        # Prepared proposals are kept alive here, so their ids cannot be reused; "is" guards anyway.
        if prepared is not None and prepared[0] is proposal:
            return prepared[1]
        return to_result(proposal)

    def clear(self) -> None:
        """Forget every prepared proposal."""
        self._results.clear()

    def __len__(self) -> int:
        return len(self._results)
