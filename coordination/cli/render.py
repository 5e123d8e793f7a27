"""Rich renderings of a coordination: agents, dependencies, routing decisions, timelines, signal lines."""

from __future__ import annotations

from datetime import datetime

from rich.table import Table
from rich.text import Text

from coordination.cli.safe import plain, safe
from coordination.models.signals import CoordinationSignal
from coordination.models.status import CoordinationStatus
from coordination.views.history import Decision, Event, own_data, short_data

#: Rich style of each agent / coordination status.
STATUS_STYLE = {
    "completed": "green",
    "running": "yellow",
    "queued": "cyan",
    "deferred": "dim cyan",
    "retrying": "magenta",
    "waiting": "dim",
    "dormant": "dim",
    "failed": "bold red",
    "timed_out": "bold red",
    "skipped": "blue",
    "cancelled": "bold magenta",
    "lost": "bold red",
    "pending": "yellow",
    "approved": "green",
    "rejected": "bold red",
}

SIGNAL_STYLE = {
    "coordination_started": "bold",
    "coordination_finished": "bold",
    "agent_completed": "green",
    "agent_failed": "red",
    "agent_retrying": "magenta",
    "dependency_timeout": "red",
    "dependency_resolved": "cyan",
    "approval_verdict": "bold cyan",
    "agent_progress": "yellow",
    "agent_stream": "dim",
}


def styled(status: str) -> Text:
    """A status word in its colour."""
    return safe(status, style=STATUS_STYLE.get(status, ""))


def duration(milliseconds: float | None) -> str:
    """``850 ms`` or ``1.23 s``; empty when unknown."""
    if milliseconds is None:
        return ""
    return f"{milliseconds:.0f} ms" if milliseconds < 1000 else f"{milliseconds / 1000:.2f} s"


def clock(moment: datetime) -> str:
    """``HH:MM:SS.mmm`` in UTC."""
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def _offset(moment: datetime | None, origin: datetime | None) -> str:
    if moment is None or origin is None:
        return ""
    return f"+{(moment - origin).total_seconds():.1f} s"


def agents_table(status: CoordinationStatus) -> Table:
    """One row per agent: status, attempts, start (from submission), duration, quality, routing decision."""
    run = f", run {status.runs}" if status.runs > 1 else ""  # re-run by coord retry
    table = Table(
        title=safe(f"{status.coordination_id} ({status.workflow}{run}): {status.status}"), title_justify="left"
    )
    for name in ("agent", "status", "attempts", "started", "duration", "quality", "decision"):
        table.add_column(
            name,
            justify="right" if name in ("attempts", "started", "duration", "quality") else "left",
            no_wrap=name == "agent",  # an agent id is read whole; the other columns give way
        )
    errors = any(agent.error for agent in status.agents)
    if errors:
        table.add_column("error", overflow="fold")
    # The progress of running attempts (run.progress), while there is any.
    progressing = any(agent.progress is not None and agent.status == "running" for agent in status.agents)
    if progressing:
        table.add_column("progress", overflow="fold")
    for agent in status.agents:
        # A map agent is one row: its items as a count (summarise ×12 (10 done, 1 running, 1 queued)).
        name = agent.agent_id if agent.items is None else f"{agent.agent_id} {agent.items.summary()}"
        row: list[Text] = [
            safe(name),
            styled(agent.status) if not agent.waiting_on else styled(agent.status) + plain(f" on {agent.waiting_on}"),
            Text(str(agent.attempts if agent.items is None else agent.items.attempts)),
            Text(_offset(agent.started_at, status.created_at)),
            Text(duration(agent.duration_ms)),
            Text("" if agent.quality is None else f"{agent.quality:.2f}"),
            safe(agent.decision or ""),
        ]
        if errors:
            row.append(safe(agent.error or ""))
        if progressing:
            shown = agent.progress is not None and agent.status == "running"
            row.append(safe(f"{agent.progress:.0%} {agent.progress_message or ''}".strip() if shown else ""))
        table.add_row(*row)
    return table


def dependencies_table(status: CoordinationStatus) -> Table:
    """One row per dependency: the agent that waited, on what, and how long."""
    table = Table(title="dependencies", title_justify="left")
    for name in ("dependency", "agent", "type", "target", "status", "waited"):
        table.add_column(name, justify="right" if name == "waited" else "left")
    for item in status.dependencies:
        table.add_row(
            safe(item.dependency_id),
            safe(item.agent_id or ""),
            safe(item.dependency_type + (" (global)" if item.scope == "global" else "")),
            safe(item.target),
            styled(item.status),
            Text(duration(item.wait_ms)),
        )
    return table


