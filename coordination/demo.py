"""`coord demo`: every component at work across two processes, printed as it happens.

The coordinator process distributes contexts, emits signals, marks a resource and scores a quality gate. The
agent process (``validator-gen``) reads its context, subscribes to signals and waits for its three dependencies;
each resolves the moment the coordinator acts. With no reachable Redis, an embedded server is used.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
import uuid
from typing import Any

from rich.console import Console
from rich.table import Table

from config.settings import get_settings, reload_settings
from coordination.context import ContextDistributor
from coordination.dependencies import DependencyResolver
from coordination.metrics import MetricsCollector
from coordination.models.dependencies import Dependency, DependencyType
from coordination.models.routing import ConditionalRule
from coordination.routing import ConditionalRouter, PriorityRouter, StateAnalysisRouter
from coordination.signals import SignalCoordinator
from coordination.smart_routing import SmartRoutingOrchestrator
from coordination.state import ThreadSafeState
from coordination.store.connection import reset_clients, sync_client
from coordination.store.embedded import redis_reachable, start_embedded_redis

console = Console(highlight=False)

COORDINATION_ID = "codegen-demo"
ASSIGNMENTS: dict[str, dict[str, Any]] = {
    "model-gen": {"objective": "Generate pydantic models", "tasks": ["parse_contract", "generate_models"]},
    "validator-gen": {
        "objective": "Generate validators",
        "tasks": ["generate_validators"],
        "dependencies": ["model-gen"],
    },
    "test-gen": {"objective": "Generate tests", "tasks": ["generate_tests"], "dependencies": ["model-gen"]},
}


def _say(who: str, message: str) -> None:
    colour = "cyan" if who == "coordinator" else "magenta"
    console.print(f"[{colour}]{who:>13}[/] {message}")


async def _agent_main(namespace: str, ready: Any) -> None:
    state: ThreadSafeState[Any] = ThreadSafeState(namespace=namespace)
    signals = SignalCoordinator(state)
    resolver = DependencyResolver(signals, state=state)
    context = ContextDistributor(state).get_agent_context(COORDINATION_ID, "validator-gen")
    assert context is not None
    _say(
        "validator-gen",
        f"context v{context.context_version}: {context.agent_assignment.objective!r}, "
        f"waits for {context.agent_assignment.dependencies}",
    )
    stream = signals.subscribe_to_signals(COORDINATION_ID, "validator-gen", ["agent_completed", "agent_initialized"])
    dependencies = [
        Dependency("validators_wait_for_models", DependencyType.AGENT_COMPLETION, "model-gen", timeout=30),
        Dependency(
            "schema_registry_up",
            DependencyType.RESOURCE_AVAILABILITY,
            "schema-registry",
            timeout=30,
            metadata={"check_interval_ms": 2000},
        ),
        Dependency(
            "coverage_gate",
            DependencyType.QUALITY_GATE,
            "coverage",
            timeout=30,
            metadata={"threshold": 0.8, "check_interval_ms": 2000},
        ),
    ]
    started = time.perf_counter()

    async def wait(dep: Dependency) -> None:
        result = await resolver.resolve_dependency(COORDINATION_ID, dep, owner="validator-gen")
        _say(
            "validator-gen",
            f"dependency [bold]{dep.dependency_id}[/] {result.status.value} after "
            f"{(time.perf_counter() - started) * 1000:.0f} ms (check interval "
            f"{dep.metadata.get('check_interval_ms', 'n/a')} ms: woken by the event, not a poll)",
        )

    async def listen() -> None:
        seen = 0
        async for signal in stream:
            _say(
                "validator-gen",
                f"received {signal.signal_type.value} from {signal.sender_agent_id} {signal.event_data}",
            )
            seen += 1
            if signal.signal_type.value == "agent_completed":
                break

    ready.set()
    await asyncio.gather(listen(), *(wait(dep) for dep in dependencies))
    state.update({"generated_validators": {"UserValidator": "validators/user.py"}}, changed_by="validator-gen")
    await signals.emit(
        COORDINATION_ID,
        "agent_completed",
        {"agent_id": "validator-gen", "quality_score": 0.93, "result_summary": "3 validators"},
        sender_agent_id="validator-gen",
    )
    _say("validator-gen", "done: wrote generated_validators and signalled agent_completed")


def _agent_process(namespace: str, environment: dict[str, str], ready: Any) -> None:
    os.environ.update(environment)
    asyncio.run(_agent_main(namespace, ready))


async def _coordinator(namespace: str, environment: dict[str, str]) -> None:
    metrics = MetricsCollector(kafka_enabled=False, postgres_enabled=False)
    await metrics.start()
    state: ThreadSafeState[Any] = ThreadSafeState(namespace=namespace)
    signals = SignalCoordinator(state, metrics)
    resolver = DependencyResolver(signals, metrics, state)
    contexts = await ContextDistributor(state, metrics).distribute_agent_context(
        {"coordination_id": COORDINATION_ID, "session_id": COORDINATION_ID}, ASSIGNMENTS
    )
    _say("coordinator", f"distributed {len(contexts)} contexts: {', '.join(contexts)}")

    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Event()
    agent = spawn.Process(target=_agent_process, args=(namespace, environment, ready), name="validator-gen")
    agent.start()
    ready.wait(30)
    watch = signals.subscribe_to_signals(COORDINATION_ID, "coordinator", ["agent_completed"])

    async def validator_done() -> None:
        async for signal in watch:
            if signal.sender_agent_id == "validator-gen":
                return

    watching = asyncio.create_task(validator_done())

    await signals.emit(COORDINATION_ID, "agent_initialized", {"agent_id": "model-gen"}, sender_agent_id="model-gen")
    state.update(
        {"generated_models": {"User": "models/user.py"}, "completed_tasks": ["model-gen"]},
        changed_by="model-gen",
    )
    await asyncio.sleep(0.3)
    _say("coordinator", "model-gen finished: signalling agent_completed")
    await signals.emit(
        COORDINATION_ID,
        "agent_completed",
        {"agent_id": "model-gen", "quality_score": 0.95, "result_summary": "Generated 5 models"},
        sender_agent_id="model-gen",
    )
    await asyncio.sleep(0.3)
    _say("coordinator", "marking resource schema-registry available")
    await resolver.mark_resource_available("schema-registry")
    await asyncio.sleep(0.3)
    _say("coordinator", "coverage gate scored 0.62 (below the 0.8 threshold)")
    await resolver.update_quality_gate_score("coverage", 0.62)
    await asyncio.sleep(0.3)
    _say("coordinator", "coverage gate scored 0.91")
    await resolver.update_quality_gate_score("coverage", 0.91)

    await asyncio.wait_for(watching, 30)
    agent.join(30)

    router = SmartRoutingOrchestrator(metrics, state)
    router.add_router(
        ConditionalRouter(
            rules=[
                ConditionalRule(
                    rule_id="low-quality",
                    name="Retry on low quality",
                    condition_key="quality_score",
                    condition_operator="<",
                    condition_value=0.8,
                    decision="retry",
                    priority=90,
                ),
            ]
        )
    )
    router.add_router(StateAnalysisRouter())
    router.add_router(PriorityRouter())
    decision = router.route(
        {"quality_score": 0.93, "completed_tasks": ["model-gen", "validator-gen"]}, current_task="packager"
    )
    _say(
        "coordinator",
        f"routing for packager: [bold]{decision['decision']}[/] by {decision['strategy']} "
        f"({decision['reasoning']}) in {decision['routing_time_ms'] * 1000:.1f} µs",
    )
    router.persist_history()
    await metrics.stop()
    _summary(state, signals, resolver, metrics)


def _summary(state: Any, signals: Any, resolver: Any, metrics: Any) -> None:
    table = Table(title="What happened", show_lines=False)
    table.add_column("component")
    table.add_column("figure")
    figures = signals.get_signal_metrics(COORDINATION_ID)
    table.add_row(
        "signals",
        f"{figures.total_signals_sent} sent, {figures.total_signals_received} received, "
        f"emit→delivery avg {figures.average_propagation_ms:.2f} ms (max {figures.max_propagation_ms:.2f})",
    )
    for dep_id, status in resolver.list_dependencies(COORDINATION_ID).items():
        detail = resolver.get_dependency_status(COORDINATION_ID, dep_id)
        table.add_row("dependency", f"{dep_id}: {status}, waited {detail['wait_ms']:.0f} ms")
    history = state.get_history(limit=3)
    table.add_row("state", f"version {state.get_version()}, keys {sorted(state.keys())}")
    table.add_row("state history", "; ".join(f"v{r.version} {r.operation} {r.key} by {r.changed_by}" for r in history))
    recorded = metrics.read_metrics(limit=1000)
    names = sorted({metric.metric_name for metric in recorded})
    table.add_row("metrics", f"{len(recorded)} read back from Redis: {', '.join(names)}")
    console.print(table)


def run_demo() -> int:
    """Run the demo; return the exit code."""
    embedded = None
    url = get_settings().redis_url.get_secret_value()
    if redis_reachable(url):
        console.print(f"Using Redis at {get_settings().redis_url}")  # shown without its password
    else:
        embedded = start_embedded_redis()
        os.environ["COORD_REDIS_URL"] = embedded.url(2)
        os.environ["COORD_BROKER_URL"] = embedded.url(0)
        os.environ["COORD_RESULT_BACKEND_URL"] = embedded.url(1)
        reload_settings()
        reset_clients()
        console.print(
            f"[yellow]No Redis reachable at {url}: running on an embedded in-process server ({embedded.url(2)})[/]"
        )
    environment = {key: value for key, value in os.environ.items() if key.startswith("COORD_")}
    namespace = f"demo-{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_coordinator(namespace, environment))
    finally:
        _cleanup(namespace)
        if embedded is not None:
            embedded.stop()
    return 0


def _cleanup(namespace: str) -> None:
    client = sync_client()
    for key in client.scan_iter(match=f"*{namespace}*", count=1000):
        client.delete(key)
