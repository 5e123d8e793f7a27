"""Reading a coordination's agent log lines and tracebacks live from Redis."""

from __future__ import annotations

from datetime import UTC, datetime

from coordination.ids import validate_id
from coordination.models.logs import LogLine
from coordination.pipeline.components import Components, components
from coordination.store.connection import sync_client


def live_logs(coordination_id: str, agent_id: str | None = None, parts: Components | None = None) -> list[LogLine]:
    """The log lines Redis still holds for a coordination (one agent's if given), oldest first."""
    validate_id(coordination_id, "coordination_id")
    if agent_id is not None:
        validate_id(agent_id, "agent_id")
    key = (parts or components()).keys.coordination(coordination_id).logs
    lines = []
    for entry_id, fields in sync_client().xrange(key):
        if agent_id is not None and fields.get("agent") != agent_id:
            continue
        lines.append(
            LogLine(
                coordination_id=coordination_id,
                agent_id=fields["agent"],
                attempt=int(fields["attempt"]),
                at=datetime.fromtimestamp(float(fields["ts"]), UTC),
                level=fields["level"],
                message=fields["msg"],
                stream_id=entry_id,
            )
        )
    return lines
