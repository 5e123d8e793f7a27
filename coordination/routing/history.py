"""One decision as the orchestrator's in-memory history keeps it (pure).

An entry holds plain values (what the decision was made from, the winning proposal); the
:class:`~coordination.models.routing.RoutingHistoryRecord` is built when the history is read or persisted, not on
every decision.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from coordination.models.routing import RoutingHistoryRecord
from coordination.routing.decision import DecisionInput
from coordination.routing.proposals import Proposal


class HistoryEntry(NamedTuple):
    """One decision: when, what it was made from, what was decided, and how long it took."""

    timestamp: float  # seconds since the epoch
    given: DecisionInput
    proposal: Proposal
    routing_time_ms: float

    def to_record(self) -> RoutingHistoryRecord:
        """Return the entry as the seed's record (a new object each time; callers may change it)."""
        # Built without validation: every value was checked when the decision was made.
        context = self.given.context()
        return RoutingHistoryRecord.model_construct(
            timestamp=datetime.fromtimestamp(self.timestamp, UTC),
            routing_id=context.routing_id,
            context=context,
            result=self.proposal.to_result(copy_metadata=True),  # routers share proposals' metadata
            routing_time_ms=self.routing_time_ms,
        )
