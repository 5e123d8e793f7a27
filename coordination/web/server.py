"""Starting the web view: credentials checked first, then uvicorn on the chosen address."""

from __future__ import annotations

import ipaddress

import uvicorn

from config.celery_app import app
from config.settings import get_settings
from coordination.web.app import create_app
from coordination.web.auth import CredentialsError, parse_credentials


class RefusedToStart(RuntimeError):
    """The web view will not start as asked; the message says why and what to do."""


def credentials_or_refuse(insecure_no_auth: bool) -> list[tuple[str, str]] | None:
    """The basic-auth credentials from ``COORD_FLOWER_BASIC_AUTH``; None only with ``insecure_no_auth``.

    Raises:
        RefusedToStart: no credentials and no ``--insecure-no-auth``, or malformed credentials.
    """
    secret = get_settings().flower_basic_auth
    if secret is None or not secret.get_secret_value():
        if insecure_no_auth:
            return None
        raise RefusedToStart(
            "COORD_FLOWER_BASIC_AUTH is not set: the web view needs user:password (the same as Flower's); for "
            "local use only, `coord ui --insecure-no-auth` starts it without authentication"
        )
    if insecure_no_auth:
        return None
    try:
        return parse_credentials(secret.get_secret_value())
    except CredentialsError as error:
        raise RefusedToStart(str(error)) from None


def is_loopback(host: str) -> bool:
    """True when ``host`` is only reachable from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def celery_queues() -> list[str]:
    """The queues the Celery app sends to: its default queue and any named in its queues, routes or schedule."""
    names = [str(app.conf.task_default_queue)]
    for queue in app.conf.task_queues or []:
        names.append(str(getattr(queue, "name", queue)))
    routes = app.conf.task_routes
    if isinstance(routes, dict):
        names += [str(route["queue"]) for route in routes.values() if isinstance(route, dict) and route.get("queue")]
    for entry in (app.conf.beat_schedule or {}).values():
        queue = (entry.get("options") or {}).get("queue")
        if queue:
            names.append(str(queue))
    return list(dict.fromkeys(names))


def serve(host: str, port: int, insecure_no_auth: bool = False) -> None:
    """Run the web view until interrupted.

    Raises:
        RefusedToStart: see :func:`credentials_or_refuse`.
    """
    credentials = credentials_or_refuse(insecure_no_auth)
    web_app = create_app(credentials, queues=celery_queues())
    uvicorn.run(web_app, host=host, port=port, log_level="info", server_header=False)
