"""``coord clean``: remove a namespace's keys and its task queue (a dry run unless --yes)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from config.settings import get_settings
from coordination.cli.common import console, guarded, hide_password
from coordination.store.cleaning import clean as remove
from coordination.store.cleaning import plan_clean


@guarded
def clean(
    namespace: Annotated[
        str | None, typer.Option("--namespace", help="Root key prefix to remove (default COORD_NAMESPACE).")
    ] = None,
    queue: Annotated[
        list[str] | None, typer.Option("--queue", help="Broker queue to remove (default COORD_TASK_QUEUE; repeat).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Really delete (without it, only list what would go).")] = False,
) -> None:
    """List (or, with --yes, delete) every key of a namespace and its queues; never FLUSHes anything."""
    settings = get_settings()
    chosen = namespace or settings.namespace
    queues = queue or [settings.task_queue]
    plan = plan_clean(chosen, queues)
    store, broker = hide_password(str(settings.redis_url)), hide_password(str(settings.broker_url))
    if plan.empty:
        console.print(
            Text(f"nothing to remove: no key of namespace {chosen!r} in {store}, no queue {queues} in {broker}")
        )
        return
    verb = "deleting" if yes else "would delete"
    console.print(Text(f"{verb} {len(plan.store_keys)} keys of namespace {chosen!r} in {store}"))
    for key in plan.store_keys[:20]:
        console.print(Text(f"  {key}", style="dim"))
    if len(plan.store_keys) > 20:
        console.print(Text(f"  … and {len(plan.store_keys) - 20} more", style="dim"))
    if plan.queue_keys:
        console.print(
            Text(
                f"{verb} queue(s) {', '.join(queues)} in {broker}: {len(plan.queue_keys)} keys, "
                f"{plan.queued_messages} waiting messages"
            )
        )
    if plan.running:
        console.print(
            Text(
                f"{len(plan.running)} running coordination(s) would be lost: {', '.join(plan.running[:10])}",
                style="yellow",
            )
        )
    if not yes:
        console.print(Text("dry run: nothing deleted; add --yes to delete", style="bold"))
        return
    removed = remove(plan)
    console.print(Text(f"deleted {removed} keys", style="green"))
