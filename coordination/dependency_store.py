"""Reading and forgetting the dependency records of one namespace (blocking client; the Lua scripts write them).

A dependency record is a hash (``CoordinationKeys.dependency``) listed in its coordination's dependency set,
with an entry in the waiter set of its target and in the namespace's due-set (see ``store/lua/deps_lib.lua``).
Resolution marks (``CoordinationKeys.resolution_marks``) hold what seed code recorded through
``DependencyResolver.resolved_dependencies`` for dependencies it never registered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from coordination.models.dependencies import Dependency, DependencyStatus
from coordination.store.connection import sync_client
from coordination.store.keys import Keys, dependency_waiters


class DependencyStore:
    """The dependency records of one component namespace.

    Args:
        keys: the namespace's key builder.
        ttl_ms: idle expiry of a private state's keys (0 for a shared namespace); written keys get it.
    """

    def __init__(self, keys: Keys, ttl_ms: int) -> None:
        self._keys = keys
        self._ttl_ms = ttl_ms

    def record(self, coordination_id: str, dependency_id: str) -> dict[str, str]:
        """Return one record's fields ({} when there is none)."""
        key = self._keys.coordination(coordination_id).dependency(dependency_id)
        return dict(sync_client().hgetall(key))

    def records(self, coordination_id: str) -> list[dict[str, str]]:
        """Return every record of the coordination, in registration order."""
        ckeys = self._keys.coordination(coordination_id)
        client = sync_client()
        ids = sorted(client.smembers(ckeys.dependencies))
        if not ids:
            return []
        pipe = client.pipeline(transaction=False)
        for dep_id in ids:
            pipe.hgetall(ckeys.dependency(dep_id))
        found = [dict(fields) for fields in pipe.execute() if fields]
        return sorted(found, key=lambda fields: (float(fields.get("registered_ms") or 0), fields.get("id", "")))

    def statuses(self, coordination_id: str) -> dict[str, str]:
        """Return dependency id -> status; a pending record past its deadline reads as ``timeout``."""
        ckeys = self._keys.coordination(coordination_id)
        client = sync_client()
        ids = sorted(client.smembers(ckeys.dependencies))
        if not ids:
            return {}
        pipe = client.pipeline(transaction=False)
        for dep_id in ids:
            pipe.hmget(ckeys.dependency(dep_id), "status", "deadline_ms")
        statuses: dict[str, str] = {}
        now = now_ms()
        for dep_id, (status, deadline) in zip(ids, pipe.execute(), strict=True):
            if status == DependencyStatus.PENDING.value and deadline and float(deadline) <= now:
                status = DependencyStatus.TIMEOUT.value  # overdue: nobody settled it yet, but it has timed out
            if status:
                statuses[dep_id] = status
        return statuses

    def resolution_marks(self, coordination_id: str) -> dict[str, bool]:
        """Return the recorded marks: dependency id -> resolved."""
        raw = sync_client().hgetall(self._keys.coordination(coordination_id).resolution_marks)
        return {dep_id: value == "1" for dep_id, value in raw.items()}

    def coordinations_with_dependencies(self) -> list[str]:
        """Return the coordinations of the namespace that have registered dependencies."""
        client = sync_client()
        ids = sorted(client.smembers(self._keys.coordinations))
        if not ids:
            return []
        pipe = client.pipeline(transaction=False)
        for cid in ids:
            pipe.scard(self._keys.coordination(cid).dependencies)
        return [cid for cid, count in zip(ids, pipe.execute(), strict=True) if count]

    def coordinations_with_marks(self) -> list[str]:
        """Return the coordinations of the namespace that have resolution marks."""
        client = sync_client()
        ids = sorted(client.smembers(self._keys.coordinations))
        if not ids:
            return []
        pipe = client.pipeline(transaction=False)
        for cid in ids:
            pipe.hlen(self._keys.coordination(cid).resolution_marks)
        return [cid for cid, count in zip(ids, pipe.execute(), strict=True) if count]

    def write_marks(self, coordination_id: str, marks: Mapping[str, bool], *, replace: bool) -> None:
        """Record resolution marks (replacing the coordination's earlier ones when ``replace``)."""
        ckeys = self._keys.coordination(coordination_id)
        pipe = sync_client().pipeline(transaction=True)
        if replace:
            pipe.delete(ckeys.resolution_marks)
        if marks:
            values = {dep_id: "1" if resolved else "0" for dep_id, resolved in marks.items()}
            pipe.hset(ckeys.resolution_marks, mapping=values)
            pipe.sadd(self._keys.coordinations, coordination_id)
            if self._ttl_ms > 0:
                pipe.pexpire(ckeys.resolution_marks, self._ttl_ms)
                pipe.pexpire(self._keys.coordinations, self._ttl_ms)
        pipe.execute()

    def forget_marks(self, coordination_id: str, dependency_ids: Iterable[str] | None) -> None:
        """Drop some resolution marks, or all of them when ``dependency_ids`` is None."""
        key = self._keys.coordination(coordination_id).resolution_marks
        ids = None if dependency_ids is None else list(dependency_ids)
        if ids is None:
            sync_client().delete(key)
        elif ids:
            sync_client().hdel(key, *ids)

    def forget(self, coordination_id: str, dependency_ids: Iterable[str] | None = None) -> None:
        """Forget dependencies: their records, waiter entries and due checks (all of them when ids is None).

        Forgetting all of them also drops the coordination's dependency set and its agents' pending counts.
        """
        ckeys = self._keys.coordination(coordination_id)
        client = sync_client()
        every = dependency_ids is None
        ids = list(client.smembers(ckeys.dependencies)) if dependency_ids is None else list(dependency_ids)
        pipe = client.pipeline(transaction=False)
        for dep_id in ids:
            pipe.hmget(ckeys.dependency(dep_id), "type", "target", "scope")
        records = pipe.execute() if ids else []
        pipe = client.pipeline(transaction=True)
        for dep_id, (dtype, target, scope) in zip(ids, records, strict=True):
            pipe.zrem(self._keys.due, f"{coordination_id}/{dep_id}")
            if dtype and target:
                waiters, member = dependency_waiters(self._keys, coordination_id, dep_id, dtype, target, scope)
                pipe.srem(waiters, member)
            pipe.delete(ckeys.dependency(dep_id))
            pipe.srem(ckeys.dependencies, dep_id)
        if every:
            pipe.delete(ckeys.dependencies, ckeys.agent_pending)
        pipe.execute()


