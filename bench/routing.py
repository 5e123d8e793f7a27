"""Routing figure: SmartRoutingOrchestrator.route() with all four routers and a few rules (single process)."""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.harness import Figure, Target
from bench.plan import Plan
from coordination import (
    ConditionalRouter,
    ConditionalRule,
    ParallelizationHint,
    ParallelRouter,
    PriorityRouter,
    RoutingContext,
    RoutingDecision,
    SmartRoutingOrchestrator,
    StateAnalysisRouter,
)
from coordination.metrics import MetricsCollector
from coordination.routing import BaseRouter, consolidate

_TASKS = ["generate_models", "generate_validators", "generate_tests", "package"]
_STATE: dict[str, Any] = {
    "completed_tasks": ["parse_contract", "generate_models"],
    "task_priority": 50,
    "error_count": 0,
    "models_count": 5,
    "current_phase": "generation",
    "contract_summary": {"field_count": 10, "complexity": 0.5},
}


def _routers() -> list[BaseRouter]:
    rules = [
        ConditionalRule(
            rule_id="errors",
            name="retry on errors",
            condition_key="error_count",
            condition_operator=">",
            condition_value=0,
            decision=RoutingDecision.RETRY,
            priority=100,
        ),
        ConditionalRule(
            rule_id="urgent",
            name="urgent first",
            condition_key="task_priority",
            condition_operator=">=",
            condition_value=90,
            decision=RoutingDecision.CONTINUE,
            priority=90,
        ),
        ConditionalRule(
            rule_id="done",
            name="end when packaged",
            condition_key="current_phase",
            condition_operator="==",
            condition_value="packaged",
            decision=RoutingDecision.END,
            priority=80,
        ),
    ]
    hints = [
        ParallelizationHint(
            task_group=["generate_validators", "generate_tests"],
            dependencies=["generate_models"],
            estimated_duration_ms=500.0,
        )
    ]
    return [ConditionalRouter(rules=rules), StateAnalysisRouter(), ParallelRouter(hints), PriorityRouter()]


def _per_call_us(loops: dict[str, Any], calls: int, reps: int) -> dict[str, list[float]]:
    """µs per call of each loop; the loops take turns, repetition by repetition, so drift hits all alike."""
    per_rep: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(reps):
        for name, loop in loops.items():
            started = time.perf_counter()
            loop(calls)
            per_rep[name].append((time.perf_counter() - started) * 1e6 / calls)
    return per_rep


def routing_figures(plan: Plan) -> list[Figure]:
    """Median µs per route() call (no metrics, and with a MetricsCollector) beside the routers called directly."""
    routers = _routers()
    plain = SmartRoutingOrchestrator(metrics_collector=None)
    metrics = MetricsCollector(kafka_enabled=False, postgres_enabled=False)  # not started: no flusher thread
    measured = SmartRoutingOrchestrator(metrics_collector=metrics)
    for orchestrator in (plain, measured):
        for router in routers:
            orchestrator.add_router(router)
    contexts = [RoutingContext(current_task=task, state_summary={"key_count": len(_STATE)}) for task in _TASKS]
    weights = plain.strategy_priority

    def direct(calls: int) -> None:
        for index in range(calls):
            context = contexts[index & 3]
            results = [(order, router.evaluate(_STATE, context)) for order, router in enumerate(routers)]
            consolidate(results, weights)

    def routed(orchestrator: SmartRoutingOrchestrator) -> Any:
        route = orchestrator.route

        def loop(calls: int) -> None:
            for index in range(calls):
                route(_STATE, _TASKS[index & 3])

        return loop

    loops = {"direct": direct, "plain": routed(plain), "measured": routed(measured)}
    for loop in loops.values():
        loop(min(2000, plan.route_calls))  # warm-up: caches, branch predictors, allocator
    per_rep = _per_call_us(loops, plan.route_calls, plan.route_reps)
    base_reps = per_rep["direct"]
    base = statistics.median(base_reps)
    figures = []
    for key, label, name in (
        ("routing.route.no_metrics.us", "route(), 4 routers + 3 rules, metrics_collector=None", "plain"),
        ("routing.route.with_metrics.us", "route(), 4 routers + 3 rules, with a MetricsCollector", "measured"),
    ):
        reps = per_rep[name]
        value = statistics.median(reps)
        figures.append(
            Figure(
                key=key,
                name=label,
                value=value,
                unit="µs",
                baseline=base,
                baseline_name="4 × evaluate() + consolidate(), direct",
                target=Target("max", 12.0, unit="µs"),
                seed_published="0.018 ms (18 µs)",
                stats={
                    "median": value,
                    "min": min(reps),
                    "max": max(reps),
                    "calls": float(plan.route_calls),
                    "reps": float(plan.route_reps),
                },
                baseline_stats={"median": base, "min": min(base_reps), "max": max(base_reps)},
                detail="mean per call over a loop of route() calls; median of the repetitions",
            )
        )
    return figures
