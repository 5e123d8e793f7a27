"""``coord ui``: the read-only web view (coordinations, graphs, timelines, /metrics)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from config.settings import get_settings
from coordination.cli.common import EXIT_BAD_INPUT, err_console, fail, guarded


@guarded
def ui(
    host: Annotated[
        str | None, typer.Option("--host", help="Address to bind (default COORD_WEB_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="Port (default COORD_WEB_PORT, 8787).")
    ] = None,
    insecure_no_auth: Annotated[
        bool,
        typer.Option(
            "--insecure-no-auth", help="Start without authentication (local use only; anyone who reaches it sees all)."
        ),
    ] = False,
) -> None:
    """Serve the web view; it needs COORD_FLOWER_BASIC_AUTH (user:password, the same as Flower's)."""
    # deferred: the web stack (Starlette, uvicorn, Celery) would slow every other `coord` command by ~0.2 s
    from coordination.web.server import RefusedToStart, is_loopback, serve

    settings = get_settings()
    chosen_host = host or settings.web_host
    chosen_port = port or settings.web_port
    if insecure_no_auth and not is_loopback(chosen_host):
        err_console.print(
            Text(f"warning: no authentication, and {chosen_host} is reachable from other machines", style="yellow")
        )
    try:
        serve(chosen_host, chosen_port, insecure_no_auth)
    except RefusedToStart as error:
        raise fail(str(error), EXIT_BAD_INPUT) from None
