"""Distributed multi-agent coordination on Redis, compatible with the seed's ``agents.coordination`` API.

Code written for the seed runs with only its imports changed::

    from coordination import ThreadSafeState, SignalCoordinator, DependencyResolver
    from coordination.metrics import MetricsCollector
"""

import gc
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from coordination.context import ContextDistributor
from coordination.dependencies import DependencyResolver
from coordination.errors import (
    ArchiveUnavailableError,
    AttemptCancelledError,
    ContextDistributionError,
    CoordinationError,
    CoordinationNotFoundError,
    DependencyResolutionError,
    DependencyTimeoutError,
    InvalidIdError,
    InvalidInputError,
    NotSerializableError,
    PayloadTooLargeError,
    RoutingRuleError,
    ServiceUnavailableError,
    StateKeyError,
    StateLockTimeoutError,
    StateRollbackError,
    StateVersionError,
    StoreUnavailableError,
    ThreadSafeStateError,
    UnknownSignalTypeError,
    WorkflowError,
)
from coordination.models.context import (
    AgentAssignment,
    AgentContext,
    ContextDistributionMetrics,
    ContextUpdateRequest,
    CoordinationMetadata,
    CoordinationProtocols,
    ResourceAllocation,
    SharedIntelligence,
)
from coordination.models.dependencies import (
    AgentCompletionConfig,
    Dependency,
    DependencyResolutionResult,
    DependencyStatus,
    DependencyType,
    QualityGateConfig,
    ResourceAvailabilityConfig,
)
from coordination.models.routing import (
    ConditionalRule,
    ParallelizationHint,
    PriorityRoutingConfig,
    RoutingContext,
    RoutingDecision,
    RoutingHistoryRecord,
    RoutingResult,
    RoutingStrategy,
    StateComplexityMetrics,
)
from coordination.models.seed import SeedCompatibilityWarning
from coordination.models.signals import (
    AgentCompletedSignal,
    AgentInitializedSignal,
    CoordinationSignal,
    DependencyResolvedSignal,
    InterAgentMessage,
    SignalMetrics,
    SignalSubscription,
    SignalType,
)
from coordination.models.state import AgentCoordinationState, CodeGenerationState, StateChangeRecord
from coordination.models.status import AgentStatus, CoordinationStatus
from coordination.orchestrator import CoordinationOrchestrator
from coordination.pipeline.approvals import Verdict, approve
from coordination.pipeline.cancel import Cancellation, cancel_coordination
from coordination.pipeline.conditions import ConditionChange, mark_resource, set_gate
from coordination.pipeline.retry import Retry, retry_coordination
from coordination.routing import ConditionalRouter, ParallelRouter, PriorityRouter, StateAnalysisRouter
from coordination.signals import SignalCoordinator
from coordination.smart_routing import SmartRoutingOrchestrator
from coordination.state import ThreadSafeState
from coordination.workflow import Workflow

if TYPE_CHECKING:
    from coordination.views.listing import CoordinationPage, CoordinationSummary, list_coordinations
    from coordination.views.status import coordination_status

#: Names read from the archive too, loaded on first use (module -> names).
_VIEWS = {
    "coordination.views.listing": ("list_coordinations", "CoordinationPage", "CoordinationSummary"),
    "coordination.views.status": ("coordination_status",),
}


def __getattr__(name: str) -> Any:
    """The views that read the archive (``coordination_status``, ``list_coordinations``), loaded on first use.

    They read it through SQLAlchemy, whose import costs about 0.3 s that workers and most callers never need.
    """
    for module, names in _VIEWS.items():
        if name in names:
            return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module 'coordination' has no attribute {name!r}")


def agent(name: str, **task_options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Register ``function(run)`` as the agent ``name`` (a Celery task named ``agent.<name>``).

    See :func:`tasks.agents.agent`; imported lazily so that importing ``coordination`` never builds Celery tasks.
    """
    from tasks.agents import agent as register

    return register(name, **task_options)


__all__ = [
    "AgentAssignment",
    "AgentCompletedSignal",
    "AgentCompletionConfig",
    "AgentContext",
    "AgentCoordinationState",
    "AgentInitializedSignal",
    "AgentStatus",
    "ArchiveUnavailableError",
    "AttemptCancelledError",
    "Cancellation",
    "CodeGenerationState",
    "ConditionChange",
    "ConditionalRouter",
    "ConditionalRule",
    "ContextDistributionError",
    "ContextDistributionMetrics",
    "ContextDistributor",
    "ContextUpdateRequest",
    "CoordinationError",
    "CoordinationMetadata",
    "CoordinationNotFoundError",
    "CoordinationOrchestrator",
    "CoordinationPage",
    "CoordinationProtocols",
    "CoordinationSignal",
    "CoordinationStatus",
    "CoordinationSummary",
    "Dependency",
    "DependencyResolutionError",
    "DependencyResolutionResult",
    "DependencyResolvedSignal",
    "DependencyResolver",
    "DependencyStatus",
    "DependencyTimeoutError",
    "DependencyType",
    "InterAgentMessage",
    "InvalidIdError",
    "InvalidInputError",
    "NotSerializableError",
    "ParallelRouter",
    "ParallelizationHint",
    "PayloadTooLargeError",
    "PriorityRouter",
    "PriorityRoutingConfig",
    "QualityGateConfig",
    "ResourceAllocation",
    "ResourceAvailabilityConfig",
    "Retry",
    "RoutingContext",
    "RoutingDecision",
    "RoutingHistoryRecord",
    "RoutingResult",
    "RoutingRuleError",
    "RoutingStrategy",
    "SeedCompatibilityWarning",
    "ServiceUnavailableError",
    "SharedIntelligence",
    "SignalCoordinator",
    "SignalMetrics",
    "SignalSubscription",
    "SignalType",
    "SmartRoutingOrchestrator",
    "StateAnalysisRouter",
    "StateChangeRecord",
    "StateComplexityMetrics",
    "StateKeyError",
    "StateLockTimeoutError",
    "StateRollbackError",
    "StateVersionError",
    "StoreUnavailableError",
    "ThreadSafeState",
    "ThreadSafeStateError",
    "UnknownSignalTypeError",
    "Verdict",
    "Workflow",
    "WorkflowError",
    "agent",
    "approve",
    "cancel_coordination",
    "coordination_status",
    "list_coordinations",
    "mark_resource",
    "retry_coordination",
    "set_gate",
]

# Loading this package builds tens of thousands of long-lived objects (pydantic models and validators, redis-py's
# command tables, our models). The interpreter's first full garbage collection after that walks all of them
# (10-20 ms on a quiet 2-CPU machine, far more under load) and, left to its thresholds, falls on the application's
# first calls: in the seed guide's benchmark script it landed inside the hundred route() calls. Collecting once
# here makes it part of loading the package, like reading the Lua scripts and building the models.
gc.collect()
