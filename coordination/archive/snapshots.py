"""Reading a pipeline coordination's records from Redis in two round trips, with a fingerprint of them.

The fingerprint tells the writer whether PostgreSQL already holds the records as they are now (it is stored in
the cursor hash after each commit), so unchanged coordinations cost no database write, and expiry can check that
what it deletes is exactly what was archived.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from coordination.models.fan_out import item_id
from coordination.pipeline.records import FINISHED
from coordination.store.keys import Keys, archive_cursor
from coordination.streams import signals_sent

#: Prefix of the fingerprint of records archived in their final (finished) form.
FINAL_PREFIX = "F:"


def rows_cursor_field(coordination_id: str) -> str:
    """Field of the archive cursor hash holding the fingerprint of a coordination's last committed records."""
    return archive_cursor("rows", coordination_id)


def archived_as_final(fingerprint: str | None) -> bool:
    """True when a committed fingerprint says the archive holds the coordination's final records."""
    return fingerprint is not None and fingerprint.startswith(FINAL_PREFIX)


@dataclass
class Snapshot:
    """What Redis holds about one pipeline coordination at one moment."""

    coordination_id: str
    meta: dict[str, str]
    agents: list[str]
    agent_records: dict[str, dict[str, str]] = field(default_factory=dict)
    dependency_records: dict[str, dict[str, str]] = field(default_factory=dict)
    signals_sent: int = 0
    approvals: dict[str, str] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """True once the coordination ended (completed, failed, cancelled, lost)."""
        return self.meta.get("status") in FINISHED

    @property
    def fingerprint(self) -> str:
        """A digest of every record (meta, agents, dependencies, signal count, verdicts), marked final when finished."""
        digest = hashlib.blake2b(digest_size=16)
        for part in (
            sorted(self.meta.items()),
            self.agents,
            sorted((agent, sorted(record.items())) for agent, record in self.agent_records.items()),
            sorted((dep, sorted(record.items())) for dep, record in self.dependency_records.items()),
            self.signals_sent,
            sorted(self.approvals.items()),
        ):
            digest.update(repr(part).encode("utf-8", "surrogatepass"))
            digest.update(b"\x1f")
        return (FINAL_PREFIX if self.finished else "R:") + digest.hexdigest()

    def keys(self, keys: Keys) -> list[str]:
        """The per-coordination keys these records live in (what expiry watches)."""
        ck = keys.coordination(self.coordination_id)
        return [
            ck.meta,
            ck.agents,
            ck.dependencies,
            ck.signal_metrics,
            ck.approvals,
            *(ck.agent(agent) for agent in self.agents),
            *(ck.dependency(dep) for dep in self.dependency_records),
        ]


def read_snapshots(client: Any, keys: Keys, coordination_ids: Iterable[str]) -> dict[str, Snapshot]:
    """Read the records of many coordinations (ids without a ``meta`` hash are left out)."""
    ids = list(coordination_ids)
    if not ids:
        return {}
    pipe = client.pipeline(transaction=False)
    for cid in ids:
        ck = keys.coordination(cid)
        pipe.hgetall(ck.meta)
        pipe.lrange(ck.agents, 0, -1)
        pipe.smembers(ck.dependencies)
        pipe.hgetall(ck.signal_metrics)
        pipe.hgetall(ck.approvals)
    replies = pipe.execute()
    found: dict[str, Snapshot] = {}
    dependency_ids: dict[str, list[str]] = {}
    for index, cid in enumerate(ids):
        meta, agents, deps, figures, approvals = replies[index * 5 : index * 5 + 5]
        if not meta:
            continue
        found[cid] = Snapshot(
            cid, dict(meta), list(agents), signals_sent=signals_sent(figures), approvals=dict(approvals)
        )
        dependency_ids[cid] = sorted(deps)
    pipe = client.pipeline(transaction=False)
    plan: list[tuple[Snapshot, str, str]] = []
    for cid, snapshot in found.items():
        ck = keys.coordination(cid)
        for agent in snapshot.agents:
            pipe.hgetall(ck.agent(agent))
            plan.append((snapshot, "agent", agent))
        for dep in dependency_ids[cid]:
            pipe.hgetall(ck.dependency(dep))
            plan.append((snapshot, "dep", dep))
    for (snapshot, kind, name), record in zip(plan, pipe.execute() if plan else [], strict=True):
        if kind == "agent":
            snapshot.agent_records[name] = dict(record)
        elif record:
            snapshot.dependency_records[name] = {"id": name, **record}
    _read_map_items(client, keys, list(found.values()))
    return found


def _read_map_items(client: Any, keys: Keys, snapshots: list[Snapshot]) -> None:
    """Add the items of map agents (``<agent>.<i>`` records) after their agent: archived, expired with the rest.

    One more round trip, only when some coordination has an expanded map agent.
    """
    pipe = client.pipeline(transaction=False)
    plan: list[tuple[Snapshot, str]] = []
    for snapshot in snapshots:
        ck = keys.coordination(snapshot.coordination_id)
        listed: list[str] = []
        for agent in snapshot.agents:
            listed.append(agent)
            count = snapshot.agent_records.get(agent, {}).get("map_count")
            for index in range(int(count) if count else 0):
                listed.append(item_id(agent, index))
                pipe.hgetall(ck.agent(listed[-1]))
                plan.append((snapshot, listed[-1]))
        snapshot.agents = listed
    for (snapshot, name), record in zip(plan, pipe.execute() if plan else [], strict=True):
        snapshot.agent_records[name] = dict(record)
