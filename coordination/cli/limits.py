"""``coord limits``: each limit key's use now (concurrency, rate and tokens against their limits, waiters)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from coordination.cli.common import console, guarded
from coordination.cli.safe import safe

if TYPE_CHECKING:
    from coordination.pipeline.limit_usage import LimitUse


def _against(used: int, limit: object) -> Text:
    if limit is None:
        return Text(str(used) if used else "", style="dim")
    return Text(f"{used} / {limit}")


@guarded
def limits(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show each limit key's use: running / concurrency, starts in the rate window, tokens used, waiting."""
    from coordination.pipeline.components import components
    from coordination.pipeline.limit_usage import limit_uses
    from coordination.pipeline.records import now_ms

    uses = limit_uses(components().keys, now_ms())
    if as_json:
        console.print_json(json.dumps([use.as_dict() for use in uses]))
        return
    if not uses:
        console.print("no limit key in use in this namespace")
        return
    console.print(limits_table(uses))


def limits_table(uses: list[LimitUse]) -> Table:
    """One row per limit key: running / concurrency, started / rate, tokens used / limit, waiting, totals."""
    table = Table(title="limits", title_justify="left")
    for name in ("key", "running", "started", "tokens", "waiting", "started total", "deferred total"):
        table.add_column(name, justify="left" if name == "key" else "right")
    for use in uses:
        table.add_row(
            safe(use.key),
            _against(use.running, use.concurrency),
            _against(use.started, use.rate),
            _against(use.tokens_used, use.tokens),
            Text(str(use.waiting), style="yellow" if use.waiting else ""),
            Text(str(use.started_total)),
            Text(str(use.deferred_total)),
        )
    return table
