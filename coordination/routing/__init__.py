"""Routing (pure): everything that decides, with no I/O.

``operators`` compiles rules; ``routers`` holds the four routers, which answer with ``proposals``; ``analysis``
measures a state; ``consolidation`` is the one rule that picks a decision; ``decision`` is one ``route()`` call
(argument checks, state summary, every router, consolidation); ``statistics`` and ``history`` are what the
orchestrator keeps of each decision; ``history_format`` is the routing-history stream's entry format. The
:class:`~coordination.smart_routing.SmartRoutingOrchestrator` is the stateful shell around them (history, counters,
metrics, persistence).
"""

from coordination.routing.consolidation import DEFAULT_STRATEGY_WEIGHTS, consolidate
from coordination.routing.routers import (
    BaseRouter,
    ConditionalRouter,
    ParallelRouter,
    PriorityRouter,
    StateAnalysisRouter,
)

__all__ = [
    "DEFAULT_STRATEGY_WEIGHTS",
    "BaseRouter",
    "ConditionalRouter",
    "ParallelRouter",
    "PriorityRouter",
    "StateAnalysisRouter",
    "consolidate",
]
