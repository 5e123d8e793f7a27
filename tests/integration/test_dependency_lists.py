"""resolve_agent_dependencies: a long list that already holds registers as one call, whole (deps_register_many)."""

from __future__ import annotations

from typing import Any

import pytest

from coordination.dependencies import DependencyResolver
from coordination.signals import SignalCoordinator
from coordination.state import ThreadSafeState
from coordination.store.connection import sync_client

CID = "coord-deps-batch"
LONG = 30.0


@pytest.fixture
def state() -> ThreadSafeState[Any]:
    return ThreadSafeState()  # a private state: its keys expire when idle


@pytest.fixture
def resolver(state: ThreadSafeState[Any]) -> DependencyResolver:
    return DependencyResolver(SignalCoordinator(state))


async def test_eight_thousand_dependencies_that_hold_are_registered_whole(
    resolver: DependencyResolver, state: ThreadSafeState[Any]
) -> None:
    # The resolved ids are added to the coordination's set in parts: Lua's unpack() stops at 8000 values ("too many
    # results to unpack"), which once failed the call after its records were written and its owner counted.
    await resolver.mark_resource_available("db")
    count = 8000
    specs = [
        {"dependency_id": f"d{i}", "type": "resource_availability", "target": "db", "timeout": LONG}
        for i in range(count)
    ]

    assert await resolver.resolve_agent_dependencies(CID, {"agent_id": "consumer", "dependencies": specs}) is True

    client, ck = sync_client(), state.store_keys.coordination(CID)
    assert client.scard(ck.dependencies) == count
    assert client.hget(ck.agent_pending, "consumer") == "0"
    assert client.pttl(ck.dependency("d0")) > 0
