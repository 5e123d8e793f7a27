"""Coordinations the archive knows as running but the store no longer has: marked ``lost``, never left running.

The store deletes a coordination only after it finished and its final records were archived, so a coordination
the archive holds as ``running`` must still be in Redis. When it is not, the store lost its data (a restart
without persistence, a replacement, a flush): the coordination cannot go on, and saying "running" forever would
be a lie. Each archive run checks a bounded number of them (one query, one pipelined round trip).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, update

from coordination.archive.tables import coordinations
from coordination.store.keys import Keys, archive_namespace

logger = logging.getLogger(__name__)

#: Running coordinations checked per archive run.
CHECK_LIMIT = 1000
LOST_REASON = (
    "lost: the coordination store no longer has this coordination (Redis restarted without persistence, or was "
    "replaced or flushed); it cannot go on — submit it again (docs/operations.md: persistence)"
)


def mark_lost(engine: Engine, client: Any, keys: Keys) -> list[str]:
    """Mark ``lost`` the archived running coordinations of ``keys``' namespace that Redis no longer has.

    Only this deployment's (its root and pipeline namespace): another deployment archiving into the same database
    keeps its coordinations in a store this one cannot see.
    """
    with engine.connect() as connection:
        running = list(
            connection.execute(
                select(coordinations.c.coordination_id)
                .where(
                    coordinations.c.namespace == archive_namespace(keys.root, keys.namespace),
                    coordinations.c.status == "running",
                )
                .limit(CHECK_LIMIT)
            ).scalars()
        )
    if not running:
        return []
    pipe = client.pipeline(transaction=False)
    for cid in running:
        pipe.exists(keys.coordination(cid).meta)
    missing = [cid for cid, present in zip(running, pipe.execute(), strict=True) if not present]
    if not missing:
        return []
    with engine.begin() as connection:
        connection.execute(
            update(coordinations)
            .where(coordinations.c.coordination_id.in_(missing), coordinations.c.status == "running")
            .values(status="lost", error=LOST_REASON, finished_at=datetime.now(UTC))
        )
    logger.error("%d running coordination(s) are lost (the store no longer has them): %s", len(missing), missing[:20])
    return missing
