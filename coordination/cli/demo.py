"""``coord demo``: the code-generation example end to end through real Celery worker and beat processes.

It uses a worker that already serves the configured queue with the example's agents, or starts a worker and beat
of its own (on a fresh queue, so a stray worker of another project cannot take the messages) and stops them at
the end, also on Ctrl-C or an error. With no Redis reachable it starts an embedded one (fakeredis over TCP, in
this process) that serves as broker, result backend and store of every demo process, and says so.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn
from rich.text import Text

from coordination.celery_processes import CeleryProcesses
from coordination.cli import render
from coordination.cli.common import console, hide_password
from coordination.cli.safe import safe
from coordination.cli.services import child_environment, find_worker
from coordination.pipeline.approvals import approve
from coordination.pipeline.conditions import mark_resource

WORKFLOW = Path("examples") / "codegen.yaml"
RESOURCE = "artifact-store"
APPROVAL = "release-approval"
#: Who the demo approves as, and why (shown by coord status, history and the web view, and archived).
APPROVER, APPROVAL_NOTE = "coord demo", "approved by the demo itself after a short pause"
#: How far each status's bar is filled (a running agent's bar pulses instead).
PROGRESS = {"waiting": 0, "dormant": 0, "queued": 10, "retrying": 30, "running": 50}


@dataclass
class DemoOptions:
    """What ``coord demo`` was asked to do."""

    pace: float = 1.0
    resource_after: float = 2.0
    timeout: float = 120.0
    own_workers: bool = False
    pool: str = "prefork"
    approve_after: float = 1.0


@dataclass
class _Setup:
    """What the demo arranged, undone at the end."""

    workdir: Path
    embedded: Any = None
    processes: CeleryProcesses | None = None
    archive_url: str | None = None
    coordination_id: str | None = None
    finished: bool = False
    notes: list[str] = field(default_factory=list)


def project_root() -> Path:
    """The checkout holding ``examples/codegen.yaml`` (next to the package, or the working directory)."""
    for candidate in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (candidate / WORKFLOW).is_file():
            return candidate
    raise FileNotFoundError(f"{WORKFLOW} not found next to the package or in {Path.cwd()}; run from the checkout")


def _configure(overrides: dict[str, str]) -> None:
    """Point this process at ``overrides`` (settings, Redis clients, and the Celery app if already built)."""
    from config.settings import reload_settings
    from coordination.store.connection import reset_clients

    os.environ.update(overrides)
    reload_settings()
    reset_clients()
    if "config.celery_app" in sys.modules:
        celery_module = sys.modules["config.celery_app"]
        celery_module.apply_connection_settings(celery_module.app)
    if "coordination.archive.engine" in sys.modules:
        sys.modules["coordination.archive.engine"].reset_engines()


def _stop_on_sigterm(_number: int, _frame: FrameType | None) -> None:
    raise SystemExit(143)  # unwinds through the finally blocks that stop the worker and beat


def run_demo(options: DemoOptions) -> int:
    """Run the demo; return the exit code (0 only when the coordination completed)."""
    from config.settings import get_settings

    get_settings()  # invalid settings fail here, before anything is started or created
    root = project_root()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    setup = _Setup(Path(tempfile.mkdtemp(prefix="coord-demo-")))
    # Only the main thread may set signal handlers (the `coord` process always runs the demo there).
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm) if in_main else None
    completed = False
    try:
        overrides = _choose_redis(setup)
        if setup.embedded is None:
            overrides.update(_prepare_archive(setup))
        _configure(overrides)
        overrides.update(_choose_worker(setup, options, root, overrides))
        status = _run_pipeline(setup, options, root)
        completed = status.status == "completed"
        _archive_now(setup, status.coordination_id)
        if setup.embedded is None:
            console.print(
                f"[dim]See it again: coord status {status.coordination_id} · coord history {status.coordination_id}[/]"
            )
        return 0 if completed else 1
    finally:
        _cancel_unfinished(setup)
        _tear_down(
            setup,
            keep_workdir=not completed or (setup.archive_url is not None and setup.archive_url.startswith("sqlite")),
        )
        if in_main:
            signal.signal(signal.SIGTERM, previous)


def _choose_redis(setup: _Setup) -> dict[str, str]:
    """Use the configured Redis if it answers; otherwise start the embedded one (and maybe a SQLite archive)."""
    from config.settings import get_settings
    from coordination.store.embedded import redis_reachable, start_embedded_redis

    settings = get_settings()
    store, broker = settings.redis_url.get_secret_value(), settings.broker_url.get_secret_value()
    console.print("[bold]coord demo[/]: model-gen → validator-gen ∥ test-gen → packager, through Celery workers")
    if redis_reachable(store) and redis_reachable(broker):
        console.print(f"Redis: {hide_password(store)} (store), {hide_password(broker)} (broker)")
        return {}
    setup.embedded = start_embedded_redis()
    overrides = {
        "COORD_BROKER_URL": setup.embedded.url(0),
        "COORD_RESULT_BACKEND_URL": setup.embedded.url(1),
        "COORD_REDIS_URL": setup.embedded.url(2),
    }
    console.print(
        f"[yellow]No Redis reachable at {hide_password(store)}: embedded mode.[/] An in-process Redis (fakeredis over "
        f"TCP) at {setup.embedded.host}:{setup.embedded.port} is the broker (db 0), result backend (db 1) and store "
        "(db 2) of this demo and of its worker and beat; everything is gone when the demo ends."
    )
    overrides.update(_sqlite_archive(setup))
    return overrides


def _prepare_archive(setup: _Setup) -> dict[str, str]:
    """Migrate the configured archive (idempotent), so the demo's coordination is archived and later expires.

    An archive that cannot be migrated (unreachable, not PostgreSQL) is replaced by a SQLite file in the work
    directory, as in embedded mode: the demo never writes into a schema nobody migrated.
    """
    from config.settings import get_settings
    from coordination.archive.engine import location
    from coordination.archive.migrate import upgrade

    url = get_settings().database_url.get_secret_value()
    try:
        upgrade()
        where = location()
    except Exception as error:  # any failure (unreachable, bad URL, no driver) means: use a local archive
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        console.print(f"Archive: {hide_password(url)} cannot be used ({reason}); the demo archives to SQLite")
        return _sqlite_archive(setup)
    setup.archive_url = hide_password(url)
    console.print(f"Archive: {setup.archive_url}, {where} (migrated)")
    return {}


def _sqlite_archive(setup: _Setup) -> dict[str, str]:
    """Migrate a SQLite archive in the work directory if the archive supports it; otherwise switch it off."""
    from config.settings import get_settings, reload_settings

    url = f"sqlite:///{setup.workdir / 'archive.sqlite'}"
    saved = os.environ.get("COORD_DATABASE_URL")
    os.environ["COORD_DATABASE_URL"] = url
    reload_settings()
    try:
        from coordination.archive.migrate import upgrade

        upgrade()
    except Exception as error:  # any failure means this archive cannot use SQLite: the demo runs without it
        if saved is None:
            os.environ.pop("COORD_DATABASE_URL", None)
        else:
            os.environ["COORD_DATABASE_URL"] = saved
        reload_settings()
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        console.print(f"Archive: off (it does not run on SQLite: {reason})")
        # Beat would otherwise archive the embedded data into the configured PostgreSQL every few seconds.
        return {"COORD_ARCHIVE_INTERVAL_SECONDS": "86400"}
    setup.archive_url = url
    console.print(f"Archive: SQLite at {get_settings().database_url}")
    return {"COORD_DATABASE_URL": url}


def _choose_worker(setup: _Setup, options: DemoOptions, root: Path, overrides: dict[str, str]) -> dict[str, str]:
    """Reuse a worker serving the configured queue with the example's agents, or start a worker and beat."""
    from config.celery_app import app
    from config.settings import get_settings
    from coordination.task_names import agent_task
    from coordination.workflow import Workflow

    spec = Workflow.from_file(root / WORKFLOW).spec
    tasks = [agent_task(spec.task_name(agent_id)) for agent_id in spec.agents]
    if setup.embedded is None and not options.own_workers:
        found = find_worker(app, get_settings().task_queue, tasks)
        if found.node is not None:
            console.print(f"Worker: reusing {found.node} (queue {get_settings().task_queue!r}); beat not started")
            return {}
        console.print(safe(f"{found.reason}: starting a worker and beat for this demo", style="dim"))
    suffix = uuid.uuid4().hex[:8]
    queue = f"coord-demo-{suffix}"
    extra = {"COORD_TASK_QUEUE": queue}
    _configure(extra)
    # Processes in a session of their own: a Ctrl-C in the terminal reaches only the demo, which stops them in order.
    environment = child_environment({**overrides, **extra}, root)
    setup.processes = CeleryProcesses(app, environment, setup.workdir, cwd=root, new_session=True)
    started = time.monotonic()
    worker = setup.processes.start_worker(f"demo-{suffix}", [queue, f"{queue}.periodic"], pool=options.pool)
    setup.processes.start_beat()
    setup.processes.wait_ready()
    node = worker.node
    concurrency = 1 if options.pool == "solo" else 2
    console.print(
        f"Worker: started {node} ({options.pool} pool, concurrency {concurrency}) and beat on queue {queue!r} "
        f"in {time.monotonic() - started:.1f} s; logs in {setup.workdir}"
    )
    return extra


