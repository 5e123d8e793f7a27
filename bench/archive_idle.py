"""Archive figure: the cost of a run with nothing new to archive while many finished coordinations are retained.

Finished coordinations stay in Redis for ``COORD_RETENTION_SECONDS``. A run reads their streams only while an
attempt of theirs may still run (the task time limit after they finished) and again before they expire; the
figure is an idle run once they are past that window, beside the same idle run while they are all inside it (every
stream read, what every run cost before). Both alternate in one process over the same coordinations, by switching
the time limit the writer goes by: nothing else differs.
"""

from __future__ import annotations

import math
import time
import uuid
from statistics import median

from bench.env import overridden_settings
from bench.harness import Figure, Target
from bench.pipeline_figures import PipelinePlan

_KEY = "pipeline.archive.idle_run_ms"
_NAME = "archive run with nothing new, finished coordinations retained (past their attempts' time limit)"
_BASELINE = "the same idle run while they are within it (every stream read)"
# Settings of the "past the window" runs: attempts cannot outlive 2 s, so 2.2 s after finishing a coordination is
# left alone (the window also counts two archive intervals).
_PAST = {"COORD_TASK_SOFT_TIME_LIMIT": "1", "COORD_TASK_TIME_LIMIT": "2", "COORD_ARCHIVE_INTERVAL_SECONDS": "0.1"}
_WINDOW_S = 2.2


def archive_idle_figure(plan: PipelinePlan) -> Figure:
    """Idle archive run past the window beside within it; run inside :func:`bench.archive_rate.archive_figures`'s
    settings (a migrated schema and a pipeline namespace of the bench's own)."""
    try:
        return _measure(plan)
    except Exception as error:  # reported as such, never as a number
        return idle_not_measured(f"{type(error).__name__}: {error}")


def _measure(plan: PipelinePlan) -> Figure:
    from coordination.archive.writer import archive_once

    finished_at = _finished_coordinations(plan.archive_idle_coordinations)
    first = archive_once()  # archives them (rows, signals); later runs have nothing new
    if not first.ok:
        return idle_not_measured(f"archive_once failed: {first.error}")
    time.sleep(max(0.0, finished_at + _WINDOW_S + 0.3 - time.monotonic()))
    within: list[float] = []
    past: list[float] = []
    polled = {"within": 0.0, "past": 0.0}
    for _rep in range(plan.archive_idle_reps):
        for label, settings, samples in (("within", {}, within), ("past", _PAST, past)):
            with overridden_settings(**settings):
                started = time.perf_counter()
                report = archive_once()
                elapsed_ms = (time.perf_counter() - started) * 1000
            if not report.ok or report.rows:
                return idle_not_measured(f"an idle run failed or found rows: {report.as_dict()}")
            samples.append(elapsed_ms)
            polled[label] = float(report.streams_polled)
    count = plan.archive_idle_coordinations
    return Figure(
        key=_KEY,
        name=_NAME,
        value=median(past),
        unit="ms",
        baseline=median(within),
        baseline_name=_BASELINE,
        target=Target("ratio_max", 0.5),
        stats={
            "median": median(past),
            "min": min(past),
            "max": max(past),
            "coordinations": float(count),
            "streams_polled": polled["past"],
        },
        baseline_stats={
            "median": median(within),
            "min": min(within),
            "max": max(within),
            "streams_polled": polled["within"],
        },
        detail=f"{count:,} finished two-agent coordinations in Redis, nothing new to archive; wall time of "
        "archive_once(); the two kinds of run alternate, median of "
        f"{plan.archive_idle_reps} each",
    )


def _finished_coordinations(count: int) -> float:
    """Submit ``count`` coordinations whose agents wait for a resource nobody marks, and cancel them.

    No agent message is sent (both agents wait), so no worker is involved. Returns when the last one finished
    (``time.monotonic()``).
    """
    from bench.pipeline_names import NOOP_AGENT
    from coordination import Workflow, cancel_coordination

    resource = f"bench-never-{uuid.uuid4().hex[:8]}"
    workflow = Workflow(
        name="bench-idle",
        agents={"a": {"task": NOOP_AGENT}, "b": {"task": NOOP_AGENT, "depends_on": ["a"]}},
        dependencies=[
            {"id": "wait", "agent": "a", "type": "resource_availability", "target": resource, "timeout": 3600}
        ],
    )
    for index in range(count):
        cancel_coordination(workflow.submit(input={"n": index}, check_agents=False), "bench: finished at once")
    return time.monotonic()


def idle_not_measured(reason: str) -> Figure:
    """The idle-run figure without a value, saying why."""
    return Figure(
        key=_KEY,
        name=_NAME,
        value=math.nan,
        unit="ms",
        baseline=None,
        baseline_name=_BASELINE,
        target=Target("ratio_max", 0.5),
        not_measured=reason,
    )
