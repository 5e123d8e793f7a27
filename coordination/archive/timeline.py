"""Archived dependency waits of one coordination (its timeline after it expired from Redis)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from coordination.archive.reader import archive_connection
from coordination.archive.tables import dependency_events
from coordination.ids import validate_id


@dataclass(frozen=True)
class ArchivedWait:
    """One dependency as last archived: who waited for what, from when until when."""

    dependency_id: str
    agent_id: str | None
    dependency_type: str
    target: str
    status: str
    registered_at: datetime | None
    resolved_at: datetime | None


def archived_waits(coordination_id: str) -> list[ArchivedWait]:
    """Each dependency of the coordination with its latest archived status, by registration time.

    Raises:
        InvalidIdError: the id is malformed.
        ArchiveUnavailableError: the archive database is unreachable or not migrated.
    """
    validate_id(coordination_id, "coordination_id")
    query = select(dependency_events).where(dependency_events.c.coordination_id == coordination_id)
    with archive_connection() as connection:
        rows = connection.execute(query).mappings().all()
    latest: dict[str, ArchivedWait] = {}
    # A dependency has a ``pending`` row and, once settled, one row for its settlement: the settlement wins.
    for row in sorted(rows, key=lambda r: r["status"] != "pending"):
        latest[row["dependency_id"]] = ArchivedWait(
            dependency_id=row["dependency_id"],
            agent_id=row["agent_id"],
            dependency_type=row["dependency_type"],
            target=row["target"],
            status=row["status"],
            registered_at=row["registered_at"],
            resolved_at=row["resolved_at"],
        )
    return sorted(
        latest.values(), key=lambda wait: (wait.registered_at is None, wait.registered_at, wait.dependency_id)
    )