def approvals_table(status: CoordinationStatus) -> Table:
    """One row per approval gate: who may approve, the agents waiting, the verdict (who, when, note)."""
    table = Table(title="approvals", title_justify="left")
    for name in ("gate", "status", "waiting", "approvers", "by", "at", "note"):
        table.add_column(name, overflow="fold")
    for item in status.approvals:
        table.add_row(
            safe(item.gate),
            styled(item.status),
            safe(", ".join(item.agents)),
            safe(item.approvers or ""),
            safe(item.decided_by or ""),
            Text(clock(item.decided_at) if item.decided_at else ""),
            safe(item.note or ""),
        )
    return table


def decisions_table(decisions: list[Decision]) -> Table:
    """Routing decisions in the order they were taken."""
    table = Table(title="routing decisions", title_justify="left")
    for name in ("time", "agent", "attempt", "decision", "strategy", "reasoning"):
        table.add_column(name, justify="right" if name == "attempt" else "left", overflow="fold")
    for item in decisions:
        table.add_row(
            Text(clock(item.at)),
            safe(item.agent),
            Text(str(item.attempt)),
            safe(item.decision),
            safe(item.strategy),
            safe(item.reasoning),
        )
    return table


def summary_line(status: CoordinationStatus) -> Text:
    """``completed in 4.2 s · 4 agents · 23 signals · 5 routing decisions``."""
    elapsed = ""
    if status.created_at is not None and status.finished_at is not None:
        elapsed = f" in {(status.finished_at - status.created_at).total_seconds():.1f} s"
    text = Text()
    text.append(plain(f"{status.status}{elapsed}"), style=STATUS_STYLE.get(status.status, "bold"))
    text.append(
        f" · {len(status.agents)} agents · {status.signals} signals · {status.routing_decisions} routing decisions"
        + (" · from the archive" if status.source == "archive" else "")
    )
    if status.error:
        text.append(plain(f" · {status.error}"), style="red")
    return text


def signal_line(signal: CoordinationSignal, width: int = 100) -> Text:
    """One signal on one line: time, type, sender, short event data."""
    kind = signal.signal_type.value
    line = Text()
    line.append(clock(signal.timestamp) + "  ", style="dim")
    line.append(f"{kind:<23}", style=SIGNAL_STYLE.get(kind, ""))
    line.append(plain(f"{signal.sender_agent_id:<15}"))
    data = signal.event_data or {}
    if kind == "agent_progress":
        line.append(progress_bar(data.get("fraction")))
        line.append(plain(f" {data.get('message') or ''}"[:width]))
    elif kind == "agent_stream":
        line.append(plain(str(data.get("text", ""))[-width:]))  # escaped: a newline shows as \n, on one line
    else:
        line.append(plain(short_data(own_data(signal), width)))
    return line


def progress_bar(fraction: object, cells: int = 20) -> Text:
    """``[#######.............]  35%`` for a fraction from 0 to 1 (empty brackets when it is not a number)."""
    value = fraction if isinstance(fraction, int | float) and not isinstance(fraction, bool) else None
    if value is None:
        return Text("[" + " " * cells + "]    ?")
    filled = round(max(0.0, min(1.0, float(value))) * cells)
    bar = Text("[")
    bar.append("#" * filled, style="green")
    bar.append("." * (cells - filled), style="dim")
    bar.append(f"] {float(value) * 100:3.0f}%")
    return bar


def signal_error(signal: CoordinationSignal) -> Text | None:
    """The whole error a signal carries (failures, retries), wrapped under its line instead of cut; else None."""
    data = signal.event_data or {}
    error = data.get("error") or (data.get("reason") if signal.signal_type.value == "agent_failed" else None)
    if not error:
        return None
    text = Text("    ")
    text.append("error: ", style="red")
    text.append(str(error))
    return text


def timeline_table(events: list[Event]) -> Table:
    """A coordination's history, oldest first, with where each line was read from."""
    table = Table(title="history", title_justify="left")
    for name in ("time", "kind", "what", "from"):
        table.add_column(name, overflow="fold")
    for event in events:
        table.add_row(Text(clock(event.at)), safe(event.kind), safe(event.summary), Text(event.source, style="dim"))
    return table
