"""Code run in spawned child processes by test_context_distribution.py.

Kept apart from the test module: importing the tests' conftest would give the child another key root. The
child inherits the parent's ``COORD_NAMESPACE`` through the environment instead.
"""

from __future__ import annotations

from typing import Any

from coordination.context import ContextDistributor
from coordination.models.context import ContextUpdateRequest
from coordination.state import ThreadSafeState


def fetch_context(namespace: str, coordination_id: str, agent_id: str) -> str | None:
    """Read one context in this process; return its JSON (or None)."""
    distributor = ContextDistributor(ThreadSafeState(namespace=namespace))
    context = distributor.get_agent_context(coordination_id, agent_id)
    return None if context is None else context.model_dump_json()


def add_type_entries(namespace: str, coordination_id: str, prefix: str, count: int, barrier: Any, results: Any) -> None:
    """Once every writer is ready, add ``count`` distinct type_registry entries, one update each."""
    distributor = ContextDistributor(ThreadSafeState(namespace=namespace))
    barrier.wait(timeout=60)
    updated = 0
    for index in range(count):
        outcome = distributor.update_shared_intelligence(
            ContextUpdateRequest(
                coordination_id=coordination_id,
                update_type="type_registry",
                update_data={f"{prefix}-{index}": index},
            )
        )
        updated += all(outcome.values())
    results.put((prefix, updated))
