"""Pipeline commands: submit, status, watch, history, cancel, db upgrade."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from config.settings import get_settings
from coordination.cli import render
from coordination.cli.common import console, err_console, fail, guarded, parse_json_option
from coordination.cli.logs import print_tracebacks
from coordination.cli.safe import plain, safe
from coordination.errors import ArchiveUnavailableError, CoordinationNotFoundError, InvalidInputError, WorkflowError
from coordination.models.status import CoordinationStatus
from coordination.models.statuses import FINISHED_COORDINATION, UNSUCCESSFUL_COORDINATION

#: How often ``--wait`` and the demo read the coordination's status (5 times a second).
POLL_SECONDS = 0.2


def _status_or_exit(coordination_id: str) -> CoordinationStatus:
    """The live status, else the archived one; exit 1 when neither knows the coordination."""
    from coordination.archive.reader import archived_status  # (SQLAlchemy: loaded by the commands that read it)
    from coordination.pipeline.status import read_status

    live = read_status(coordination_id)
    if live is not None:
        return live
    try:
        archived = archived_status(coordination_id)
    except ArchiveUnavailableError as error:
        raise fail(f"no coordination {coordination_id!r} in Redis; the archive was not read: {error}") from None
    if archived is None:
        raise fail(f"no coordination {coordination_id!r} in Redis or in the archive")
    return archived


def print_status(status: CoordinationStatus) -> None:
    """The agents table, the dependencies table (when there are any) and the one-line summary."""
    console.print(render.agents_table(status))
    if status.dependencies:
        console.print(render.dependencies_table(status))
    if status.approvals:
        console.print(render.approvals_table(status))
    console.print(render.summary_line(status))
    print_tracebacks(status)


def wait_until_finished(coordination_id: str, timeout: float) -> CoordinationStatus:
    """Read the status every POLL_SECONDS until the coordination finished or ``timeout`` seconds passed."""
    from coordination.views.status import coordination_status

    deadline = time.monotonic() + timeout
    status = coordination_status(coordination_id)
    while not status.finished and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        status = coordination_status(coordination_id)
    return status


@guarded
def submit(
    file: Annotated[Path, typer.Argument(help="Workflow file (.yaml, .yml or .json).")],
    input_json: Annotated[
        str | None, typer.Option("--input", help="JSON input every agent can read (run.input).")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the end; print the status.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="With --wait: give up after this many seconds.")] = 600.0,
    check_agents: Annotated[
        bool,
        typer.Option("--check-agents/--no-check-agents", help="Refuse agents whose @agent task cannot be imported."),
    ] = True,
    import_paths: Annotated[
        list[Path] | None,
        typer.Option(
            "--import-path",
            help="A directory to search for the workflow's modules (repeatable). The current directory is not "
            "searched unless given (e.g. --import-path .).",
        ),
    ] = None,
) -> None:
    """Submit a workflow; print the coordination id (and, with --wait, its final status)."""
    from coordination.workflow import Workflow

    _add_import_paths(import_paths or [])
    input_value = parse_json_option(input_json, "input")
    try:
        workflow = Workflow.from_file(file)
        coordination_id = workflow.submit(input=input_value, check_agents=check_agents)
    except WorkflowError as error:
        # Problems of the file itself name the file; problems of the declaration name the file and the field.
        if error.field == str(file):
            raise
        raise WorkflowError(f"{file}: {error.field}", error.problem) from None
    if check_agents and not workflow.spec.modules:
        # Nothing to import: whether the workers have its agents' tasks is only known when one runs.
        err_console.print(
            Text(
                "warning: the workflow names no modules:, so its agents' tasks were not checked here; a worker "
                "without one fails the coordination at once (see coord status)",
                style="yellow",
            ),
            soft_wrap=True,
        )
    typer.echo(plain(coordination_id))
    if not wait:
        return
    status = wait_until_finished(coordination_id, timeout)
    print_status(status)
    if not status.finished:
        raise fail(f"{coordination_id} still {status.status} after {timeout:g} s")
    if status.status != "completed":
        raise typer.Exit(1)


def _add_import_paths(directories: list[Path]) -> None:
    """Put the given directories first on the import path (only these: nothing is added implicitly)."""
    for directory in reversed(directories):
        if not directory.is_dir():
            raise InvalidInputError("--import-path", f"{directory}: not a directory")
        resolved = str(directory.resolve())
        if resolved not in sys.path:
            sys.path.insert(0, resolved)


@guarded
def status(
    coordination_id: Annotated[str, typer.Argument(help="The id `coord submit` printed.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Show a coordination: each agent's status, attempts, times, quality and decision; its dependencies.

    Exits 0 when it is running or completed, 1 when it failed, was cancelled or was lost (and when it is unknown).
    """
    found = _status_or_exit(coordination_id)
    if as_json:
        # ASCII-only JSON: every control character in an agent's error or result is a \u escape, never raw.
        typer.echo(json.dumps(found.model_dump(mode="json"), indent=2, ensure_ascii=True))
    else:
        print_status(found)
    if found.source == "redis" and found.status not in FINISHED_COORDINATION:
        _warn_without_workers(coordination_id)
    if found.status in UNSUCCESSFUL_COORDINATION:
        raise typer.Exit(1)


