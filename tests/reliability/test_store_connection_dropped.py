"""Faults: the coordination store's connections dropped while a pipeline runs; nothing is lost or done twice."""

from __future__ import annotations

import threading
import time

import redis

from config.settings import get_settings
from coordination import Workflow
from coordination.pipeline.components import components
from tests.e2e.agents import runs_of
from tests.e2e.conftest import wait_finished


def _drop_connections(stop: threading.Event, dropped: list[int]) -> None:
    """Kill every store connection of this test session (worker processes included), again and again."""
    settings = get_settings()
    name = f"coord-{settings.namespace}"  # only this session's clients: the server is shared
    admin = redis.Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
    admin.client_setname("fault-injector")
    while not stop.is_set():
        for client in admin.client_list():
            if client.get("name") == name:
                try:
                    admin.client_kill_filter(_id=client["id"])
                    dropped.append(int(client["id"]))
                except redis.ResponseError:
                    pass  # already gone
        stop.wait(0.15)
    admin.close()


def test_a_pipeline_survives_its_store_connections_being_killed(pipeline_services):
    workflow = Workflow(
        name="flaky-store",
        agents={
            "first": {"task": "e2e-step"},
            "second": {"task": "e2e-step", "depends_on": ["first"]},
            "third": {"task": "e2e-step", "depends_on": ["second"]},
        },
    )
    coordination_id = workflow.submit(input={name: {"sleep": 0.4} for name in ("first", "second", "third")})
    stop, dropped = threading.Event(), []
    injector = threading.Thread(target=_drop_connections, args=(stop, dropped), daemon=True)
    injector.start()
    time.sleep(1.5)
    stop.set()
    injector.join(timeout=5)
    status = wait_finished(coordination_id, timeout=60)

    assert len(dropped) >= 3  # connections really were killed while the agents ran
    assert status.status == "completed", status
    for agent in ("first", "second", "third"):
        completions = components().signals.get_signal_history(
            coordination_id, filters={"signal_type": "agent_completed", "sender_agent_id": agent}
        )
        assert len(completions) == 1, agent
        assert status.agent(agent).attempts == 1
    assert runs_of(coordination_id, "third") >= 1
