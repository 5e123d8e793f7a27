"""An agent's log lines and tracebacks, from Redis while it holds them and from the archive afterwards."""

from __future__ import annotations

import logging

from coordination.archive.reader import archived_logs
from coordination.errors import ArchiveUnavailableError
from coordination.models.logs import LogLine
from coordination.pipeline.logs import live_logs

logger = logging.getLogger(__name__)


def agent_logs(coordination_id: str, agent_id: str | None = None, *, archive: bool = True) -> list[LogLine]:
    """Every log line and traceback of a coordination (one agent's if given), oldest first, without repeats.

    Redis holds the recent ones (capped per coordination); the archive holds all that were archived, also after
    the coordination expired from Redis. An unreachable archive leaves the Redis lines (and is logged).
    """
    lines = {line.stream_id: line for line in live_logs(coordination_id, agent_id)}
    if archive:
        try:
            for line in archived_logs(coordination_id, agent_id):
                lines.setdefault(line.stream_id, line)
        except ArchiveUnavailableError as error:
            logger.warning("archived logs of %s not read: %s", coordination_id, error)
    return [lines[key] for key in sorted(lines, key=_stream_order)]


def _stream_order(stream_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = stream_id.partition("-")
    return int(milliseconds), int(sequence or 0)