def _warn_without_workers(coordination_id: str) -> None:
    """Say so on stderr when no worker consumes the coordination's queue (it would not move)."""
    from coordination.cli.workers import INSPECT_TIMEOUT_S, queue_consumers  # deferred: Celery costs every command
    from coordination.pipeline.components import components
    from coordination.pipeline.dispatch import Dispatcher

    queue = Dispatcher(components()).queue_of(coordination_id)
    consumers = queue_consumers(queue)
    if consumers is None:
        err_console.print(
            Text(f"warning: could not ask the workers whether one consumes queue {queue!r}", style="yellow")
        )
    elif not consumers:
        err_console.print(
            Text(
                f"warning: no worker consumes queue {queue!r} (asked with `inspect active_queues`, "
                f"{INSPECT_TIMEOUT_S:g} s): nothing of this coordination will run until one does",
                style="yellow",
            )
        )


@guarded
def watch(coordination_id: Annotated[str, typer.Argument(help="The coordination to follow.")]) -> None:
    """Print the coordination's signals as they happen (from the first one) until it finishes or Ctrl-C.

    Exits 0 when the coordination completed, 1 when it failed.
    """
    from coordination.pipeline.status import read_status

    if read_status(coordination_id) is None:
        _status_or_exit(coordination_id)  # exits when unknown everywhere
        raise fail(f"{coordination_id} is no longer live in Redis; `coord history {coordination_id}` shows it")
    final = asyncio.run(_follow(coordination_id))
    if final != "completed":
        raise typer.Exit(1)


async def _follow(coordination_id: str) -> str:
    from coordination.models.signals import SignalType
    from coordination.pipeline.components import components
    from coordination.pipeline.records import Records

    parts = components()
    stream = parts.signals.subscribe_to_signals(coordination_id, "cli-watch", since="0")
    ends = 0
    try:
        async for signal in stream:
            console.print(render.signal_line(signal, width=max(40, console.width - 56)))
            error = render.signal_error(signal)
            if error is not None:
                console.print(error)
            if signal.signal_type is SignalType.COORDINATION_FINISHED:
                # A re-run (coord retry) ends once per run: follow until the end of the current one.
                ends += 1
                meta = Records(parts.keys).meta(coordination_id)
                if ends >= int(meta.get("runs") or 1) and meta.get("status") != "running":
                    return str(signal.event_data.get("status", ""))
    finally:
        await stream.aclose()
    return ""


@guarded
def history(
    coordination_id: Annotated[str, typer.Argument(help="The coordination.")],
    archive: Annotated[bool, typer.Option("--archive/--no-archive", help="Also read the PostgreSQL archive.")] = True,
) -> None:
    """Show everything a coordination went through: signals, routing decisions, and archived history."""
    from coordination.views.history import read_history

    found = read_history(coordination_id, use_archive=archive)
    if not found.events:
        _status_or_exit(coordination_id)
        raise fail(f"nothing recorded for {coordination_id!r}")
    console.print(render.timeline_table(found.events))
    if found.decisions:
        console.print(render.decisions_table(found.decisions))
    if found.archive_note:
        console.print(safe(found.archive_note, style="dim"))


db_app = typer.Typer(help="The PostgreSQL archive.", no_args_is_help=True)


@guarded
def cancel(
    coordination_id: Annotated[str, typer.Argument(help="The coordination to end.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; stored as the coordination's error.")] = (
        "cancelled by request"
    ),
) -> None:
    """End a running coordination: agents not started are cancelled, running ones finish, nothing starts after."""
    from coordination.pipeline.cancel import cancel_coordination

    try:
        done = cancel_coordination(coordination_id, reason)
    except CoordinationNotFoundError as error:
        raise fail(str(error)) from None
    if not done.cancelled:
        console.print(safe(f"{coordination_id} had already finished: {done.status}"))
        return
    console.print(safe(f"{coordination_id} cancelled: {reason.strip()}"))
    if done.skipped:
        console.print(safe(f"cancelled before they started: {', '.join(done.skipped)}"))
    if done.running:
        console.print(
            safe(
                f"still running (their outcome will be recorded; nothing starts after them): {', '.join(done.running)}"
            )
        )


@db_app.command("upgrade")
@guarded
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Create or migrate the archive's tables (Alembic) in the configured database and schema."""
    try:
        from coordination.archive.migrate import upgrade
    except ImportError as error:
        raise fail(f"the archive is not available in this installation ({error})") from None
    from sqlalchemy.engine import make_url

    settings = get_settings()
    upgrade(revision)
    url = make_url(settings.database_url.get_secret_value())
    where = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":  # SQLite has no schemas: the tables are in the file itself
        console.print(safe(f"archive tables of {where} upgraded to {revision}"))
    else:
        console.print(safe(f"archive schema {settings.database_schema!r} of {where} upgraded to {revision}"))
