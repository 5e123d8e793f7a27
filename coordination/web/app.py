"""The read-only web view (Starlette + Jinja2): coordinations, one page per coordination, Prometheus metrics.

Routes::

    /                       list of coordinations (filters as `coord ls`); /?fragment=rows for live refresh
    /c/{id}                 one coordination: graph, agents, timeline, dependencies, decisions, errors
    /c/{id}/live            the changing part of that page (the page's script fetches it every 2 s)
    /c/{id}/graph.svg       the workflow graph, coloured by status
    /metrics                Prometheus exposition (CoordinationCollector)
    /healthz                "ok", without credentials (for health checks)
    /static/...             the page's own script and style sheet (nothing from a CDN)

Pages are rendered on the server; the only script polls the ``live`` fragments and swaps them in. Every page
needs basic authentication unless the app was built with ``credentials=None`` (``coord ui --insecure-no-auth``).
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from coordination.errors import InvalidInputError, ServiceUnavailableError
from coordination.views.prometheus import CoordinationCollector
from coordination.web.auth import BasicAuthMiddleware
from coordination.web.pages import TEMPLATE_GLOBALS, ListFilters, coordination_view

HERE = Path(__file__).parent
#: How often the pages fetch their live part (ms); the list refreshes less often.
REFRESH_MS = 2000
LIST_REFRESH_MS = 5000

_SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class _SecurityHeaders:
    """Adds a strict Content-Security-Policy and friends to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *_SECURITY_HEADERS]}
            await send(message)

        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, with_headers)


def create_app(credentials: Sequence[tuple[str, str]] | None, queues: Sequence[str] | None = None) -> Starlette:
    """The web view's ASGI app.

    Args:
        credentials: ``(user, password)`` pairs accepted by basic authentication; None turns authentication off
            (local use only: ``coord ui --insecure-no-auth``).
        queues: broker queues whose depth ``/metrics`` reports (default: ``COORD_TASK_QUEUE``).
    """
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(TEMPLATE_GLOBALS)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CoordinationCollector(queues=queues))

    def coordinations(request: Request) -> Response:
        try:
            filters = ListFilters.from_query(dict(request.query_params))
            page = filters.page()
        except InvalidInputError as error:
            return _problem(templates, request, 400, f"{error.field}: {error.problem}")
        except (ServiceUnavailableError, RedisError) as error:
            return _problem(templates, request, 503, f"a service could not be read: {error}")
        name = "_rows.html" if request.query_params.get("fragment") == "rows" else "list.html"
        context = {"filters": filters, "page": page, "refresh_ms": LIST_REFRESH_MS}
        return templates.TemplateResponse(request, name, context)

    def coordination(request: Request) -> Response:
        return _coordination(request, "coordination.html")

    def live(request: Request) -> Response:
        return _coordination(request, "_live.html")

    def _coordination(request: Request, template: str) -> Response:
        coordination_id = request.path_params["coordination_id"]
        try:
            view = coordination_view(coordination_id)
        except InvalidInputError as error:
            return _problem(templates, request, 400, f"{error.field}: {error.problem}")
        except KeyError as error:
            return _problem(templates, request, 404, str(error.args[0] if error.args else error))
        except (ServiceUnavailableError, RedisError) as error:
            return _problem(templates, request, 503, f"a service could not be read: {error}")
        return templates.TemplateResponse(request, template, {"view": view, "refresh_ms": REFRESH_MS})

    def graph_svg(request: Request) -> Response:
        coordination_id = request.path_params["coordination_id"]
        try:
            view = coordination_view(coordination_id)
        except InvalidInputError as error:
            return PlainTextResponse(f"{error.field}: {error.problem}", status_code=400)
        except KeyError as error:
            return PlainTextResponse(str(error.args[0] if error.args else error), status_code=404)
        except (ServiceUnavailableError, RedisError) as error:
            return PlainTextResponse(f"a service could not be read: {error}", status_code=503)
        if view.svg is None:
            return PlainTextResponse(view.graph_error or "no graph", status_code=503)
        return Response(view.svg, media_type="image/svg+xml")

    def metrics(_request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok\n")

    middleware = [Middleware(_SecurityHeaders)]
    if credentials is not None:
        middleware.append(Middleware(BasicAuthMiddleware, credentials=list(credentials)))
    return Starlette(
        routes=[
            Route("/", coordinations),
            Route("/c/{coordination_id}", coordination),
            Route("/c/{coordination_id}/live", live),
            Route("/c/{coordination_id}/graph.svg", graph_svg),
            Route("/metrics", metrics),
            Route("/healthz", healthz),
            Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
        ],
        middleware=middleware,
    )


def _problem(templates: Jinja2Templates, request: Request, status: int, message: str) -> Response:
    return templates.TemplateResponse(request, "problem.html", {"message": message}, status_code=status)
