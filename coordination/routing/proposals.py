"""A router's decision as plain values, for the orchestrator (pure).

``route()`` runs every router after every agent step but returns only one decision, as a dict. Building a
:class:`~coordination.models.routing.RoutingResult` model for each router's answer cost more than most routers'
own work, so the built-in routers answer the orchestrator with a :class:`Proposal` (an immutable named tuple with
the result's fields) and build a ``RoutingResult`` only when :meth:`~coordination.routing.BaseRouter.evaluate` is
called (the seed's API).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from coordination.models.routing import RoutingDecision, RoutingResult, RoutingStrategy


class Proposal(NamedTuple):
    """The fields of a :class:`~coordination.models.routing.RoutingResult`, in its field order.

    Routers return the same proposal (and metadata dict) for outcomes that do not depend on the state, so treat
    its ``metadata`` as read-only.
    """

    decision: RoutingDecision
    confidence: float
    reasoning: str
    strategy: RoutingStrategy
    next_task: str | None
    metadata: dict[str, Any]
    matched: bool

    @classmethod
    def from_result(cls, result: RoutingResult) -> Proposal:
        """Return ``result``'s fields as a proposal (sharing its metadata)."""
        return cls(
            result.decision,
            result.confidence,
            result.reasoning,
            result.strategy,
            result.next_task,
            result.metadata,
            result.matched,
        )

    def to_result(self, *, copy_metadata: bool = False) -> RoutingResult:
        """Return this proposal as a :class:`RoutingResult`.

        Built without validation (``model_construct``): routers build valid proposals, and results of routers of
        one's own were validated when they were built.

        Args:
            copy_metadata: give the result its own copy of the metadata (for results handed to callers who may
                change them, such as history records).
        """
        fields = self._asdict()
        if copy_metadata:
            fields["metadata"] = dict(self.metadata)
        return RoutingResult.model_construct(**fields)


class PreparedResults:
    """The :class:`RoutingResult` of each state-independent proposal of a router, built once.

    ``evaluate()`` then returns the same result object for the same outcome (and costs no model construction);
    proposals built per call get a new result.
    """

    __slots__ = ("_results",)

    def __init__(self) -> None:
        self._results: dict[int, tuple[Proposal, RoutingResult]] = {}

    def prepare(self, proposal: Proposal) -> Proposal:
        """Build ``proposal``'s result now, keep both, and return ``proposal``."""
        self._results[id(proposal)] = (proposal, proposal.to_result())
        return proposal

    def result(self, proposal: Proposal) -> RoutingResult:
        """Return the prepared result of ``proposal``, or a new one if it was not prepared."""
        prepared = self._results.get(id(proposal))
        # Prepared proposals are kept alive here, so their ids cannot be reused; "is" guards anyway.
        if prepared is not None and prepared[0] is proposal:
            return prepared[1]
        return proposal.to_result()

    def clear(self) -> None:
        """Forget every prepared proposal."""
        self._results.clear()

    def __len__(self) -> int:
        return len(self._results)
