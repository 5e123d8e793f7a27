"""What each page of the web view shows, gathered from the views (Redis and the archive) for the templates."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from config.settings import get_settings
from coordination.errors import InvalidInputError
from coordination.models.status import CoordinationStatus
from coordination.models.statuses import COORDINATION_STATUSES, FINISHED_COORDINATION, STATUS_COLOURS
from coordination.views.graph import to_dot
from coordination.views.graph_render import GraphRenderError, graph_of_coordination, render_dot
from coordination.views.history import Decision, decisions_of
from coordination.views.listing import CoordinationPage, list_coordinations
from coordination.views.moments import parse_moment
from coordination.views.timeline import Timeline, coordination_timeline

_SVG_START = re.compile(r"<svg\b")
_SVG_SIZE = re.compile(r'\s(width|height)="[^"]*"')


@dataclass(frozen=True)
class ListFilters:
    """The filters of the list page, as typed (kept to fill the form again)."""

    status: str = ""
    workflow: str = ""
    since: str = ""
    until: str = ""
    limit: int = 50
    cursor: str = ""

    @classmethod
    def from_query(cls, query: dict[str, str]) -> ListFilters:
        """From the request's query string.

        Raises:
            InvalidInputError: ``limit`` is not a number.
        """
        raw_limit = query.get("limit", "50") or "50"
        try:
            limit = int(raw_limit)
        except ValueError:
            raise InvalidInputError("limit", f"must be a whole number, got {raw_limit[:20]!r}") from None
        return cls(
            status=query.get("status", ""),
            workflow=query.get("workflow", ""),
            since=query.get("since", ""),
            until=query.get("until", ""),
            limit=limit,
            cursor=query.get("cursor", ""),
        )

    def page(self) -> CoordinationPage:
        """The coordinations these filters select.

        Raises:
            InvalidInputError: a filter is malformed (the message names it).
        """
        return list_coordinations(
            status=self.status or None,
            workflow=self.workflow or None,
            since=parse_moment(self.since, "since") if self.since else None,
            until=parse_moment(self.until, "until") if self.until else None,
            limit=self.limit,
            cursor=self.cursor or None,
        )

    def query(self, **changes: str) -> dict[str, str]:
        """The query string of these filters with ``changes`` (empty values left out)."""
        values = {
            "status": self.status,
            "workflow": self.workflow,
            "since": self.since,
            "until": self.until,
            "limit": str(self.limit) if self.limit != 50 else "",
            "cursor": self.cursor,
            **changes,
        }
        return {key: value for key, value in values.items() if value}


@dataclass
class CoordinationView:
    """Everything the page of one coordination shows."""

    status: CoordinationStatus
    svg: str | None
    graph_error: str | None
    timeline: Timeline
    decisions: list[Decision]
    flower_url: str
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def finished(self) -> bool:
        """True once nothing more will change (the page stops refreshing)."""
        return self.status.status in FINISHED_COORDINATION

    def flower_link(self, task_id: str | None) -> str | None:
        """The Flower page of a task."""
        return None if not task_id else f"{self.flower_url.rstrip('/')}/task/{task_id}"

    def errors(self) -> list[dict[str, Any]]:
        """Every error to show: each agent's last error (with its traceback) and each failed or retried attempt."""
        found: list[dict[str, Any]] = []
        for agent in self.status.agents:
            if agent.error or agent.traceback:
                found.append(
                    {
                        "agent": agent.agent_id,
                        "attempt": agent.attempts,
                        "error": agent.error or "",
                        "traceback": agent.traceback,
                    }
                )
        shown = {(item["agent"], item["attempt"]) for item in found}
        for attempt in self.timeline.attempts:
            if attempt.error and (attempt.agent_id, attempt.attempt) not in shown:
                found.append(
                    {"agent": attempt.agent_id, "attempt": attempt.attempt, "error": attempt.error, "traceback": None}
                )
        return sorted(found, key=lambda item: (item["agent"], item["attempt"]))


def coordination_view(coordination_id: str) -> CoordinationView:
    """Gather one coordination's page.

    Raises:
        InvalidIdError: the id is malformed.
        KeyError: neither Redis nor the archive knows the coordination.
        StoreUnavailableError: Redis could not be reached.
    """
    graph, status = graph_of_coordination(coordination_id)
    svg, graph_error = None, None
    try:
        svg = inline_svg(to_dot(graph))
    except GraphRenderError as error:
        graph_error = str(error)
    return CoordinationView(
        status=status,
        svg=svg,
        graph_error=graph_error,
        timeline=coordination_timeline(status),
        decisions=sorted(decisions_of(coordination_id, status.routing_decisions), key=lambda item: item.at),
        flower_url=get_settings().flower_url,
    )


@lru_cache(maxsize=256)
def inline_svg(dot: str) -> str:
    """Graphviz's SVG of ``dot`` without its XML prologue and fixed size, to sit inside a page (cached by text)."""
    svg = render_dot(dot, "svg").decode()
    start = _SVG_START.search(svg)
    body = svg[start.start() :] if start else svg
    head, _, rest = body.partition(">")
    return _SVG_SIZE.sub("", head) + ">" + rest


def status_colour(status: str) -> str:
    """The CSS colour of a status word."""
    return STATUS_COLOURS.get(status, "#9e9e9e")


TEMPLATE_GLOBALS: dict[str, Any] = {
    "status_colour": status_colour,
    "statuses": COORDINATION_STATUSES,
}