def _run_pipeline(setup: _Setup, options: DemoOptions, root: Path) -> Any:
    """Submit the example, follow it live, and print the summary; return the final status."""
    from coordination.views.history import decisions_of
    from coordination.workflow import Workflow

    # The gate, the resource and the approval are this coordination's own: nothing of an earlier run opens them.
    coordination_id = Workflow.from_file(root / WORKFLOW).submit(input={"pace": options.pace})
    setup.coordination_id = coordination_id
    console.print(
        f"Submitted [bold]{coordination_id}[/] (pace {options.pace:g}); {RESOURCE} is marked available "
        f"{options.resource_after:g} s after submission; {APPROVAL} is approved {options.approve_after:g} s after "
        "it is all the packager waits for"
    )
    status = _follow(setup, coordination_id, options)
    setup.finished = status.finished
    console.print()
    console.print(render.agents_table(status))
    console.print(render.dependencies_table(status))
    if status.approvals:
        console.print(render.approvals_table(status))
    decisions = decisions_of(coordination_id, status.routing_decisions)
    if decisions:
        console.print(render.decisions_table(decisions))
    console.print(render.summary_line(status))
    if not status.finished:
        console.print(f"[red]not finished after {options.timeout:g} s[/]")
    return status


def _agent_line(agent: Any, waiting_for: list[str]) -> str:
    style = render.STATUS_STYLE.get(agent.status, "default")
    line = f"[{style}]{agent.status:<9}[/]" + (f" attempt {agent.attempts}" if agent.attempts else "")
    if agent.status == "waiting" and waiting_for:
        line += f" [dim]for {', '.join(waiting_for)}[/]"
    if agent.quality is not None:
        line += f" · quality {agent.quality:.2f}"
    if agent.duration_ms is not None and agent.status in ("completed", "failed"):
        line += f" · {render.duration(agent.duration_ms)}"
    if agent.decision and agent.status != "completed":
        line += f" · {agent.decision}"
    return line


