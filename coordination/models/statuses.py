"""The status words a coordination or an agent can show, and what each means for a person or a script (pure)."""

from __future__ import annotations

#: Every status a coordination can have (``lost``: Redis lost it while it ran).
COORDINATION_STATUSES = ("running", "completed", "failed", "cancelled", "lost")

#: Statuses after which nothing more happens to a coordination.
FINISHED_COORDINATION = frozenset({"completed", "failed", "cancelled", "lost"})

#: Statuses of a coordination that did not end well (``coord status`` exits 1 for these).
UNSUCCESSFUL_COORDINATION = frozenset({"failed", "cancelled", "lost"})

#: Statuses after which nothing more happens to an agent.
TERMINAL_AGENT = frozenset({"completed", "failed", "skipped", "timed_out", "cancelled"})

#: Every status an agent can have.
AGENT_STATUSES = (
    "dormant",
    "waiting",
    "queued",
    "deferred",
    "running",
    "retrying",
    "completed",
    "failed",
    "timed_out",
    "skipped",
    "cancelled",
)

#: Colour of each status (CSS colours; the CLI maps the same words to Rich styles).
STATUS_COLOURS = {
    "completed": "#2e7d32",
    "running": "#f9a825",
    "queued": "#00838f",
    "deferred": "#4db6ac",
    "retrying": "#8e24aa",
    "waiting": "#9e9e9e",
    "dormant": "#cfcfcf",
    "failed": "#c62828",
    "timed_out": "#c62828",
    "lost": "#c62828",
    "skipped": "#1565c0",
    "cancelled": "#6d4c41",
    "pending": "#9e9e9e",
    "resolved": "#2e7d32",
    "timeout": "#c62828",
}
