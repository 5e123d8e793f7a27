"""Tasks the pipeline benchmark's workers run: a no-op ``@agent`` and the bare Celery no-op tasks of its baselines.

The worker imports this module through ``COORD_AGENT_MODULES=bench.pipeline_agents``. The baseline tasks are plain
``@app.task`` functions registered under explicit names, on the same app, so they run with exactly the worker
settings the agents get (acks_late, prefetch 1, JSON, task events, result backend).
"""

from __future__ import annotations

import time
from typing import Any

from bench.pipeline_names import (
    HOP_FIRST_TASK,
    HOP_SECOND_TASK,
    NOOP_AGENT,
    NOOP_TASK,
    SLOW_FIRST_AGENT,
    STARTED_TASK,
)
from config.celery_app import app
from config.settings import get_settings
from coordination import agent
from coordination.store.connection import sync_client


@agent(NOOP_AGENT)
def noop_agent(run: Any) -> None:
    """Do nothing: everything measured is the pipeline's own cost."""
    return None


@agent(SLOW_FIRST_AGENT)
def slow_first_agent(run: Any) -> None:
    """Sleep input[agent]["first_sleep"] s on the agent's first run, input[agent]["sleep"] s on later runs.

    Its runs are counted under the bench's root prefix (deleted with the rest of the run's keys).
    """
    key = f"{get_settings().namespace}:bench-runs:{run.coordination_id}:{run.agent_id}"
    runs = int(sync_client().incr(key))
    durations = (run.input or {}).get(run.agent_id, {})
    time.sleep(float(durations.get("first_sleep", 0) if runs == 1 else durations.get("sleep", 0)))


@app.task(name=NOOP_TASK)  # type: ignore[untyped-decorator]
def noop_task() -> float:
    """Do nothing; return the time at the end."""
    return time.time()


@app.task(name=HOP_FIRST_TASK)  # type: ignore[untyped-decorator]
def hop_first() -> float:
    """Do nothing; return the time at the end (the chain passes it to the second task)."""
    return time.time()


@app.task(name=HOP_SECOND_TASK)  # type: ignore[untyped-decorator]
def hop_second(previous_end: float) -> dict[str, float]:
    """Record the time at the start, beside the first task's end."""
    started = time.time()
    return {"previous_end": float(previous_end), "started": started}


@app.task(name=STARTED_TASK)  # type: ignore[untyped-decorator]
def started_task() -> float:
    """Return the time at the start."""
    return time.time()
