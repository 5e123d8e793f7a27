"""Fault figures: recovery after a worker's main process is killed, time-outs behind an agent backlog, poll cost.

Each against the fixed target issue 8 set (there is no bare-Celery equivalent to put beside them):

* **recovery**: a worker's main process SIGKILLed while two agents run on it (their pool processes die with it); a
  second worker is up. Figure: the kill → the later agent's next start (``started_ms`` of its record), with the
  default lease (``COORD_LEASE_SECONDS`` 10) and poll interval (1 s). Target ≤ 20 s (lease + one poll); before
  leases it was the broker's visibility timeout plus kombu's restore sweep, 801–824 s.
* **time-out lateness**: coordinations wait (1 h time-outs) while thousands of agent messages are queued ahead;
  5 s time-outs submitted half a second apart fire ``resolved_ms − deadline_ms`` late (dependency records). Target
  ≤ 1 s. Also, informational: the same number of time-outs all due at once (a burst), and how fast a poll gets
  through them.
* **poll cost**: ``coordination.pipeline.polling.poll()`` called in this process with the same number of time-outs
  due among 10 / 1,000 / 10,000 waiting coordinations (sizes interleaved, median of several polls). Target: flat
  (±30 %). Also, informational: waiting coordinations whose global resource dependency keeps the default re-check
  interval (100 ms) are due on every poll, so that poll's cost grows with them.

The recovery and lateness figures run a worker (``-c 2``, agent and periodic queues) and beat of their own, on a
task queue and pipeline namespace of their own (``<root>-faults``), with an archive that goes nowhere (a SQLite file
in a temporary directory, archive interval 1 h); the poll figures need no worker.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

import redis

from bench.env import overridden_settings
from bench.harness import Figure, Target, summary
from bench.pipeline_names import SLOW_FIRST_AGENT
from bench.pipeline_workers import ROOT, Worker
from coordination.celery_processes import CeleryProcesses

RECOVERY_KEY = "pipeline.faults.recovery_after_main_killed_s"
LATENESS_KEY = "pipeline.faults.timeout_lateness_s"
BURST_KEY = "pipeline.faults.burst_lateness_s"
DEFAULT_INTERVAL_KEY = "pipeline.faults.poll_ms.default_interval"
#: Time-out of the dependencies that must not fire while a figure is measured (s).
LONG_WAIT_S = 3600
RECOVERY_TARGET_S = 20.0
LATENESS_TARGET_S = 1.0
PROBE_TIMEOUT_S = 5
PROBE_SPACING_S = 0.5


@dataclass(frozen=True)
class FaultPlan:
    """Sizes of the fault figures."""

    recovery_samples: int  # kills of a worker's main process
    backlog: int  # agent messages queued ahead (1-agent coordinations of a 20 ms agent)
    waiting: int  # coordinations waiting meanwhile (1 h time-outs)
    probes: int  # 5 s time-outs submitted PROBE_SPACING_S apart
    burst: int  # 5 s time-outs submitted at once
    poll_sizes: tuple[int, ...]  # waiting coordinations of the poll-cost figures
    poll_due: int  # time-outs due in each measured poll
    poll_reps: int  # polls per size (interleaved); the median is kept
    default_interval_waiting: int  # waiting coordinations with the default re-check interval (info figure)


FAULTS_FULL = FaultPlan(
    recovery_samples=3,
    backlog=5_000,
    waiting=1_500,
    probes=20,
    burst=1_500,
    poll_sizes=(10, 1_000, 10_000),
    poll_due=20,
    poll_reps=5,
    default_interval_waiting=1_000,
)
FAULTS_QUICK = FaultPlan(
    recovery_samples=1,
    backlog=1_000,
    waiting=300,
    probes=6,
    burst=200,
    poll_sizes=(10, 100, 1_000),
    poll_due=10,
    poll_reps=3,
    default_interval_waiting=100,
)


def fault_figures(app: Any, root: str, plan: FaultPlan) -> list[Figure]:
    """Every fault figure (poll cost first: it needs no worker); a group that breaks is reported as not measured."""
    figures = _measured(lambda: poll_cost_figures(root, plan), poll_cost_keys(plan))
    with _FaultServices.running(app, root) as services:
        figures += _measured(lambda: recovery_figures(services, plan), [RECOVERY_KEY])
        figures += _measured(lambda: lateness_figures(services, plan), [LATENESS_KEY, BURST_KEY])
    return figures


def _measured(measure: Callable[[], list[Figure]], keys: Sequence[str]) -> list[Figure]:
    try:
        return measure()
    except Exception as error:  # reported as such, never as a number
        reason = f"{type(error).__name__}: {error}"
        return [Figure(key, key, math.nan, "", None, "", Target("info"), not_measured=reason) for key in keys]


def poll_cost_keys(plan: FaultPlan) -> list[str]:
    """The keys of the poll-cost figures of ``plan``."""
    smallest = plan.poll_sizes[0]
    return [
        *(f"pipeline.faults.poll_ms.waiting_{size}" for size in plan.poll_sizes),
        *(f"pipeline.faults.poll_flat.{size}_vs_{smallest}" for size in plan.poll_sizes[1:]),
        DEFAULT_INTERVAL_KEY,
    ]


# -- processes -----------------------------------------------------------------------------------------------------


class _Beat:
    """``celery beat`` with the given environment; its schedule file and log in ``directory``."""

    def __init__(self, app: Any, environment: dict[str, str], directory: Path) -> None:
        self.processes = CeleryProcesses(
            app, {**os.environ, **environment, "PYTHONPATH": str(ROOT)}, directory, cwd=ROOT
        )
        self.log_path = self.processes.start_beat().log_path

    def stop(self) -> None:
        self.processes.stop()


@dataclass
class _FaultServices:
    """Workers and beat of the fault figures, on ``<root>-faults``."""

    app: Any
    queue: str
    environment: dict[str, str]
    workers: list[Worker] = field(default_factory=list)
    started: int = 0

    @classmethod
    @contextmanager
    def running(cls, app: Any, root: str) -> Iterator[_FaultServices]:
        name = f"{root}-faults"
        with tempfile.TemporaryDirectory(prefix=f"{name}-") as directory:
            settings = {
                "COORD_TASK_QUEUE": name,
                "COORD_PIPELINE_NAMESPACE": name,
                "COORD_AGENT_MODULES": "bench.pipeline_agents",
                # No archive run during the figures, and none that could write anywhere that matters.
                "COORD_ARCHIVE_INTERVAL_SECONDS": "3600",
                "COORD_DATABASE_URL": f"sqlite:///{directory}/archive.sqlite",
            }
            previous_queue = app.conf.task_default_queue
            with overridden_settings(**settings):
                app.conf.task_default_queue = name
                services = cls(app, name, {"COORD_NAMESPACE": root, **settings})
                beat = _Beat(app, services.environment, Path(directory))
                try:
                    yield services
                finally:
                    beat.stop()
                    _purge(name)  # messages nobody needs any more: the workers stop at once
                    for worker in services.workers:
                        worker.stop()
                    app.conf.task_default_queue = previous_queue

    def start_worker(self) -> Worker:
        """Start one more worker (agents and periodic queue, ``-c 2``) and wait until it answers."""
        self.started += 1
        worker = Worker(self.queue, self.environment, name=f"{self.queue}-{self.started}", periodic=True)
        self.workers.append(worker)
        worker.start()
        worker.wait_answering(self.app)
        return worker


def _purge(queue: str) -> None:
    from config.settings import get_settings

    broker = redis.Redis.from_url(str(get_settings().broker_url))
    try:
        broker.delete(queue, f"{queue}.periodic")
    finally:
        broker.close()


def _queue_length(queue: str) -> int:
    from config.settings import get_settings

    broker = redis.Redis.from_url(str(get_settings().broker_url))
    try:
        return int(broker.llen(queue))
    finally:
        broker.close()


# -- records -------------------------------------------------------------------------------------------------------


def _records(keys: Sequence[tuple[str, str]], kind: str) -> list[dict[str, str]]:
    """Agent (``kind`` 'agent') or dependency ('dependency') records ``(coordination_id, id)``, in one round trip."""
    from coordination.pipeline.components import components
    from coordination.store.connection import sync_client

    builder = components().keys
    pipe = sync_client().pipeline(transaction=False)
    for cid, item in keys:
        coordination = builder.coordination(cid)
        pipe.hgetall(coordination.agent(item) if kind == "agent" else coordination.dependency(item))
    return [dict(record) for record in pipe.execute()]


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.05)


def _waiting_spec(name: str, timeout: float, check_interval_ms: int | None = 0) -> Any:
    """One agent waiting on a resource nobody marks (with no periodic re-check unless an interval is given).

    With ``check_interval_ms`` None the resource is global (``scope: global``), which keeps the default re-check
    interval (a coordination's own resource changes only with an event, so it is never re-checked).
    """
    from coordination.models.workflow import WorkflowSpec

    dependency: dict[str, Any] = {
        "id": "needs-input",
        "agent": "waiter",
        "type": "resource_availability",
        "target": "never-marked",
        "timeout": timeout,
    }
    if check_interval_ms is not None:
        dependency["check_interval_ms"] = check_interval_ms
    else:
        dependency["scope"] = "global"
    return WorkflowSpec.model_validate(
        {"name": name, "agents": {"waiter": {"task": SLOW_FIRST_AGENT}}, "dependencies": [dependency]}
    )


def _lateness(coordination_ids: Sequence[str]) -> list[float]:
    """Seconds from each dependency's deadline to its time-out (raises if one did not time out)."""
    records = _records([(cid, "needs-input") for cid in coordination_ids], "dependency")
    if any(record.get("status") != "timeout" for record in records):
        raise RuntimeError(f"not every dependency timed out: {sorted({r.get('status', '?') for r in records})}")
    return [(int(r["resolved_ms"]) - int(r["deadline_ms"])) / 1000 for r in records]


def _all_settled(coordination_ids: Sequence[str]) -> Callable[[], bool]:
    def check() -> bool:
        records = _records([(cid, "needs-input") for cid in coordination_ids], "dependency")
        return all(record.get("status") != "pending" for record in records)

    return check


# -- (a) recovery --------------------------------------------------------------------------------------------------


def recovery_figures(services: _FaultServices, plan: FaultPlan) -> list[Figure]:
    """Kill a worker's main process while two agents run on it; time until they run again on another worker."""
    samples: list[float] = []
    victim = services.start_worker()
    for _ in range(plan.recovery_samples):
        seconds, victim = _recovery_sample(services, victim)
        samples.append(seconds)
    stats = summary(samples)
    return [
        Figure(
            key=RECOVERY_KEY,
            name="SIGKILL of a worker's main process → its running agents started again on another worker "
            "(default lease 10 s, poll 1 s), worst of 2 agents",
            value=max(samples),
            unit="s",
            baseline=None,
            baseline_name="",
            target=Target("max", RECOVERY_TARGET_S, unit="s"),
            stats=stats,
            detail=f"{len(samples)} kill(s); value = the slowest sample; before leases: 801–824 s (visibility timeout "
            "720 s + kombu's restore sweep, issue 8)",
        )
    ]


def _recovery_sample(services: _FaultServices, victim: Worker) -> tuple[float, Worker]:
    """Two agents running on ``victim``; a rescuer started; the victim's main process killed. Returns the seconds
    until both agents started again, and the rescuer (the next sample's victim)."""
    from coordination.pipeline.submission import submit

    cid = submit(_two_slow_agents(), input={name: {"first_sleep": 600, "sleep": 0.05} for name in ("left", "right")})
    agents = [(cid, "left"), (cid, "right")]

    def all_agents(check: Callable[[dict[str, str]], bool]) -> Callable[[], bool]:
        return lambda: all(check(record) for record in _records(agents, "agent"))

    _wait(all_agents(lambda r: r.get("status") == "running"), 60, "both agents to run")
    rescuer = services.start_worker()
    killed_ms = time.time() * 1000
    victim.kill_main()
    _wait(all_agents(lambda r: int(r.get("started_ms", 0)) > killed_ms), 180, "both agents to run again")
    seconds = max(int(r["started_ms"]) - killed_ms for r in _records(agents, "agent")) / 1000
    _wait(all_agents(lambda r: r.get("status") == "completed"), 60, "the re-runs to complete")
    return seconds, rescuer


def _two_slow_agents() -> Any:
    from coordination.models.workflow import WorkflowSpec

    return WorkflowSpec.model_validate(
        {
            "name": "bench-killed",
            "agents": {"left": {"task": SLOW_FIRST_AGENT}, "right": {"task": SLOW_FIRST_AGENT}},
        }
    )


# -- (b) time-out lateness -----------------------------------------------------------------------------------------


def lateness_figures(services: _FaultServices, plan: FaultPlan) -> list[Figure]:
    """Time-outs behind a backlog of agent messages, while many coordinations wait; then a burst of them."""
    from coordination.models.workflow import WorkflowSpec
    from coordination.pipeline.submission import submit

    if not services.workers:
        services.start_worker()
    waiting = _waiting_spec("bench-waiting", LONG_WAIT_S)
    busy = WorkflowSpec.model_validate({"name": "bench-backlog", "agents": {"busy": {"task": SLOW_FIRST_AGENT}}})
    for _ in range(plan.waiting):
        submit(waiting)
    for _ in range(plan.backlog):
        submit(busy, input={"busy": {"first_sleep": 0.02}})
    queued_at_start = _queue_length(services.queue)
    probe = _waiting_spec("bench-probe", PROBE_TIMEOUT_S)
    probes = []
    for _ in range(plan.probes):
        probes.append(submit(probe))
        time.sleep(PROBE_SPACING_S)
    _wait(_all_settled(probes), PROBE_TIMEOUT_S + 60, "every probe time-out")
    queued_after_probes = _queue_length(services.queue)
    late = _lateness(probes)

    burst = [submit(probe) for _ in range(plan.burst)]
    _wait(_all_settled(burst), PROBE_TIMEOUT_S + 300, "every time-out of the burst")
    queued_after_burst = _queue_length(services.queue)
    burst_late = _lateness(burst)
    records = _records([(cid, "needs-input") for cid in burst], "dependency")
    handling_s = (max(int(r["resolved_ms"]) for r in records) - min(int(r["deadline_ms"]) for r in records)) / 1000

    context = (
        f"{plan.waiting:,} coordinations waiting (1 h time-outs); {plan.backlog:,} agent messages submitted ahead "
        f"(20 ms agents; {queued_at_start:,} still queued when the probes began, {queued_after_probes:,} when the "
        "last probe fired)"
    )
    probe_figure = Figure(
        key=LATENESS_KEY,
        name=f"5 s time-out fired after its deadline, behind a {plan.backlog:,}-message agent backlog with "
        f"{plan.waiting:,} waiting coordinations, worst of {plan.probes}",
        value=max(late),
        unit="s",
        baseline=None,
        baseline_name="",
        target=Target("max", LATENESS_TARGET_S, unit="s"),
        stats=summary(late),
        detail=f"{context}; probes submitted {PROBE_SPACING_S} s apart; lateness = resolved_ms − deadline_ms of each "
        "probe's dependency record; before: 3.4–7.7 s late with 1,500 waiting (issue 8)",
    )
    if queued_after_probes == 0:
        probe_figure.not_measured = "the agent backlog drained before the last probe fired (use a larger backlog)"
    burst_figure = Figure(
        key=BURST_KEY,
        name=f"{plan.burst:,} time-outs due at once (same backlog): the last fired after its deadline",
        value=max(burst_late),
        unit="s",
        baseline=None,
        baseline_name="",
        target=Target("info"),
        stats={**summary(burst_late), "time_outs_per_s": plan.burst / handling_s if handling_s > 0 else 0.0},
        detail=f"{context}; {queued_after_burst:,} still queued after the burst; one poll handles time-outs one "
        "after the other (a few round trips and the routing each), so the last of a burst waits for the others",
    )
    return [probe_figure, burst_figure]


# -- (c) poll cost -------------------------------------------------------------------------------------------------


@contextmanager
def _no_messages() -> Iterator[None]:
    """Polls in this process send no Celery message (the waiting agents never start; this only makes sure)."""
    from coordination.pipeline.dispatch import Dispatcher

    original = Dispatcher.publish
    Dispatcher.publish = lambda self, task, queue, item, task_id=None: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        Dispatcher.publish = original  # type: ignore[method-assign]


def poll_cost_figures(root: str, plan: FaultPlan) -> list[Figure]:
    """poll() with the same time-outs due among more and more waiting coordinations; sizes interleaved."""
    from coordination.pipeline.polling import poll
    from coordination.pipeline.submission import submit
    from coordination.store.connection import sync_client

    namespaces = {size: f"{root}-poll-{size}" for size in plan.poll_sizes}
    waiting, due = _waiting_spec("bench-poll-waiting", LONG_WAIT_S), _waiting_spec("bench-poll-due", 0.2)
    times: dict[int, list[float]] = {size: [] for size in plan.poll_sizes}
    with _no_messages():
        for size, namespace in namespaces.items():
            with overridden_settings(COORD_PIPELINE_NAMESPACE=namespace):
                for _ in range(size):
                    submit(waiting)
        sizes = list(plan.poll_sizes)
        for rep in range(plan.poll_reps):
            for namespace in namespaces.values():
                with overridden_settings(COORD_PIPELINE_NAMESPACE=namespace):
                    for _ in range(plan.poll_due):
                        submit(due)
            time.sleep(0.3)  # every one of them is due now
            for size in sizes[rep % len(sizes) :] + sizes[: rep % len(sizes)]:  # each size first in turn
                with overridden_settings(COORD_PIPELINE_NAMESPACE=namespaces[size]):
                    sync_client().ping()  # (a connection is open before the clock starts)
                    started = time.perf_counter()
                    report = poll(budget_seconds=60)
                    times[size].append((time.perf_counter() - started) * 1000)
                if report.timed_out != plan.poll_due or report.unfinished:
                    raise RuntimeError(f"the poll at {size} handled {report.as_dict()}")
        default_ms, default_stats = _default_interval_poll(root, plan)
    smallest = plan.poll_sizes[0]
    base = median(times[smallest])
    figures = [
        Figure(
            key=f"pipeline.faults.poll_ms.waiting_{size}",
            name=f"beat's poll with {plan.poll_due} time-outs due among {size:,} waiting coordinations, median",
            value=median(times[size]),
            unit="ms",
            baseline=base if size != smallest else None,
            baseline_name=f"the same poll among {smallest:,}" if size != smallest else "",
            target=Target("info"),
            stats=summary(times[size]),
            detail=f"poll() in this process, {plan.poll_reps} polls per size, sizes interleaved (each first in turn); "
            "the waiting "
            "coordinations wait on a resource with check_interval_ms 0 (due at their 1 h deadline only)",
        )
        for size in plan.poll_sizes
    ]
    for size in plan.poll_sizes[1:]:
        figures.append(
            Figure(
                key=f"pipeline.faults.poll_flat.{size}_vs_{smallest}",
                name=f"poll time: {size:,} vs {smallest:,} waiting coordinations",
                value=median(times[size]) / base,
                unit="×",
                baseline=None,
                baseline_name="",
                target=Target("band", 1.3, low=0.7),
            )
        )
    figures.append(
        Figure(
            key=DEFAULT_INTERVAL_KEY,
            name=f"poll with {plan.default_interval_waiting:,} waiting on a global resource with the default "
            "re-check interval (100 ms)",
            value=default_ms,
            unit="ms",
            baseline=base,
            baseline_name=f"{plan.poll_due} time-outs among {smallest:,} waiting (above)",
            target=Target("info"),
            stats=default_stats,
            detail="one poll with beat's budget (three poll intervals); a dependency with a re-check interval is due "
            "every interval (its condition can be written straight into the state, with no event), so every poll "
            "checks all of them, and those it re-checked come due again while it runs: stats.checked counts the "
            "checks, stats.unfinished = 1 when the poll ran out of budget. A coordination's own resources and "
            "gates (scope: run, the default) are never re-checked: they change only with an event. Set "
            "check_interval_ms 0 on a global one that only changes through the resolver (coord resource mark "
            "--global, gate set --global)",
        )
    )
    return figures


def _default_interval_poll(root: str, plan: FaultPlan) -> tuple[float, dict[str, float]]:
    """One poll with beat's own budget (three poll intervals) among dependencies re-checked every 100 ms."""
    from config.settings import get_settings
    from coordination.pipeline.polling import poll
    from coordination.pipeline.submission import submit
    from coordination.store.connection import sync_client

    spec = _waiting_spec("bench-poll-rechecked", LONG_WAIT_S, check_interval_ms=None)
    with overridden_settings(COORD_PIPELINE_NAMESPACE=f"{root}-poll-rechecked"):
        for _ in range(plan.default_interval_waiting):
            submit(spec)
        time.sleep(0.2)  # every re-check is due
        sync_client().ping()
        budget = get_settings().poll_interval_seconds * 3
        started = time.perf_counter()
        report = poll()
        elapsed = (time.perf_counter() - started) * 1000
    return elapsed, {"checked": float(report.checked), "unfinished": float(report.unfinished), "budget_s": budget}
