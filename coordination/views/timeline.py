"""The timeline of one coordination: every attempt of every agent and every dependency wait, with times.

Attempts are read from the coordination's signals (``agent_initialized`` opens attempt N of an agent;
``agent_completed``, ``agent_retrying``, ``agent_failed`` or ``agent_skipped`` of the same attempt closes it), so
earlier attempts of a retried agent are there too, not just the last one its record keeps. Signals come from Redis
while the coordination is there, else from the archive. Dependency waits come from the dependency records (Redis)
or the archived dependency events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from config.settings import get_settings
from coordination.archive.reader import archived_signals
from coordination.archive.timeline import archived_waits
from coordination.errors import ArchiveUnavailableError
from coordination.models.signals import CoordinationSignal
from coordination.models.status import CoordinationStatus
from coordination.models.statuses import FINISHED_COORDINATION
from coordination.pipeline.components import components
from coordination.store.connection import sync_client
from coordination.store.keys import Keys
from coordination.streams import decode_signal

#: What ends an attempt, by signal type (``agent_failed`` carries its own status: failed or timed_out).
_ENDS = {
    "agent_completed": "completed",
    "agent_retrying": "retrying",
    "agent_failed": "failed",
    "agent_skipped": "skipped",
}
#: Signals read from Redis for one timeline (the stream is capped by COORD_SIGNAL_HISTORY_SIZE anyway).
MAX_SIGNALS = 20_000


@dataclass(frozen=True)
class Attempt:
    """One attempt of one agent.

    Attributes:
        outcome: completed, retrying, failed, timed_out, skipped, cancelled, running (still going), or unfinished
            (the coordination ended while it ran and no outcome was recorded).
        error: the error or reason the attempt ended with, if any.
    """

    agent_id: str
    attempt: int
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    error: str | None = None

    @property
    def duration_ms(self) -> float | None:
        """How long it ran (None while running)."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds() * 1000


@dataclass(frozen=True)
class Wait:
    """One dependency: the agent that waited, for what, from registration until it settled."""

    dependency_id: str
    agent_id: str | None
    dependency_type: str
    target: str
    status: str
    registered_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class Timeline:
    """Attempts and waits of one coordination, with the time span they are drawn in."""

    start: datetime
    end: datetime
    attempts: list[Attempt] = field(default_factory=list)
    waits: list[Wait] = field(default_factory=list)
    note: str | None = None

    def offset(self, moment: datetime | None) -> float:
        """Where ``moment`` falls in the span, from 0 to 1."""
        span = (self.end - self.start).total_seconds()
        if moment is None or span <= 0:
            return 0.0
        return min(1.0, max(0.0, (moment - self.start).total_seconds() / span))


def coordination_timeline(status: CoordinationStatus, now: datetime | None = None) -> Timeline:
    """The timeline of the coordination ``status`` describes (signals from Redis or, if archived, the archive)."""
    now = now or datetime.now(UTC)
    note = None
    if status.source == "redis":
        signals = live_signals(status.coordination_id)
        waits = _live_waits(status)
    else:
        try:
            signals, waits = _archived(status.coordination_id)
        except ArchiveUnavailableError as error:
            signals, waits, note = [], [], f"archive not read: {error}"
    running = status.status not in FINISHED_COORDINATION
    end_of_run = status.finished_at or now
    attempts = attempts_from_signals(signals, running=running, end=end_of_run)
    moments = [a.started_at for a in attempts] + [w.registered_at for w in waits if w.registered_at]
    start = min([status.created_at or now, *moments])
    finishes = [a.finished_at for a in attempts if a.finished_at] + [w.resolved_at for w in waits if w.resolved_at]
    end = max([end_of_run if not running else now, *finishes])
    return Timeline(start, end, attempts, waits, note)


def attempts_from_signals(signals: Iterable[CoordinationSignal], *, running: bool, end: datetime) -> list[Attempt]:
    """Pair each ``agent_initialized`` with the signal that ended the same attempt of the same agent."""
    opened: dict[tuple[str, int], CoordinationSignal] = {}
    attempts: list[Attempt] = []
    for signal in sorted(signals, key=lambda s: s.timestamp):
        kind = signal.signal_type.value
        data: dict[str, Any] = signal.event_data or {}
        agent_id = str(data.get("agent_id") or signal.sender_agent_id)
        number = _int(data.get("attempt"))
        if kind == "agent_initialized":
            opened[(agent_id, number)] = signal
            continue
        if kind not in _ENDS:
            continue
        began = opened.pop((agent_id, number), None)
        if began is None:
            continue  # settled without running (a skip of a waiting agent): not an attempt
        outcome = _ENDS[kind]
        if kind == "agent_failed":
            outcome = str(data.get("status") or "failed")
        # A completed attempt's "reason" is its routing decision's, not an error; so is that of a retry routing
        # asked for after an attempt that raised nothing.
        if outcome == "completed":
            error = None
        elif outcome == "retrying":
            error = data.get("error") or None
        else:
            error = data.get("error") or data.get("reason") or None
        if outcome == "skipped" and isinstance(error, str) and error.startswith("cancelled"):
            outcome = "cancelled"
        attempts.append(
            Attempt(agent_id, number, began.timestamp, signal.timestamp, outcome, None if error is None else str(error))
        )
    for (agent_id, number), began in opened.items():
        attempts.append(
            Attempt(agent_id, number, began.timestamp, None if running else end, "running" if running else "unfinished")
        )
    attempts.sort(key=lambda attempt: (attempt.started_at, attempt.agent_id))
    return attempts


def live_signals(coordination_id: str) -> list[CoordinationSignal]:
    """The coordination's signals retained in Redis, oldest first."""
    settings = get_settings()
    stream = Keys(settings.namespace, settings.pipeline_namespace).coordination(coordination_id).signals
    entries = sync_client().xrange(stream, count=MAX_SIGNALS)
    return [decode_signal(coordination_id, entry_id, fields) for entry_id, fields in entries]


def _live_waits(status: CoordinationStatus) -> list[Wait]:
    resolver = components().resolver
    waits = []
    for dependency in status.dependencies:
        view = resolver.get_dependency_status(status.coordination_id, dependency.dependency_id)
        waits.append(
            Wait(
                dependency_id=dependency.dependency_id,
                agent_id=dependency.agent_id,
                dependency_type=dependency.dependency_type,
                target=dependency.target,
                status=str(view.get("status", dependency.status)),
                registered_at=_parse(view.get("registered_at")),
                resolved_at=_parse(view.get("resolved_at")),
            )
        )
    return waits


def _archived(coordination_id: str) -> tuple[list[CoordinationSignal], list[Wait]]:
    signals = archived_signals(coordination_id)
    waits = [
        Wait(
            dependency_id=row.dependency_id,
            agent_id=row.agent_id,
            dependency_type=row.dependency_type,
            target=row.target,
            status=row.status,
            registered_at=row.registered_at,
            resolved_at=row.resolved_at,
        )
        for row in archived_waits(coordination_id)
    ]
    return signals, waits


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
