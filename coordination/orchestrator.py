"""CoordinationOrchestrator: the seed's facade, working end to end on the distributed components.

``coordinate_workflow`` distributes contexts, registers every declared agent-completion dependency, waits for
them in dependency order (agents run elsewhere and report with :meth:`signal_agent_completion` or an
``agent_completed`` signal), routes each agent's task once it is ready, signals, and returns real figures.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from coordination.context import ContextDistributor
from coordination.dependencies import DependencyResolver
from coordination.errors import DependencyTimeoutError, InvalidInputError
from coordination.ids import validate_id
from coordination.models.context import AgentContext, SharedIntelligence
from coordination.models.dependencies import Dependency, DependencyType
from coordination.models.signals import SignalType
from coordination.planning import topological_order
from coordination.signals import SignalCoordinator
from coordination.smart_routing import SmartRoutingOrchestrator
from coordination.type_defs import CoordinationMetricsDict, CoordinationResultDict
from coordination.validation import input_error

if TYPE_CHECKING:
    from coordination.metrics.collector import MetricsCollector
    from coordination.state import ThreadSafeState

_MAX_WORKFLOW_ID = 119  # leaves room for "-" and 8 hex characters within the 128-character id limit


class CoordinationOrchestrator:
    """Coordinates one multi-agent workflow over the shared components (seed-compatible API).

    Args:
        state: the state whose namespace every component uses.
        metrics_collector: optional metrics sink.
        agent_registry: accepted for compatibility; kept as ``self.agent_registry``.
        enable_routing: route each agent's task when its dependencies are met.
        enable_dependency_resolution: wait for declared dependencies.
        routing_orchestrator: routers to use (default: an orchestrator with no routers, which continues).
        dependency_timeout: seconds each declared dependency may wait.
    """

    def __init__(
        self,
        state: ThreadSafeState[Any],
        metrics_collector: MetricsCollector | None = None,
        agent_registry: Any = None,
        enable_routing: bool = True,
        enable_dependency_resolution: bool = True,
        *,
        routing_orchestrator: SmartRoutingOrchestrator | None = None,
        dependency_timeout: float = 120.0,
    ) -> None:
        if (
            isinstance(dependency_timeout, bool)
            or not isinstance(dependency_timeout, int | float)
            or (dependency_timeout <= 0)
        ):
            raise InvalidInputError("dependency_timeout", f"must be a positive number, got {dependency_timeout!r}")
        self.state = state
        self.metrics = metrics_collector
        self.agent_registry = agent_registry
        self.enable_routing = enable_routing
        self.enable_dependency_resolution = enable_dependency_resolution
        self.dependency_timeout = float(dependency_timeout)
        self.signal_coordinator = SignalCoordinator(state, metrics_collector)
        self.context_distributor = ContextDistributor(state, metrics_collector)
        self.dependency_resolver = DependencyResolver(self.signal_coordinator, metrics_collector, state)
        self.routing_orchestrator: SmartRoutingOrchestrator | None = None
        if enable_routing:
            self.routing_orchestrator = routing_orchestrator or SmartRoutingOrchestrator(metrics_collector, state)

    async def coordinate_workflow(
        self,
        workflow_id: str,
        agent_assignments: dict[str, dict[str, Any]],
        shared_intelligence: SharedIntelligence | dict[str, Any] | None = None,
        enable_signals: bool = True,
    ) -> CoordinationResultDict:
        """Run the coordination of one workflow and return what happened.

        Each assignment may list ``dependencies``: the agent ids it waits for. Invalid input (bad ids, unknown
        agents, cycles, unknown fields) raises before anything is written. A dependency that times out ends the
        coordination with an ``error`` entry in the result; the figures gathered so far are still returned.
        """
        started = time.perf_counter()
        validate_id(workflow_id, "workflow_id")
        if len(workflow_id) > _MAX_WORKFLOW_ID:
            raise InvalidInputError("workflow_id", f"must be at most {_MAX_WORKFLOW_ID} characters")
        if not isinstance(agent_assignments, dict):
            raise InvalidInputError("agent_assignments", "must be a dict of agent id -> assignment")
        depends_on: dict[str, list[str]] = {}
        for agent_id, assignment in agent_assignments.items():
            validate_id(agent_id, "agent_assignments")
            if not isinstance(assignment, dict):
                raise InvalidInputError(f"agent_assignments[{agent_id!r}]", "must be a dict")
            upstream = assignment.get("dependencies", [])
            if not isinstance(upstream, list):
                raise InvalidInputError(f"agent_assignments[{agent_id!r}].dependencies", "must be a list")
            depends_on[agent_id] = list(upstream)
        order = topological_order(depends_on, "agent_assignments")
        try:
            shared = (
                SharedIntelligence.model_validate(shared_intelligence)
                if isinstance(shared_intelligence, dict)
                else shared_intelligence
            )
        except ValidationError as error:
            raise input_error(error, "shared_intelligence") from None

        coordination_id = f"{workflow_id}-{uuid.uuid4().hex[:8]}"
        result: CoordinationResultDict = {
            "workflow_id": workflow_id,
            "coordination_id": coordination_id,
            "contexts_distributed": 0,
            "dependencies_resolved": 0,
            "signals_sent": 0,
            "routing_decisions": 0,
            "agent_contexts": {},
            "dependency_details": [],
            "routing_details": [],
        }
        contexts = await self.context_distributor.distribute_agent_context(
            {"coordination_id": coordination_id, "session_id": coordination_id},
            agent_assignments,
            shared_intelligence=shared,
        )
        result["contexts_distributed"] = len(contexts)
        result["agent_contexts"] = {agent: _summary(context) for agent, context in contexts.items()}
        if enable_signals:
            await self.signal_coordinator.emit(
                coordination_id,
                SignalType.COORDINATION_STARTED,
                {"workflow_id": workflow_id, "agents": order},
            )
            result["signals_sent"] += 1

        ready_events = {agent: asyncio.Event() for agent in order}
        try:
            await asyncio.gather(
                *(
                    self._coordinate_agent(coordination_id, agent, depends_on[agent], ready_events, result)
                    for agent in order
                )
            )
        except DependencyTimeoutError as error:
            result["error"] = str(error)
        if enable_signals:
            await self.signal_coordinator.emit(
                coordination_id,
                SignalType.COORDINATION_FINISHED,
                {"workflow_id": workflow_id, "error": result.get("error")},
            )
            result["signals_sent"] += 1
        if self.routing_orchestrator is not None:
            self.routing_orchestrator.persist_history()
        result["duration_ms"] = (time.perf_counter() - started) * 1000
        if self.metrics is not None:
            self.metrics.record_timing_nowait(
                "workflow_coordination_time_ms",
                result["duration_ms"],
                tags={"workflow_id": workflow_id, "agent_count": str(len(order))},
                correlation_id=coordination_id,
            )
        return result

    async def _coordinate_agent(
        self,
        coordination_id: str,
        agent_id: str,
        upstream: list[str],
        ready: dict[str, asyncio.Event],
        result: CoordinationResultDict,
    ) -> None:
        # Dependency order: an agent's wait starts once the agents it depends on were themselves ready.
        for other in upstream:
            await ready[other].wait()
        if self.enable_dependency_resolution:
            dependencies = [
                Dependency(
                    f"{agent_id}_waits_for_{other}",
                    DependencyType.AGENT_COMPLETION,
                    other,
                    timeout=self.dependency_timeout,
                )
                for other in upstream
            ]
            outcomes = await asyncio.gather(
                *(
                    self.dependency_resolver.resolve_dependency(coordination_id, dep, owner=agent_id)
                    for dep in dependencies
                )
            )
            for outcome in outcomes:
                result["dependency_details"].append(outcome.to_dict())
                result["dependencies_resolved"] += int(outcome.success)
        if self.routing_orchestrator is not None:
            decision = self.routing_orchestrator.route(
                state={"completed_tasks": upstream, "task_priority": 50},
                current_task=agent_id,
                correlation_id=coordination_id,
            )
            result["routing_details"].append({"agent_id": agent_id, **decision})
            result["routing_decisions"] += 1
        ready[agent_id].set()

    async def signal_agent_completion(
        self, coordination_id: str, agent_id: str, result_summary: dict[str, Any]
    ) -> bool:
        """Report that ``agent_id`` finished; agents waiting for it proceed in every process."""
        return await self.signal_coordinator.signal_coordination_event(
            coordination_id,
            SignalType.AGENT_COMPLETED.value,
            {"agent_id": agent_id, **result_summary},
            sender_agent_id=agent_id,
        )

    async def get_agent_context(self, coordination_id: str, agent_id: str) -> AgentContext | None:
        """Return one agent's context."""
        return self.context_distributor.get_agent_context(coordination_id, agent_id)

    async def check_dependency_status(self, coordination_id: str, dependency_id: str) -> bool:
        """Tell whether a dependency is resolved."""
        return bool(self.dependency_resolver.get_dependency_status(coordination_id, dependency_id)["resolved"])

    def get_coordination_metrics(self, coordination_id: str) -> CoordinationMetricsDict:
        """Return the coordination's signal, context and routing figures."""
        signal_metrics = self.signal_coordinator.get_signal_metrics(coordination_id).model_dump()
        agents = self.context_distributor.list_coordination_contexts(coordination_id)
        routing: dict[str, Any] = self.routing_orchestrator.get_stats() if self.routing_orchestrator else {}
        return {
            "signal_metrics": signal_metrics,  # type: ignore[typeddict-item]
            "context_metrics": {"contexts_distributed": len(agents), "agent_ids": agents},
            "routing_metrics": routing,  # type: ignore[typeddict-item]
        }


def _summary(context: AgentContext) -> dict[str, Any]:
    return {
        "agent_role": context.coordination_metadata.agent_role,
        "objective": context.agent_assignment.objective,
        "tasks": list(context.agent_assignment.tasks),
        "dependencies": list(context.agent_assignment.dependencies),
        "context_version": context.context_version,
    }
