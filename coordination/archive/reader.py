"""Reading coordinations back from the archive: status, signals and history, the same shapes as live reads.

The same queries on PostgreSQL and SQLite; both give aware UTC datetimes and decoded JSON.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from config.settings import get_settings
from coordination.archive.engine import get_engine, is_not_migrated, location
from coordination.archive.tables import (
    agent_logs,
    agent_runs,
    approvals,
    coordinations,
    dependency_events,
    routing_decisions,
    signals,
    state_changes,
)
from coordination.errors import ArchiveUnavailableError, InvalidInputError
from coordination.ids import validate_id
from coordination.models.fan_out import item_counts, split_item_id
from coordination.models.logs import LogLine
from coordination.models.signals import CoordinationSignal, SignalType
from coordination.models.status import AgentStatus, CoordinationStatus, DependencyView, MapItems, approval_views
from coordination.store.keys import archive_namespace

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


class HistoryEntry(BaseModel):
    """One event of a coordination's archived history (``coord history``)."""

    at: datetime
    kind: Literal["signal", "state", "routing", "dependency"]
    summary: str = Field(description="One line for people.")
    detail: dict[str, Any] = Field(default_factory=dict)


@contextmanager
def _connection() -> Iterator[Connection]:
    try:
        with get_engine().connect() as connection:
            yield connection
    except (OperationalError, ProgrammingError) as error:
        # A missing table is a ProgrammingError on PostgreSQL, an OperationalError on SQLite.
        if isinstance(error, ProgrammingError) or is_not_migrated(error):
            raise ArchiveUnavailableError(
                f"archive tables missing in {location()} ({_first_line(error)}); run `coord db upgrade`"
            ) from error
        raise ArchiveUnavailableError(
            f"archive database unreachable ({_first_line(error)}); check COORD_DATABASE_URL"
        ) from error


def archive_connection() -> AbstractContextManager[Connection]:
    """A connection to the archive database, for readers of other modules.

    Raises:
        ArchiveUnavailableError: (on entering) the database is unreachable or the archive tables are missing.
    """
    return _connection()


