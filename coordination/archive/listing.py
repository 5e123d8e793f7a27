"""Archived coordinations, newest first, filtered and paged by key (``coord ls``, the web view's list).

Ordering is ``(created_at, coordination_id)`` descending, so a page starts strictly after the last row of the
previous one whatever was archived in between (keyset paging, no OFFSET).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from coordination.archive.reader import archive_connection
from coordination.archive.tables import coordinations


@dataclass(frozen=True)
class ArchivedCoordination:
    """One ``coordinations`` row, as a list shows it."""

    coordination_id: str
    workflow: str
    status: str
    created_at: datetime | None
    finished_at: datetime | None
    error: str | None
    failures: int


def archived_coordinations(
    namespace: str,
    *,
    statuses: Collection[str] = (),
    workflow: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> list[ArchivedCoordination]:
    """Archived coordinations of one deployment's pipeline namespace, newest first.

    Args:
        namespace: the archive namespace of the pipeline namespace the coordinations ran in
            (:func:`~coordination.store.keys.archive_namespace`).
        statuses: keep only these statuses (empty: all).
        workflow: keep only this workflow name.
        since: created at or after this moment.
        until: created before this moment.
        before: ``(created_at, coordination_id)`` of the last row already shown; rows strictly after it come.
        limit: at most this many rows.

    Raises:
        ArchiveUnavailableError: the archive database is unreachable or not migrated.
    """
    table = coordinations.c
    query = select(
        table.coordination_id,
        table.workflow,
        table.status,
        table.created_at,
        table.finished_at,
        table.error,
        table.failures,
    ).where(table.namespace == namespace)
    if statuses:
        query = query.where(table.status.in_(sorted(statuses)))
    if workflow is not None:
        query = query.where(table.workflow == workflow)
    if since is not None:
        query = query.where(table.created_at >= since)
    if until is not None:
        query = query.where(table.created_at < until)
    if before is not None:
        moment, coordination_id = before
        query = query.where(
            or_(table.created_at < moment, and_(table.created_at == moment, table.coordination_id < coordination_id))
        )
    query = query.order_by(table.created_at.desc(), table.coordination_id.desc()).limit(limit)
    with archive_connection() as connection:
        rows = connection.execute(query).all()
    return [
        ArchivedCoordination(
            coordination_id=row.coordination_id,
            workflow=row.workflow,
            status=row.status,
            created_at=row.created_at,
            finished_at=row.finished_at,
            error=row.error,
            failures=int(row.failures or 0),
        )
        for row in rows
    ]
