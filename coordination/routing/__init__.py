"""Routing (pure): rule operators, the four routers, and the consolidation of their results.

Nothing here does I/O; the :class:`~coordination.smart_routing.SmartRoutingOrchestrator` runs the routers inside
the worker and keeps the history.
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
