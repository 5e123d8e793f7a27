"""``coord ls``: coordinations from Redis and the archive, newest first, paged."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from coordination.cli.common import console, err_console, guarded
from coordination.cli.render import styled
from coordination.views.moments import parse_moment

if TYPE_CHECKING:
    from coordination.views.listing import CoordinationPage


@guarded
def ls(
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="running, completed, failed, cancelled or lost (repeat for several)."),
    ] = None,
    workflow: Annotated[str | None, typer.Option("--workflow", help="Only this workflow.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Submitted since: 30m, 2h, 7d ago, or 2026-01-31[T12:00] (UTC).")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Submitted before (same forms as --since).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many (1 to 1000).")] = 50,
    cursor: Annotated[
        str | None, typer.Option("--cursor", help="Next page: the cursor the previous page printed.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the page as JSON.")] = False,
) -> None:
    """List coordinations, newest first: running ones and finished ones, live from Redis and from the archive."""
    from coordination.views.listing import list_coordinations  # deferred: SQLAlchemy would slow every command

    page = list_coordinations(
        status=status or None,
        workflow=workflow,
        since=parse_moment(since, "since") if since else None,
        until=parse_moment(until, "until") if until else None,
        limit=limit,
        cursor=cursor,
    )
    for warning in page.warnings:
        err_console.print(Text("warning: ", style="yellow") + Text(warning))
    if as_json:
        typer.echo(json.dumps(page.as_dict(), indent=2))
        return
    console.print(page_table(page))
    if page.next_cursor:
        console.print(Text(f"more: coord ls --cursor {page.next_cursor} (with the same filters)", style="dim"))


def page_table(page: CoordinationPage) -> Table | Text:
    """One row per coordination; every value from a record is printed as plain text, never as markup."""
    if not page.items:
        return Text("no coordination matches", style="dim")
    errors = any(item.error for item in page.items)
    table = Table(title_justify="left")
    for name in ("coordination", "workflow", "status", "created (UTC)", "duration", "failures", "from"):
        # An id is never split over lines (it is copied and grepped); the other columns give way.
        table.add_column(
            name,
            justify="right" if name in ("duration", "failures") else "left",
            overflow="fold",
            no_wrap=name == "coordination",
        )
    if errors:
        table.add_column("error", overflow="fold")
    for item in page.items:
        row = [
            Text(item.coordination_id),
            Text(item.workflow),
            styled(item.status),
            Text(item.created_at.strftime("%Y-%m-%d %H:%M:%S") if item.created_at else ""),
            Text("" if item.duration_s is None else f"{item.duration_s:.1f} s"),
            Text(str(item.failures) if item.failures else ""),
            Text(item.source, style="dim"),
        ]
        if errors:
            row.append(Text((item.error or "")[:200], style="red"))
        table.add_row(*row)
    return table
