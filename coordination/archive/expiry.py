"""Expiry: delete finished coordinations from Redis once the archive holds all of them and retention is over.

A coordination in ``keys.finished`` for longer than ``settings.retention_seconds`` is deleted when

- the archive database has its coordination row with its final status,
- the fingerprint of its records equals the one committed by the archive writer (agents and dependencies
  included, so a late change is archived first),
- its signal stream, its log stream and its state change log are archived up to their last entry.

The check is repeated under ``WATCH`` on every key it read, and the deletion is one ``MULTI``: a signal or a
state change arriving in between cancels the deletion (the next run tries again, after the archive took it).
Deleted: every key of the coordination (``R:N:coord:{C}:*``: the fixed keys named in ``keys.py`` and its agent,
dependency and waiter keys), every key of its state namespace (``R:{N.C}:*`` fixed keys), its dependency entries
in the namespace's due set and waiter sets, its cursors, and its entries in the active/finished/coordinations
indexes.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.exceptions import WatchError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from config.settings import SettingsError, get_settings
from coordination.archive.engine import get_engine
from coordination.archive.snapshots import Snapshot, read_snapshots
from coordination.archive.tables import coordinations
from coordination.pipeline.components import components
from coordination.pipeline.runtime import coordination_state
from coordination.store.connection import sync_client
from coordination.store.keys import Keys, archive_cursor, dependency_waiters, fixed_keys

logger = logging.getLogger(__name__)

#: Coordinations considered per run (the oldest first); the next run takes the rest.
EXPIRE_LIMIT = 500
# Key-builder properties that are prefixes or patterns, not keys.


def expire_archived(limit: int = EXPIRE_LIMIT) -> list[str]:
    """Delete from Redis the finished coordinations that are archived and past retention; return their ids.

    Returns an empty list (and logs why) when the archive database cannot be asked: nothing is deleted
    unverified.
    """
    settings = get_settings()
    keys = components().keys
    client = sync_client()
    cutoff_ms = int(time.time() * 1000) - settings.retention_seconds * 1000
    candidates: list[str] = client.zrangebyscore(keys.finished, "-inf", cutoff_ms, start=0, num=limit)
    if not candidates:
        return []
    try:
        archived = _archived_statuses(candidates)
    except (SQLAlchemyError, SettingsError) as error:
        logger.warning("expiry skipped: the archive database cannot be asked (%s)", str(error).splitlines()[0])
        return []
    expired = []
    for cid in candidates:
        if _expire_one(client, keys, cid, archived.get(cid)):
            expired.append(cid)
    if expired:
        logger.info("expired %d archived coordinations from Redis", len(expired))
    return expired


def _archived_statuses(coordination_ids: list[str]) -> dict[str, str]:
    query = select(coordinations.c.coordination_id, coordinations.c.status).where(
        coordinations.c.coordination_id.in_(coordination_ids)
    )
    with get_engine().connect() as connection:
        return {str(cid): str(status) for cid, status in connection.execute(query)}


def _expire_one(client: Any, keys: Keys, cid: str, archived_status: str | None) -> bool:
    ck = keys.coordination(cid)
    state_keys = coordination_state(cid).store_keys
    cursor_fields = [
        archive_cursor("rows", cid),
        archive_cursor("signals", cid),
        archive_cursor("state", state_keys.namespace),
        archive_cursor("logs", cid),
    ]
    snapshot = read_snapshots(client, keys, [cid]).get(cid)
    if snapshot is None:
        logger.warning("finished coordination %s has no records left; removing it from the indexes", cid)
    elif archived_status != snapshot.meta.get("status"):
        return False
    # The cursor hash is not watched: only expiry ever moves a cursor back, and archive runs change it often.
    watched = [ck.signals, ck.logs, state_keys.state_log, *(snapshot.keys(keys) if snapshot else [])]
    with client.pipeline(transaction=True) as pipe:
        try:
            pipe.watch(*watched)
            # Read again under WATCH: whatever changes from here on cancels the deletion.
            current = read_snapshots(client, keys, [cid]).get(cid)
            fingerprint = current.fingerprint if current else None
            if fingerprint != (snapshot.fingerprint if snapshot else None):
                return False
            rows, signals, state, logs = client.hmget(keys.archive_cursors, cursor_fields)
            if current is not None and rows != fingerprint:
                if rows is not None and rows.startswith("F:"):
                    # Changed after it was archived as final (a late agent or dependency update): let the next
                    # archive run write it again.
                    client.hdel(keys.archive_cursors, archive_cursor("rows", cid))
                return False
            if not all(
                _archived_up_to_end(client, stream, cursor)
                for stream, cursor in ((ck.signals, signals), (state_keys.state_log, state), (ck.logs, logs))
            ):
                return False
            pipe.multi()
            pipe.unlink(*_keys_of(keys, cid, state_keys, current))
            _forget_dependencies(pipe, keys, cid, current)
            pipe.zrem(keys.finished, cid)
            pipe.srem(keys.active, cid)
            pipe.srem(keys.coordinations, cid)
            pipe.hdel(keys.archive_cursors, *cursor_fields)
            pipe.execute()
        except WatchError:
            return False
    return True


def _archived_up_to_end(client: Any, stream: str, cursor: str | None) -> bool:
    last = client.xrevrange(stream, count=1)
    return not last or last[0][0] == cursor


def _keys_of(keys: Keys, cid: str, state_keys: Keys, snapshot: Snapshot | None) -> list[str]:
    ck = keys.coordination(cid)
    found = set(fixed_keys(ck)) | set(fixed_keys(state_keys))
    if snapshot is not None:
        for agent in snapshot.agents:
            found.update((ck.agent(agent), ck.agent_waiters(agent)))
        for dep, record in snapshot.dependency_records.items():
            found.add(ck.dependency(dep))
            if record.get("type") and record.get("target"):
                waiters, _member = dependency_waiters(
                    keys, cid, dep, record["type"], record["target"], record.get("scope")
                )
                if waiters.startswith(ck.base):  # the coordination's own set goes with it
                    found.add(waiters)
    return sorted(found)


def _forget_dependencies(pipe: Any, keys: Keys, cid: str, snapshot: Snapshot | None) -> None:
    """Remove the coordination's entries from the namespace-wide due set and waiter sets."""
    if snapshot is None:
        return
    own = keys.coordination(cid).base
    for dep, record in snapshot.dependency_records.items():
        pipe.zrem(keys.due, f"{cid}/{dep}")
        if record.get("type") and record.get("target"):
            waiters, member = dependency_waiters(keys, cid, dep, record["type"], record["target"], record.get("scope"))
            if not waiters.startswith(own):  # a namespace-wide set (global resources and gates)
                pipe.srem(waiters, member)
