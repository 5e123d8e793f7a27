"""Per-agent routers built from a workflow's routing section (cached per process: workflows never change)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from coordination.models.workflow import WorkflowSpec
from coordination.routing import ConditionalRouter, ParallelRouter, PriorityRouter, StateAnalysisRouter
from coordination.smart_routing import SmartRoutingOrchestrator

_CACHE_SIZE = 512
_lock = threading.Lock()
_cache: OrderedDict[tuple[str, str], SmartRoutingOrchestrator] = OrderedDict()


def build_orchestrator(spec: WorkflowSpec, agent_id: str, state: Any = None) -> SmartRoutingOrchestrator:
    """Build the routers that apply to ``agent_id``.

    They are the rules limited to it or to every agent, and the workflow's parallel hints, priority and
    state-analysis settings. No routers at all means CONTINUE.
    """
    routing = spec.routing
    orchestrator = SmartRoutingOrchestrator(state=state, max_history_size=100, strategy_weights=routing.weights)
    rules = [rule.rule() for rule in routing.rules if not rule.agents or agent_id in rule.agents]
    if rules:
        orchestrator.add_router(ConditionalRouter(rules=rules))
    if routing.state_analysis is not None:
        orchestrator.add_router(
            StateAnalysisRouter(
                max_complexity_score=routing.state_analysis.max_complexity_score,
                error_handling_decision=routing.state_analysis.error_handling_decision,
            )
        )
    if routing.parallel:
        orchestrator.add_router(ParallelRouter(parallelization_hints=list(routing.parallel)))
    if routing.priority is not None:
        orchestrator.add_router(PriorityRouter(config=routing.priority))
    return orchestrator


def orchestrator_for(coordination_id: str, spec: WorkflowSpec, agent_id: str, state: Any) -> SmartRoutingOrchestrator:
    """Return the cached orchestrator of one agent of one coordination."""
    key = (coordination_id, agent_id)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    built = build_orchestrator(spec, agent_id, state)
    with _lock:
        _cache[key] = built
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return built


def routing_reason(decision: dict[str, Any]) -> str:
    """The reasoning of a routing decision worth recording: none when no router answered.

    An agent without routing rules gets the orchestrator's default decision, whose text ("No routers available,
    ...") would stand where the planner's own reason (a dependency timed out, the agent raised) belongs.
    """
    if not decision.get("routers_evaluated"):
        return ""
    return str(decision.get("reasoning", ""))
