"""DependencyResolver across processes: an event in one process resolves waiters in every other one."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from coordination.dependencies import DependencyResolver
from coordination.models.dependencies import Dependency
from coordination.signals import SignalCoordinator
from coordination.state import ThreadSafeState
from tests.conftest import SESSION_ROOT
from tests.helpers import CHILD_TIMEOUT_S, SPAWN, dependency_waiter, join_all, start_child

CID = "coord-mp-deps"


def spec(dep_id: str, dep_type: str, target: str, **metadata: Any) -> dict[str, Any]:
    # A long re-check interval and time-out: only the event can resolve the waiter within the bound below.
    return {
        "dependency_id": dep_id,
        "dependency_type": dep_type,
        "target": target,
        "timeout": CHILD_TIMEOUT_S,
        "metadata": {"check_interval_ms": 5000, **metadata},
    }


async def test_waiters_in_another_process_resolve_as_soon_as_their_condition_becomes_true(namespace: str) -> None:
    specs = [
        spec("needs-db", "resource_availability", "db"),
        spec("needs-db-too", "resource_availability", "db"),
        spec("needs-coverage", "quality_gate", "coverage", threshold=0.9),
        spec("needs-builder", "agent_completion", "builder"),
        spec("needs-tester", "agent_completion", "tester"),
        spec("needs-linter", "agent_completion", "linter"),
    ]
    ready = SPAWN.Queue()
    results = SPAWN.Queue()
    child = start_child(dependency_waiter, SESSION_ROOT, namespace, CID, specs, ready, results)
    assert await asyncio.to_thread(ready.get, timeout=CHILD_TIMEOUT_S) == "waiting"

    coordinator = SignalCoordinator(ThreadSafeState(namespace=namespace))
    resolver = DependencyResolver(coordinator)
    # A waiter in this process too: every waiter, wherever it runs, resolves on the same event.
    local_dependency = Dependency(**spec("local-db", "resource_availability", "db"))
    local = asyncio.create_task(resolver.resolve_dependency(CID, local_dependency))
    triggered: dict[str, float] = {}
    triggered["needs-db"] = triggered["needs-db-too"] = time.time()
    await resolver.mark_resource_available("db")
    await resolver.update_quality_gate_score("coverage", 0.5)  # below the threshold: nothing happens
    triggered["needs-coverage"] = time.time()
    await resolver.update_quality_gate_score("coverage", 0.95)
    triggered["needs-builder"] = time.time()
    await coordinator.emit(CID, "agent_completed", {}, "builder")  # completion by sender
    triggered["needs-tester"] = time.time()
    await coordinator.emit(CID, "agent_completed", {"agent_id": "tester"})  # completion named in the data
    triggered["needs-linter"] = time.time()
    await coordinator.emit(CID, "agent_completed", {"error": "lint failed"}, "linter")  # a failed completion

    outcomes = await asyncio.to_thread(results.get, timeout=CHILD_TIMEOUT_S)
    join_all(child)
    assert (await asyncio.wait_for(local, 1.0)).success
    assert set(outcomes) == set(triggered)
    failed = {"needs-linter"}
    for dep_id, outcome in outcomes.items():
        assert outcome["success"] is (dep_id not in failed), dep_id
        assert outcome["status"] == ("failed" if dep_id in failed else "resolved"), dep_id
        # A correctness bound (an event, not the 5 s re-check), not a benchmark.
        assert outcome["at"] - triggered[dep_id] < 1.0, dep_id
        assert resolver.get_dependency_status(CID, dep_id)["status"] == outcome["status"]