def _follow(setup: _Setup, coordination_id: str, options: DemoOptions) -> Any:
    """Live progress, one row per agent, and each signal as it arrives, until the coordination finishes."""
    from coordination.pipeline.status import read_status

    feed = _SignalFeed(coordination_id)
    approver = _Approver(coordination_id, options.approve_after)
    submitted = time.monotonic()
    marked = False
    rows: dict[str, Any] = {}
    progress = Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(bar_width=24),
        TextColumn("{task.fields[line]}"),
        console=console,
        refresh_per_second=5,
    )
    status = read_status(coordination_id)
    with progress:
        while True:
            for signal_ in feed.new():
                progress.console.print(render.signal_line(signal_, width=max(40, console.width - 56)))
            if not marked and time.monotonic() - submitted >= options.resource_after:
                started = mark_resource(RESOURCE, coordination_id=coordination_id).started
                progress.console.print(
                    f"[bold cyan]demo[/] marked {RESOURCE} available"
                    + (f"; started {', '.join(started)}" if started else "")
                )
                marked = True
            status = read_status(coordination_id)
            if status is None:
                raise RuntimeError(f"{coordination_id} vanished from Redis")
            approver.step(status, progress.console)
            pending: dict[str, list[str]] = {}
            for dependency in status.dependencies:
                if dependency.status == "pending" and dependency.agent_id:
                    pending.setdefault(dependency.agent_id, []).append(dependency.target)
            for agent in status.agents:
                line = _agent_line(agent, pending.get(agent.agent_id, []))
                total = None if agent.status == "running" else 100
                done = PROGRESS.get(agent.status, 100)
                if agent.agent_id not in rows:
                    rows[agent.agent_id] = progress.add_task(agent.agent_id, total=total, completed=done, line=line)
                else:
                    progress.update(rows[agent.agent_id], total=total, completed=done, line=line)
            if status.finished or time.monotonic() - submitted > options.timeout:
                break
            if setup.processes is not None:
                setup.processes.raise_if_exited()
            time.sleep(0.2)
        for signal_ in feed.new():
            progress.console.print(render.signal_line(signal_, width=max(40, console.width - 56)))
    return status


