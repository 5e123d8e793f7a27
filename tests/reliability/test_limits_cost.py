"""Limits cost nothing on the hot path of an agent without limits, and no round trip for one with them.

A private ``redis-server`` (so ``MONITOR`` sees this test's commands only) watches one attempt of an agent without
limits and one of an agent with a concurrency, rate and token limit, each run in-process with ``execute_attempt``.
``MONITOR`` tells the commands a client sent (round trips) from those a Lua script ran.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
import redis

from config.settings import reload_settings
from coordination.models.workflow import WorkflowSpec
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.runtime import execute_attempt
from coordination.pipeline.submission import submit
from coordination.store.connection import sync_client
from tests.reliability.redis_server import PrivateRedis, store_on

STOP = "limits-cost-monitor-stop"


@pytest.fixture(scope="module")
def private_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    """A redis-server of this module's own, used as the coordination store of this process."""
    server = PrivateRedis(tmp_path_factory.mktemp("limits-cost")).start()
    try:
        with store_on(server):
            yield server
    finally:
        server.kill()


def _watched_attempt(server: PrivateRedis, spec: WorkflowSpec) -> tuple[list[str], list[str]]:
    """Run the first attempt of ``spec``'s agent; return (commands clients sent, commands Lua ran) meanwhile."""
    cid = submit(spec)
    sent: list[str] = []
    scripted: list[str] = []
    watcher = redis.Redis.from_url(server.url(2), decode_responses=True)
    ready = threading.Event()

    def watch() -> None:
        with watcher.monitor() as monitor:
            ready.set()
            for command in monitor.listen():
                text = str(command["command"])
                if STOP in text:
                    return
                (scripted if command.get("client_type") == "lua" else sent).append(text)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    ready.wait(5)
    execute_attempt(lambda run: {"summary": "done"}, cid, "call", 1, task_id=f"t-{uuid.uuid4().hex[:8]}")
    sync_client().echo(STOP)
    thread.join(10)
    watcher.close()
    return sent, scripted


def _names(commands: list[str]) -> list[str]:
    return [command.split()[0].upper() for command in commands]


def test_an_agent_without_limits_touches_no_limit_key_and_limits_add_no_round_trip(
    private_store: PrivateRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Dispatcher, "publish", lambda self, task, queue, item, task_id=None: None)
    monkeypatch.setenv("COORD_PIPELINE_NAMESPACE", f"cost-{uuid.uuid4().hex[:8]}")
    reload_settings()
    plain = WorkflowSpec.model_validate({"name": "plain", "agents": {"call": {}}})
    limited = WorkflowSpec.model_validate(
        {"name": "limited", "agents": {"call": {"limits": [{"key": "llm", "concurrency": 2, "rate": "9/s"}]}}}
    )
    _watched_attempt(private_store, plain)  # (scripts loaded: NOSCRIPT does not count against either)
    _watched_attempt(private_store, limited)

    plain_sent, plain_scripted = _watched_attempt(private_store, plain)
    limited_sent, limited_scripted = _watched_attempt(private_store, limited)

    assert not [command for command in plain_sent + plain_scripted if ":limit" in command]
    assert [command for command in limited_scripted if ":limit:llm:" in command]  # (the check can see them)
    assert _names(plain_sent) == _names(limited_sent)  # the same round trips, limits or not
    assert _names(plain_sent).count("EVALSHA") >= 2  # admission and settlement, at least
