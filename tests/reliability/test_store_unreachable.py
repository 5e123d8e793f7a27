"""Faults: the coordination store unreachable from the worker for longer than the Redis client's own retries.

The worker reaches the store through a relay the test cuts while an agent runs: every connection is dropped and
new ones are refused for several seconds, so the client's reconnect-and-retry gives up and the agent task has to
deliver its own message again (same task id) until the store is back. No beat runs: nothing else could finish
the agent. Nothing may be lost or done twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from config.settings import get_settings
from coordination import Workflow
from coordination.pipeline.components import components
from tests.e2e.agents import runs_of
from tests.e2e.conftest import Services, running_services, wait_finished
from tests.reliability.proxy import CuttableProxy

# Longer than the store client's whole retry budget (5 retries, exponential back-off capped at 1 s: about 2.5 s).
CUT_SECONDS = 5.0


@pytest.fixture(scope="module")
def proxy(redis_server: str) -> Iterator[CuttableProxy]:
    store = urlsplit(get_settings().redis_url.get_secret_value())
    relay = CuttableProxy((store.hostname or "127.0.0.1", store.port or 6379))
    yield relay
    relay.close()


@pytest.fixture(scope="module")
def services_behind_proxy(proxy: CuttableProxy, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """A worker whose store connections go through the proxy (broker and results stay direct); no beat."""
    store = urlsplit(get_settings().redis_url.get_secret_value())
    proxied = store._replace(netloc=f"127.0.0.1:{proxy.port}").geturl()
    with running_services(tmp_path_factory.mktemp("unreachable"), {"COORD_REDIS_URL": proxied}, beat=False) as services:
        yield services


def _wait_until(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_an_agent_outlasts_a_store_outage_by_redelivering_itself(
    services_behind_proxy: Services, proxy: CuttableProxy
) -> None:
    workflow = Workflow(
        name="store-outage",
        agents={"first": {"task": "e2e-step"}, "second": {"task": "e2e-step", "depends_on": ["first"]}},
    )
    coordination_id = workflow.submit(input={"first": {"sleep": 0.5}})
    _wait_until(lambda: runs_of(coordination_id, "first") >= 1, 30, "the first agent to start")
    assert proxy.connections >= 1  # the worker really reaches the store through the relay

    proxy.cut()
    time.sleep(CUT_SECONDS)  # the agent finishes its work meanwhile and cannot record it
    proxy.restore()
    status = wait_finished(coordination_id, timeout=60)

    assert status.status == "completed", status
    # The first delivery gave up after the client's retries; the same message came back and ran the agent again.
    assert runs_of(coordination_id, "first") >= 2
    assert status.agent("first").attempts == 1
    assert runs_of(coordination_id, "second") == 1
    for agent in ("first", "second"):
        completions = components().signals.get_signal_history(
            coordination_id, filters={"signal_type": "agent_completed", "sender_agent_id": agent}
        )
        assert len(completions) == 1, agent