class _Approver:
    """Gives the demo's approval itself: ``approve_after`` seconds after the approval is all its agent waits for."""

    def __init__(self, coordination_id: str, approve_after: float) -> None:
        self.coordination_id = coordination_id
        self.approve_after = approve_after
        self.ready_since: float | None = None
        self.done = False

    def step(self, status: Any, out: Any) -> None:
        """Look at the coordination once; approve when the time has come."""
        if self.done:
            return
        approval = next((item for item in status.approvals if item.gate == APPROVAL), None)
        if approval is None or approval.status != "pending":
            self.done = approval is not None
            return
        others = [
            item
            for item in status.dependencies
            if item.agent_id in approval.agents and item.dependency_type != "approval" and item.status == "pending"
        ]
        if others:
            return
        if self.ready_since is None:
            self.ready_since = time.monotonic()
            out.print(f"[bold cyan]demo[/] {', '.join(approval.agents)} now waits only for {APPROVAL}")
        if time.monotonic() - self.ready_since < self.approve_after:
            return
        out.print(
            f"[bold cyan]demo[/] ran: coord approve {self.coordination_id} {APPROVAL} "
            f'--by "{APPROVER}" --note "{APPROVAL_NOTE}"'
        )
        verdict = approve(self.coordination_id, APPROVAL, by=APPROVER, note=APPROVAL_NOTE)
        self.done = True
        out.print(
            f"[bold cyan]demo[/] {APPROVAL} {verdict.verdict} by {verdict.by}"
            + (f"; started {', '.join(verdict.started)}" if verdict.started else "")
        )


class _SignalFeed:
    """The coordination's signals not shown yet, read from its stream in order."""

    def __init__(self, coordination_id: str) -> None:
        from coordination.pipeline.components import components

        self.coordination_id = coordination_id
        self.stream = components().keys.coordination(coordination_id).signals
        self.cursor = "-"

    def new(self) -> list[Any]:
        from coordination.store.connection import sync_client
        from coordination.streams import decode_signal

        entries = sync_client().xrange(self.stream, min=self.cursor, count=200)
        if entries:
            self.cursor = f"({entries[-1][0]}"
        return [decode_signal(self.coordination_id, entry_id, fields) for entry_id, fields in entries]


def _archive_now(setup: _Setup, coordination_id: str) -> None:
    """Archive now (the demo's beat stops with it) and read the coordination back from the archive."""
    if setup.archive_url is None:
        return
    from coordination.archive.reader import archived_status
    from coordination.archive.writer import archive_once

    report = archive_once()
    if report.error:
        console.print(Text.assemble("Archive: ", ("failed", "red"), " (", safe(report.error), ")"))
        return
    archived = archived_status(coordination_id)
    console.print(
        f"Archive: {report.rows} rows written to {setup.archive_url}; read back: "
        + (f"{archived.status}, {len(archived.agents)} agents, {archived.signals} signals" if archived else "missing")
    )


def _cancel_unfinished(setup: _Setup) -> None:
    """End the demo's coordination if it is still running (interrupted, timed out): its workers are going away."""
    if setup.coordination_id is None or setup.finished:
        return
    from coordination.pipeline.cancel import cancel_coordination

    try:
        done = cancel_coordination(setup.coordination_id, "the demo stopped before it finished")
    except Exception as error:  # best effort: the store may be what failed
        console.print(safe(f"{setup.coordination_id} could not be cancelled: {error}", style="yellow"))
        return
    if done.cancelled:
        console.print(f"[yellow]{setup.coordination_id} cancelled: the demo stopped before it finished[/]")


def _tear_down(setup: _Setup, keep_workdir: bool) -> None:
    """Stop what the demo started, forget its queue, stop the embedded server."""
    if setup.processes is not None:
        console.print("[dim]Stopping the demo's beat and worker…[/]")
        setup.processes.stop()
        _forget_queue()
    if setup.embedded is not None:
        setup.embedded.stop()
    if keep_workdir:
        kept = "Archive and logs" if setup.archive_url is not None else "Logs"
        console.print(f"[dim]{kept} kept in {setup.workdir}[/]")
    else:
        shutil.rmtree(setup.workdir, ignore_errors=True)


def _forget_queue() -> None:
    """Delete the demo queue's leftovers in the broker (beat may have sent a poll after the worker stopped)."""
    from config.settings import get_settings
    from coordination.store.connection import sync_client

    settings = get_settings()
    queues = (settings.task_queue, settings.periodic_queue_name)
    try:
        sync_client(settings.broker_url.get_secret_value()).delete(
            *(f"{prefix}{queue}" for queue in queues for prefix in ("", "_kombu.binding.", "_kombu.binding_permanent."))
        )
    except Exception:  # best effort: an unreachable broker leaves only an empty queue behind
        return