def archived_status(coordination_id: str) -> CoordinationStatus | None:
    """The status of a coordination as archived (``source="archive"``), or None if the archive lacks it.

    Raises:
        InvalidIdError: the id is malformed.
        ArchiveUnavailableError: the archive database is unreachable or not migrated.
    """
    validate_id(coordination_id, "coordination_id")
    settings = get_settings()
    mine = archive_namespace(settings.namespace, settings.pipeline_namespace)  # not another deployment's
    with _connection() as connection:
        row = (
            connection.execute(
                select(coordinations).where(
                    coordinations.c.coordination_id == coordination_id, coordinations.c.namespace == mine
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        agents = (
            connection.execute(
                select(agent_runs)
                .where(agent_runs.c.coordination_id == coordination_id)
                .order_by(agent_runs.c.position)
            )
            .mappings()
            .all()
        )
        events = (
            connection.execute(select(dependency_events).where(dependency_events.c.coordination_id == coordination_id))
            .mappings()
            .all()
        )
        verdicts = (
            connection.execute(select(approvals).where(approvals.c.coordination_id == coordination_id)).mappings().all()
        )
        decisions = connection.execute(
            select(func.count())
            .select_from(routing_decisions)
            .where(routing_decisions.c.coordination_id == coordination_id)
        ).scalar_one()
    item_rows, items_of = _map_items(row["definition"], agents)
    # A dependency has one event per status it went through; the latest settlement describes it.
    latest: dict[str, Any] = {}
    for event in sorted(events, key=lambda e: (e["status"] != "pending", e["resolved_at"] or _EPOCH)):
        latest[event["dependency_id"]] = event
    return CoordinationStatus(
        coordination_id=coordination_id,
        workflow=row["workflow"],
        status=row["status"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        error=row["error"],
        agents=[
            AgentStatus(
                items=items_of.get(agent["agent_id"]),
                agent_id=agent["agent_id"],
                status=agent["status"],
                attempts=agent["attempts"],
                queued_at=agent["queued_at"],
                started_at=agent["started_at"],
                finished_at=agent["finished_at"],
                duration_ms=(
                    (agent["finished_at"] - agent["started_at"]) / _MILLISECOND
                    if agent["started_at"] and agent["finished_at"]
                    else None
                ),
                quality=agent["quality"],
                decision=agent["decision"],
                error=agent["error"],
                traceback=agent["traceback"],
                task_id=agent["task_id"],
                result=agent["result"],
            )
            for agent in agents
            if agent["agent_id"] not in item_rows
        ],
        dependencies=[
            DependencyView(
                dependency_id=dep_id,
                agent_id=event["agent_id"],
                dependency_type=event["dependency_type"],
                target=event["target"],
                status=event["status"],
                wait_ms=event["wait_ms"],
                scope=_scope_of(event),
            )
            for dep_id, event in sorted(latest.items())
        ],
        approvals=approval_views(
            [
                {
                    "target": event["target"],
                    "status": event["status"],
                    "owner": event["agent_id"],
                    "approvers": (event["metadata"] or {}).get("approvers"),
                }
                for event in latest.values()
                if event["dependency_type"] == "approval"
            ],
            {
                row["gate"]: {
                    "verdict": row["verdict"],
                    "by": row["decided_by"],
                    "at_ms": row["decided_at"].timestamp() * 1000,
                    "note": row["note"],
                }
                for row in verdicts
            },
        ),
        signals=row["signals"],
        routing_decisions=max(int(row["decisions"]), int(decisions)),
        source="archive",
    )


def _map_items(definition: Any, agents: Sequence[Any]) -> tuple[set[str], dict[str, MapItems]]:
    """The rows of map agents' items (archived as ``<agent>.<i>`` rows), and each map agent's items counted.

    A map agent is shown as one agent with its items counted, as in the live status.
    """
    declared = definition.get("agents") if isinstance(definition, dict) else None
    map_agents = {
        agent_id: spec for agent_id, spec in (declared or {}).items() if isinstance(spec, dict) and spec.get("map")
    }
    if not map_agents:
        return set(), {}
    grouped: dict[str, list[Any]] = {}
    for agent in agents:
        found = split_item_id(agent["agent_id"], map_agents)
        if found is not None:
            grouped.setdefault(found[0], []).append(agent)
    rows = {agent["agent_id"] for members in grouped.values() for agent in members}
    empty = {  # a map agent over an empty list completed with no item at all
        agent["agent_id"]: MapItems(count=0)
        for agent in agents
        if agent["agent_id"] in map_agents and agent["agent_id"] not in grouped and agent["result"] == []
    }
    return rows, empty | {
        parent: MapItems(
            count=len(members),
            statuses=item_counts([member["status"] for member in members]),
            attempts=sum(int(member["attempts"]) for member in members),
        )
        for parent, members in grouped.items()
    }


def _scope_of(event: Any) -> str | None:
    """An archived resource or gate dependency's scope (in its metadata since scopes exist; global before)."""
    if event["dependency_type"] not in ("resource_availability", "quality_gate"):
        return None
    metadata = event["metadata"] if isinstance(event["metadata"], dict) else {}
    return str(metadata.get("scope") or "global")


def archived_signals(coordination_id: str, limit: int | None = None) -> list[CoordinationSignal]:
    """The archived signals of a coordination, newest first (like ``get_signal_history``), at most ``limit``.

    Raises:
        InvalidInputError: the id is malformed or ``limit`` is not a non-negative integer.
        ArchiveUnavailableError: the archive database is unreachable or not migrated.
    """
    validate_id(coordination_id, "coordination_id")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise InvalidInputError("limit", f"must be a non-negative integer or None, got {limit!r}")
    if limit == 0:
        return []
    query = (
        select(signals)
        .where(signals.c.coordination_id == coordination_id)
        .order_by(signals.c.sent_at.desc(), signals.c.stream_id.desc())
        .limit(limit)
    )
    with _connection() as connection:
        found = connection.execute(query).mappings().all()
    return [
        CoordinationSignal.model_construct(
            signal_id=row["signal_id"],
            signal_type=SignalType(row["signal_type"]),
            sender_agent_id=row["sender"],
            recipient_agents=row["recipients"],
            timestamp=row["created_at"],
            event_data=row["data"],
            metadata=row["meta"],
            coordination_id=coordination_id,
            stream_id=row["stream_id"],
        )
        for row in found
    ]


def archived_history(coordination_id: str, limit: int | None = None) -> list[HistoryEntry]:
    """Everything the archive holds about a coordination, oldest first.

    That is its signals, the changes of its own state, its routing decisions and its dependency events.

    Args:
        coordination_id: the coordination.
        limit: at most this many entries (the oldest); None for all.

    Raises:
        InvalidInputError: the id is malformed or ``limit`` is not a non-negative integer.
        ArchiveUnavailableError: the archive database is unreachable or not migrated.
    """
    validate_id(coordination_id, "coordination_id")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise InvalidInputError("limit", f"must be a non-negative integer or None, got {limit!r}")
    entries: list[HistoryEntry] = []
    with _connection() as connection:
        for row in connection.execute(select(signals).where(signals.c.coordination_id == coordination_id)).mappings():
            entries.append(
                HistoryEntry(
                    at=row["sent_at"],
                    kind="signal",
                    summary=f"{row['signal_type']} from {row['sender']}",
                    detail={"signal_id": row["signal_id"], "recipients": row["recipients"], "data": row["data"]},
                )
            )
        for row in connection.execute(
            select(state_changes).where(state_changes.c.coordination_id == coordination_id)
        ).mappings():
            entries.append(
                HistoryEntry(
                    at=row["changed_at"],
                    kind="state",
                    summary=f"v{row['version']} {row['operation']} {row['key']}"
                    + (f" by {row['changed_by']}" if row["changed_by"] else ""),
                    detail={"old": row["old_value"], "new": row["new_value"]},
                )
            )
        for row in connection.execute(
            select(routing_decisions).where(routing_decisions.c.coordination_id == coordination_id)
        ).mappings():
            entries.append(
                HistoryEntry(
                    at=row["decided_at"],
                    kind="routing",
                    summary=f"{row['task']}: {row['decision']} ({row['strategy']})",
                    detail={"routing_id": str(row["routing_id"]), "record": row["record"]},
                )
            )
        for row in connection.execute(
            select(dependency_events).where(dependency_events.c.coordination_id == coordination_id)
        ).mappings():
            at = row["resolved_at"] if row["status"] != "pending" else row["registered_at"]
            if at is None:
                continue
            entries.append(
                HistoryEntry(
                    at=at,
                    kind="dependency",
                    summary=f"{row['dependency_id']} {row['status']}"
                    + (f" (waited {row['wait_ms']:.0f} ms)" if row["wait_ms"] is not None else ""),
                    detail={
                        "agent_id": row["agent_id"],
                        "type": row["dependency_type"],
                        "target": row["target"],
                        "error": row["error"],
                    },
                )
            )
    entries.sort(key=lambda entry: entry.at)
    return entries if limit is None else entries[:limit]


def archived_logs(coordination_id: str, agent_id: str | None = None) -> list[LogLine]:
    """The archived log lines and tracebacks of a coordination's agents (one agent's if given), oldest first.

    Raises:
        InvalidInputError: an id is malformed.
        ArchiveUnavailableError: the archive database is unreachable or not migrated.
    """
    validate_id(coordination_id, "coordination_id")
    query = select(agent_logs).where(agent_logs.c.coordination_id == coordination_id)
    if agent_id is not None:
        query = query.where(agent_logs.c.agent_id == validate_id(agent_id, "agent_id"))
    with _connection() as connection:
        found = connection.execute(query.order_by(agent_logs.c.stream_id)).mappings().all()
    return [
        LogLine(
            coordination_id=coordination_id,
            agent_id=row["agent_id"],
            attempt=row["attempt"],
            at=row["logged_at"],
            level=row["level"],
            message=row["message"],
            stream_id=row["stream_id"],
            source="archive",
        )
        for row in found
    ]


def _first_line(error: Exception) -> str:
    message = str(getattr(error, "orig", None) or error).strip()
    return message.splitlines()[0] if message else type(error).__name__
