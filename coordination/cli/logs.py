"""``coord logs``: what agents wrote with ``run.log`` and the tracebacks of failed attempts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from coordination.cli.common import console, fail, guarded
from coordination.cli.safe import safe
from coordination.errors import ArchiveUnavailableError, CoordinationNotFoundError
from coordination.models.logs import LogLine
from coordination.models.status import CoordinationStatus

_LEVEL_STYLE = {"TRACEBACK": "red", "ERROR": "red", "CRITICAL": "bold red", "WARNING": "yellow", "DEBUG": "dim"}


def render_line(line: LogLine) -> Text:
    """One log line; the agent's text is never read as markup."""
    head = Text(f"{line.at:%H:%M:%S.%f}"[:-3] + f" {line.agent_id} a{line.attempt} ", style="dim")
    level = Text(f"{line.level:<10}", style=_LEVEL_STYLE.get(line.level, ""))  # TRACEBACK and a space
    return Text.assemble(head, level, Text(line.message))


@guarded
def logs(
    coordination_id: Annotated[str, typer.Argument(help="The coordination.")],
    agent_id: Annotated[str | None, typer.Argument(help="Only this agent.")] = None,
    tracebacks_only: Annotated[
        bool, typer.Option("--tracebacks", help="Only the tracebacks of failed attempts.")
    ] = False,
    archive: Annotated[bool, typer.Option("--archive/--no-archive", help="Also read the archive.")] = True,
) -> None:
    """Show the log lines (run.log) and the tracebacks of failed attempts, from Redis and the archive."""
    from coordination.views.logs import agent_logs
    from coordination.views.status import coordination_status

    lines = agent_logs(coordination_id, agent_id, archive=archive)
    if tracebacks_only:
        lines = [line for line in lines if line.level == "TRACEBACK"]
    if not lines:
        # Nothing written is an answer for a coordination that exists; a wrong id or agent is an error.
        try:
            status = coordination_status(coordination_id)
        except CoordinationNotFoundError as error:
            raise fail(str(error)) from None
        except ArchiveUnavailableError as error:  # not in Redis; whether the archive has it cannot be told
            raise fail(
                f"no coordination {coordination_id!r} in Redis, and the archive could not be read: {error}"
            ) from None
        if agent_id is not None and agent_id not in [agent.agent_id for agent in status.agents]:
            raise fail(f"{coordination_id} has no agent {agent_id!r}")
        if tracebacks_only:
            console.print(safe(f"no tracebacks for {coordination_id}: no attempt failed"))
        else:
            hint = "agents write them with run.log; a failed attempt adds its traceback"
            console.print(safe(f"no log lines for {coordination_id} ({hint})"))
        return
    for line in lines:
        console.print(render_line(line), soft_wrap=True)


def print_tracebacks(status: CoordinationStatus) -> None:
    """Under ``coord status``: the traceback of each agent whose last attempt failed."""
    for agent in status.agents:
        if agent.traceback:
            console.print(Text(f"\n{agent.agent_id} (attempt {agent.attempts}) failed:", style="bold red"))
            console.print(Text(agent.traceback.rstrip()), soft_wrap=True)
