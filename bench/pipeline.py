"""The pipeline suite: the distributed pipeline through a real Celery worker, each figure beside bare Celery.

``main(json_path, quick)`` is what ``python -m bench pipeline`` and ``coord bench pipeline`` call. The run gets a
root key prefix, a task queue and a pipeline namespace of its own (all ``bench-<hex8>``), starts its own worker
(``celery worker -Q <queue> -c 2``, agents from :mod:`bench.pipeline_agents`), and at the end stops it and deletes
every key it wrote: its keys under the root prefix, its queue's keys in the broker, and the results of the tasks it
sent. Nothing is flushed. No beat runs: the figures measure the event path only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from rich.console import Console

from bench.env import delete_keys, overridden_settings, restore_namespace, use_fresh_namespace
from bench.harness import Figure, machine, render, write_json
from bench.pipeline_faults import FAULTS_FULL, FAULTS_QUICK, FaultPlan
from bench.pipeline_figures import FULL, QUICK, PipelinePlan, PipelineRun
from bench.pipeline_workers import Worker, delete_broker_keys, delete_results

_VARIABLES = ("COORD_TASK_QUEUE", "COORD_PIPELINE_NAMESPACE", "COORD_AGENT_MODULES")
AGENT_MODULE = "bench.pipeline_agents"


def main(json_path: str | None = None, quick: bool = False) -> int:
    """Run the pipeline suite, print the table, write JSON if asked; return 0 when every target is met, else 1.

    Args:
        json_path: where to write the JSON results (None: do not write them).
        quick: fewer samples (a smoke run of under 60 s; the figures are noisier).
    """
    root = use_fresh_namespace()
    console = Console(width=max(Console().width, 160))
    plan = QUICK if quick else FULL
    started = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    cleanup: dict[str, int] = {}
    with _pipeline_settings(root):
        from config.celery_app import app
        from config.settings import get_settings
        from coordination.task_names import PING

        settings = get_settings()
        previous_queue = app.conf.task_default_queue
        app.conf.task_default_queue = settings.task_queue
        worker = Worker(settings.task_queue, {"COORD_NAMESPACE": root, **{n: os.environ[n] for n in _VARIABLES}})
        run = PipelineRun(app=app, worker=worker, plan=plan)
        failed_run = True
        try:
            with _step(console, "starting the worker (celery -c 2)"):
                worker.start()
                run.remember(worker.wait_ready(app, PING))
            figures = _measure(run, root, console, FAULTS_QUICK if quick else FAULTS_FULL)
            redis_version = _redis_version()
            failed_run = False
        finally:
            worker.stop(keep_log=failed_run)
            if failed_run:
                console.print(f"[red]worker log kept at {worker.log_path}[/]")
            cleanup["store"] = delete_keys(root)
            cleanup["broker"] = delete_broker_keys(
                settings.broker_url.get_secret_value(), settings.task_queue, worker.node
            )
            cleanup["results"] = delete_results(settings.result_backend_url.get_secret_value(), run.result_keys)
            app.conf.task_default_queue = previous_queue
            restore_namespace()
    elapsed = time.perf_counter() - started
    render(figures, f"coordination pipeline benchmark ({'quick' if quick else 'full'} run, {elapsed:.0f} s)", console)
    failed = [fig for fig in figures if fig.passed is False]
    console.print(
        f"{len(figures)} figures, {len(failed)} below target; root prefix {root} ({cleanup['store']} keys deleted; "
        f"{cleanup['broker']} broker keys/members and {cleanup['results']} task results deleted)"
    )
    if json_path:
        meta: dict[str, Any] = {
            "suite": "pipeline",
            "command": "python -m bench pipeline" + (" --quick" if quick else ""),
            "quick": quick,
            "duration_s": elapsed,
            "machine": {**machine(), "load_average_1m_at_start": load_at_start, "redis_version": redis_version},
            "worker": {"pool": "prefork", "concurrency": 2, "settings": _worker_settings(app)},
            "plan": plan.__dict__,
            "fault_plan": (FAULTS_QUICK if quick else FAULTS_FULL).__dict__,
        }
        write_json(json_path, figures, meta)
        console.print(f"JSON written to {json_path}")
    return 1 if failed else 0


def _measure(run: PipelineRun, root: str, console: Console, faults: FaultPlan) -> list[Figure]:
    from bench.archive_rate import archive_figures
    from bench.pipeline_faults import fault_figures
    from bench.pipeline_figures import hop_figures, throughput_figures, wakeup_figures

    figures: list[Figure] = []
    with _step(console, "hop latency"):
        figures += hop_figures(run)
    with _step(console, "throughput"):
        figures += throughput_figures(run)
    with _step(console, "dependency wake-up"):
        figures += wakeup_figures(run)
    with _step(console, "archive"):
        figures += archive_figures(root, run.plan)
    with _step(console, "faults (worker killed, time-outs behind a backlog, poll cost)"):
        figures += fault_figures(run.app, root, faults)
    return figures


def _pipeline_settings(root: str) -> AbstractContextManager[None]:
    """Point the queue and the pipeline namespace at ``root`` and the agents at the bench's module; restore after."""
    return overridden_settings(COORD_TASK_QUEUE=root, COORD_PIPELINE_NAMESPACE=root, COORD_AGENT_MODULES=AGENT_MODULE)


@contextmanager
def _step(console: Console, name: str) -> Iterator[None]:
    started = time.perf_counter()
    console.print(f"[dim]measuring {name}…[/]")
    yield
    console.print(f"[dim]  {name} done in {time.perf_counter() - started:.1f} s[/]")


def _worker_settings(app: Any) -> dict[str, Any]:
    conf = app.conf
    return {
        "task_acks_late": conf.task_acks_late,
        "worker_prefetch_multiplier": conf.worker_prefetch_multiplier,
        "task_serializer": conf.task_serializer,
        "worker_send_task_events": conf.worker_send_task_events,
        "task_track_started": conf.task_track_started,
    }


def _redis_version() -> str:
    from coordination.store.connection import sync_client

    return str(sync_client().info("server").get("redis_version", "unknown"))


# Re-exported for callers that pick the plan themselves.
__all__ = ["FULL", "QUICK", "PipelinePlan", "main"]