def dependency_from_record(fields: Mapping[str, str]) -> Dependency:
    """Build the seed's ``Dependency`` as a record stands now (an overdue pending one reads as timed out)."""
    status = fields["status"]
    error = fields.get("error") or None
    resolved_ms = fields.get("resolved_ms")
    if status == DependencyStatus.PENDING.value and float(fields.get("deadline_ms") or "inf") <= now_ms():
        status, error, resolved_ms = DependencyStatus.TIMEOUT.value, error or "timed out (not yet settled)", None
    metadata: Any = json.loads(fields.get("metadata") or "{}")
    seconds = float(fields.get("timeout_ms") or 120_000) / 1000
    return Dependency(
        dependency_id=fields["id"],
        dependency_type=fields["type"],
        target=fields["target"],
        timeout=int(seconds) if seconds.is_integer() else seconds,
        metadata=metadata if isinstance(metadata, dict) else {},
        status=status,
        resolved_at=(
            datetime.fromtimestamp(float(resolved_ms) / 1000, UTC)
            if resolved_ms and status != DependencyStatus.PENDING.value
            else None
        ),
        error_message=error,
    )


def now_ms() -> int:
    """The current time in ms since the epoch (the scripts' NOW)."""
    return int(time.time() * 1000)


__all__ = ["DependencyStore", "dependency_from_record", "now_ms"]
