"""Agents used by the end-to-end tests; their behaviour is driven by the coordination input."""

from __future__ import annotations

import os
import time
from typing import Any

from config.settings import get_settings
from coordination import agent
from coordination.store.connection import sync_client


def count_run(run: Any) -> int:
    """Count this agent's runs (any attempt) in Redis, under the test session's root prefix."""
    key = f"{get_settings().namespace}:runs:{run.coordination_id}:{run.agent_id}"
    client = sync_client()
    client.expire(key, 600)
    return int(client.incr(key))


def runs_of(coordination_id: str, agent_id: str) -> int:
    """How many times an agent's function ran."""
    return int(sync_client().get(f"{get_settings().namespace}:runs:{coordination_id}:{agent_id}") or 0)


@agent("e2e-step")
def step(run: Any) -> dict[str, Any]:
    """Succeed after an optional delay; quality from input["quality"][agent] (default 0.9)."""
    count_run(run)
    sync_client().set(f"{get_settings().namespace}:pid:{run.coordination_id}:{run.agent_id}", os.getpid(), ex=600)
    settings = (run.input or {}).get(run.agent_id, {})
    time.sleep(float(settings.get("sleep", 0)))
    if run.attempt <= int(settings.get("fail_attempts", 0)):
        raise RuntimeError(f"planned failure on attempt {run.attempt}")
    gate = settings.get("gate")
    quality = float(settings.get("quality", 0.9))
    if gate:
        run.report_quality(gate, quality)
    return {"summary": f"{run.agent_id} done", "quality_score": quality}


def pid_of(coordination_id: str, agent_id: str) -> int | None:
    """The process id that last ran an agent."""
    value = sync_client().get(f"{get_settings().namespace}:pid:{coordination_id}:{agent_id}")
    return None if value is None else int(value)


@agent("e2e-patient")
def patient(run: Any) -> dict[str, Any]:
    """Work in small steps for up to input[agent]["seconds"] (default 10), stopping when the coordination ends."""
    count_run(run)
    seconds = float((run.input or {}).get(run.agent_id, {}).get("seconds", 10))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run.raise_if_cancelled()
        time.sleep(0.05)
    return {"summary": f"{run.agent_id} worked {seconds:g} s"}


@agent("e2e-limited")
def limited(run: Any) -> dict[str, Any]:
    """Measure how many attempts run at once and when each starts (the limits tests read both).

    input["probe"] names the measurement: ``<root>:probe:<name>:running`` counts attempts inside this function
    (INCR on entry, DECR on exit), ``...:seen`` keeps the count each entry saw, ``...:starts`` each start time.
    Sleeps input["sleep"] seconds (default 0.2).
    """
    settings = run.input or {}
    probe = f"{get_settings().namespace}:probe:{settings['probe']}"
    client = sync_client()
    inside = int(client.incr(f"{probe}:running"))
    try:
        client.rpush(f"{probe}:seen", inside)
        client.rpush(f"{probe}:starts", repr(time.time()))
        client.expire(f"{probe}:seen", 600)
        client.expire(f"{probe}:starts", 600)
        time.sleep(float(settings.get("sleep", 0.2)))
    finally:
        client.decr(f"{probe}:running")
        client.expire(f"{probe}:running", 600)
    return {"summary": f"{run.agent_id} done", "inside": inside}


def probe_seen(name: str) -> list[int]:
    """How many attempts were inside ``e2e-limited`` as each of them entered."""
    return [int(value) for value in sync_client().lrange(f"{get_settings().namespace}:probe:{name}:seen", 0, -1)]


def probe_starts(name: str) -> list[float]:
    """When each ``e2e-limited`` attempt of the probe started (time.time(), in start order)."""
    return [float(value) for value in sync_client().lrange(f"{get_settings().namespace}:probe:{name}:starts", 0, -1)]


@agent("e2e-list")
def list_items(run: Any) -> dict[str, Any]:
    """Return input["items"] under "work.items": what an ``e2e-item`` map agent runs over."""
    count_run(run)
    return {"work": {"items": list((run.input or {}).get("items", []))}}


@agent("e2e-item")
def one_item(run: Any) -> dict[str, Any]:
    """Run for one item of a map agent: count the run (per item id), note the worker process, echo the item."""
    count_run(run)
    sync_client().set(f"{get_settings().namespace}:pid:{run.coordination_id}:{run.agent_id}", os.getpid(), ex=600)
    time.sleep(float((run.input or {}).get("item_sleep", 0)))
    return {"item": run.item, "index": run.index, "of": run.map_count}


@agent("e2e-flaky")
def flaky(run: Any) -> dict[str, Any]:
    """Fail the first time this agent's function runs in a coordination, succeed every time after (coord retry)."""
    if count_run(run) == 1:
        raise RuntimeError("planned failure on the first run")
    return {"summary": f"{run.agent_id} done in attempt {run.attempt}"}


@agent("e2e-talker")
def talker(run: Any) -> dict[str, Any]:
    """Report progress and stream words (input[agent]["words"], default 4), pausing input[agent]["pause"] s between."""
    settings = (run.input or {}).get(run.agent_id, {})
    words = [f"word{index}" for index in range(int(settings.get("words", 4)))]
    for index, word in enumerate(words):
        time.sleep(float(settings.get("pause", 0.2)))
        run.progress((index + 1) / len(words), f"wrote {word}")
        run.stream(word + " ")
    return {"summary": " ".join(words)}
