"""A coordination's status, from Redis while it holds the coordination and from the archive afterwards."""

from __future__ import annotations

from coordination.archive.reader import archived_status
from coordination.errors import CoordinationNotFoundError
from coordination.models.status import CoordinationStatus
from coordination.pipeline.status import read_status


def coordination_status(coordination_id: str) -> CoordinationStatus:
    """The status of a coordination, live or archived.

    Raises:
        CoordinationNotFoundError: neither Redis nor the archive knows the coordination (a ``KeyError``).
        StoreUnavailableError: Redis could not be reached.
    """
    live = read_status(coordination_id)
    if live is not None:
        return live
    archived = archived_status(coordination_id)
    if archived is None:
        raise CoordinationNotFoundError(coordination_id, "in Redis or in the archive")
    return archived
