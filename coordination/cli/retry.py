"""``coord retry CID [--from AGENT]``: run a finished coordination again from where it broke, or from an agent."""

from __future__ import annotations

from typing import Annotated

import typer

from coordination.cli.common import console, fail, guarded
from coordination.cli.safe import safe
from coordination.errors import CoordinationNotFoundError


@guarded
def retry(
    coordination_id: Annotated[str, typer.Argument(help="The finished coordination to run again.")],
    from_agent: Annotated[
        str | None,
        typer.Option("--from", help="Re-run this agent and everything downstream of it (also after a success)."),
    ] = None,
) -> None:
    """Re-run a failed or cancelled coordination from where it broke (or from AGENT): new attempts, same id.

    Completed agents upstream keep their results; the re-run agents' dependencies wait again. A running
    coordination is refused (exit 2), and so is a completed one without --from (nothing to retry).
    """
    from coordination.pipeline.retry import retry_coordination

    try:
        done = retry_coordination(coordination_id, from_agent)
    except CoordinationNotFoundError as error:
        raise fail(str(error)) from None
    console.print(safe(f"{coordination_id} runs again (run {done.run}): {', '.join(done.agents)}"))
    if done.started:
        console.print(safe(f"started now: {', '.join(done.started)}; `coord watch {coordination_id}` follows it"))
