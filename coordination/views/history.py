"""Reading what happened to a coordination: signals and routing decisions, from Redis and the archive.

What Redis and, when archived, PostgreSQL hold is merged into one timeline without duplicates. The archive is
optional: without it (not installed, unreachable, not migrated) the Redis view is shown alone, with a note.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from coordination.archive.reader import archived_history
from coordination.errors import ArchiveUnavailableError
from coordination.ids import validate_id
from coordination.models.routing import RoutingHistoryRecord
from coordination.models.signals import CoordinationSignal
from coordination.pipeline.components import components
from coordination.pipeline.progress import LIVE_ONLY_SIGNALS
from coordination.routing import history_format
from coordination.smart_routing import SmartRoutingOrchestrator

#: How many routing-history records of the namespace are scanned for one coordination's decisions.
ROUTING_SCAN_LIMIT = 10_000


@dataclass(frozen=True)
class Decision:
    """One routing decision taken after an agent step."""

    at: datetime
    agent: str
    attempt: int
    decision: str
    strategy: str
    reasoning: str
    routing_id: str
    source: Literal["redis", "archive"] = "redis"


@dataclass(frozen=True)
class Event:
    """One line of a coordination's timeline."""

    at: datetime
    kind: str
    summary: str
    source: Literal["redis", "archive"]
    key: str = ""


@dataclass
class History:
    """A coordination's timeline, its routing decisions, and why the archive was not read (if it was not)."""

    events: list[Event] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    archive_note: str | None = None


def live_signals(coordination_id: str) -> list[CoordinationSignal]:
    """The signals retained in Redis, oldest first."""
    validate_id(coordination_id, "coordination_id")
    return list(reversed(components().signals.get_signal_history(coordination_id)))


def live_decisions(coordination_id: str) -> list[Decision]:
    """Routing decisions of one coordination from the namespace's routing stream in Redis, oldest first.

    The stream is shared by the namespace and trimmed once archived, so recent coordinations are found here and
    older ones in the archive.
    """
    validate_id(coordination_id, "coordination_id")
    records = SmartRoutingOrchestrator(state=components().state).read_persisted_history(limit=ROUTING_SCAN_LIMIT)
    found = [
        _decision_of(record, record.timestamp, "redis")
        for record in records
        if record.context.correlation_id == coordination_id
    ]
    return sorted(found, key=lambda item: item.at)


def _decision_of(record: RoutingHistoryRecord, at: datetime, source: Literal["redis", "archive"]) -> Decision:
    return Decision(
        at=at,
        agent=record.context.current_task,
        attempt=record.context.retry_count + 1,
        decision=record.result.decision.value,
        strategy=record.result.strategy.value,
        reasoning=record.result.reasoning,
        routing_id=str(record.routing_id),
        source=source,
    )


def _archived_decision(entry: Any) -> Decision | None:
    try:
        record = history_format.decode_record(entry.detail["record"])
    except (KeyError, ValueError):  # a record this version cannot read is left out of the decisions
        return None
    return _decision_of(record, entry.at, "archive")


def signal_summary(signal: CoordinationSignal, width: int = 90) -> str:
    """``type from sender: key=value ...`` in at most about ``width`` characters."""
    return f"{signal.signal_type.value} from {signal.sender_agent_id}: {short_data(own_data(signal), width)}"


def own_data(signal: CoordinationSignal) -> dict[str, Any]:
    """The event data without an ``agent_id`` that only repeats the sender."""
    data = signal.event_data
    if data.get("agent_id") == signal.sender_agent_id:
        return {key: value for key, value in data.items() if key != "agent_id"}
    return data


def short_data(data: dict[str, Any], width: int = 90) -> str:
    """Event data as ``key=value`` pairs, long values cut, the whole cut to ``width`` characters."""
    parts = []
    for key, value in data.items():
        if value is None or value == "" or value == [] or value == {}:
            continue
        if isinstance(value, float):
            value = round(value, 3)
        shown = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
        if len(shown) > 40:
            shown = shown[:39] + "…"
        parts.append(f"{key}={shown}")
    text = " ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"


def read_history(coordination_id: str, *, use_archive: bool = True) -> History:
    """Everything known about a coordination, oldest first, Redis and archive merged without duplicates.

    Raises:
        InvalidIdError: the id is malformed.
    """
    history = History()
    signal_ids: set[str] = set()
    for signal in live_signals(coordination_id):
        if signal.signal_type.value in LIVE_ONLY_SIGNALS:
            continue  # progress and streamed text: `coord watch` shows them live; the history keeps the outcomes
        signal_ids.add(signal.signal_id)
        history.events.append(Event(signal.timestamp, "signal", signal_summary(signal), "redis", signal.signal_id))
    history.decisions = live_decisions(coordination_id)
    if use_archive:
        _merge_archive(coordination_id, history, signal_ids)
    routing_ids = set()
    for decision in history.decisions:
        routing_ids.add(decision.routing_id)
        history.events.append(
            Event(
                decision.at,
                "routing",
                f"{decision.agent} attempt {decision.attempt}: {decision.decision} "
                f"({decision.strategy}: {decision.reasoning})",
                decision.source,
                decision.routing_id,
            )
        )
    history.events.sort(key=lambda event: event.at)
    history.decisions.sort(key=lambda decision: decision.at)
    return history


def _merge_archive(coordination_id: str, history: History, signal_ids: set[str]) -> None:
    try:
        archived = archived_history(coordination_id)
    except ArchiveUnavailableError as error:
        history.archive_note = f"archive not read: {error}"
        return
    except Exception as error:  # an archive still being set up must not hide the live view
        history.archive_note = f"archive not read: {type(error).__name__}: {error}"
        return
    known = {decision.routing_id for decision in history.decisions}
    for entry in archived:
        if entry.kind == "routing":
            decision = _archived_decision(entry)
            if decision is not None and decision.routing_id not in known:
                known.add(decision.routing_id)
                history.decisions.append(decision)
            continue
        if entry.kind == "signal":
            signal_id = str(entry.detail.get("signal_id", ""))
            if signal_id in signal_ids:
                continue
            data = entry.detail.get("data")
            summary = f"{entry.summary}: {short_data(data)}" if isinstance(data, dict) else entry.summary
            history.events.append(Event(entry.at, "signal", summary, "archive", signal_id))
            continue
        history.events.append(Event(entry.at, entry.kind, entry.summary, "archive"))


def decisions_of(coordination_id: str, expected: int) -> list[Decision]:
    """Routing decisions from Redis, completed from the archive only when Redis has fewer than ``expected``."""
    found = live_decisions(coordination_id)
    if len(found) >= expected:
        return found
    return read_history(coordination_id).decisions
