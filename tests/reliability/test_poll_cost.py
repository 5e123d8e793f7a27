"""Beat's poll costs what is due, not how many coordinations wait.

Integration level (no worker): coordinations are created with ``submit()`` on a private ``redis-server`` (so its
command statistics count this test's commands only) and ``coordination.pipeline.polling.poll()`` is called directly,
with the agent messages it would send captured. The server's ``INFO commandstats`` counts every command a poll runs,
those inside its Lua scripts included: a poll with 10 and one with 10,000 waiting coordinations, each with the same
three dependencies due, must run exactly the same commands.

The waiting agents wait on a resource with ``check_interval_ms: 0``: due only at their deadline. (A resource or gate
dependency with a re-check interval, 100 and 500 ms by default, is due every interval, so every poll checks it; its
cost then follows how many such dependencies wait: see docs/operations.md.)
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import reload_settings
from coordination.models.workflow import WorkflowSpec
from coordination.pipeline.components import components
from coordination.pipeline.dispatch import Dispatcher
from coordination.pipeline.polling import PollReport, poll
from coordination.pipeline.records import Send, now_ms
from coordination.pipeline.submission import submit
from coordination.store.connection import sync_client
from coordination.store.scripts import script
from tests.reliability.redis_server import PrivateRedis, store_on

SCRIPTS = Path(__file__).resolve().parents[2] / "coordination" / "store" / "lua"
DUE = 3


@pytest.fixture(scope="module")
def private_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    """A redis-server of this module's own, used as the coordination store of this process."""
    server = PrivateRedis(tmp_path_factory.mktemp("poll-cost")).start()
    try:
        with store_on(server):
            yield server
    finally:
        server.kill()


def _waiting(timeout: float) -> WorkflowSpec:
    """One agent waiting on a resource nobody marks; no periodic re-check, so it is due only at its deadline."""
    return WorkflowSpec.model_validate(
        {
            "name": "poll-cost",
            "agents": {"worker": {"task": "e2e-step"}},
            "dependencies": [
                {
                    "id": "needs-input",
                    "agent": "worker",
                    "type": "resource_availability",
                    "target": "never-marked",
                    "timeout": timeout,
                    "check_interval_ms": 0,
                }
            ],
        }
    )


def _namespace_with(waiting: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A pipeline namespace holding ``waiting`` coordinations that wait an hour and DUE whose time-out is 1 s."""
    monkeypatch.setenv("COORD_PIPELINE_NAMESPACE", f"poll-{waiting}-{uuid.uuid4().hex[:8]}")
    reload_settings()
    long_wait, short_wait = _waiting(3600), _waiting(1)
    for _ in range(waiting):
        submit(long_wait)
    return [submit(short_wait) for _ in range(DUE)]


def _commands_of_one_poll() -> tuple[Counter[str], PollReport]:
    """Every command the next poll runs on the server (Lua's included), and the poll's report."""
    client = sync_client()
    client.config_resetstat()
    report = poll(budget_seconds=60)
    stats = client.info("commandstats")
    counts = Counter({name.removeprefix("cmdstat_"): int(row["calls"]) for name, row in stats.items()})
    counts["info"] -= 1  # this read itself
    return +counts, report


@pytest.mark.timeout(600)
def test_a_poll_runs_the_same_commands_with_10_and_10000_waiting_coordinations(
    private_store: PrivateRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[Send] = []
    monkeypatch.setattr(Dispatcher, "publish", lambda self, task, queue, item, task_id=None: sent.append(item))
    for name in {path.stem for path in SCRIPTS.glob("*.lua")} - {
        "keys_lib",
        "limits_lib",
        "signal_lib",
        "map_lib",
        "agent_lib",
        "deps_lib",
    }:
        sync_client().script_load(script(name).source)  # so no poll pays for loading a script (NOSCRIPT)

    polled: dict[int, tuple[Counter[str], PollReport]] = {}
    for waiting in (10, 10_000):
        due = _namespace_with(waiting, monkeypatch)
        assert sync_client().zcard(components().keys.due) == waiting + DUE
        time.sleep(max(0.0, (_latest_deadline(due) - now_ms()) / 1000 + 0.05))  # the short time-outs have passed
        polled[waiting] = _commands_of_one_poll()

    (small, small_report), (large, large_report) = polled[10], polled[10_000]
    assert small_report.timed_out == large_report.timed_out == DUE
    assert small_report.checked == large_report.checked == DUE  # the waiting ones were not even looked at
    assert small == large, f"commands differ: {sorted((small - large).items())} / {sorted((large - small).items())}"
    assert not small_report.unfinished and not large_report.unfinished
    # What a due time-out costs (its check, routing, signal, settlement: 60 commands here, most inside scripts),
    # and nothing per waiting coordination.
    assert sum(small.values()) - small["config|resetstat"] <= 100 * DUE


def _latest_deadline(coordination_ids: list[str]) -> int:
    keys = components().keys
    return max(
        int(sync_client().hget(keys.coordination(cid).dependency("needs-input"), "deadline_ms"))
        for cid in coordination_ids
    )
