"""Decoding of signal stream entries and stream offsets (shared by subscribers, history and the archive)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from coordination import jsonutil
from coordination.errors import InvalidInputError
from coordination.models.base import prevalidated
from coordination.models.signals import SIGNAL_TYPES, CoordinationSignal


def decode_signal(coordination_id: str, entry_id: str, fields: dict[str, str]) -> CoordinationSignal:
    """Build the signal stored in one stream entry (trusted data: written by our own Lua script).

    This runs for every delivery to a subscriber, between the reply and the consumer: it builds the model
    without validating it again (the emitting side validated every field); :func:`jsonutil.loads` decodes the
    JSON fields.
    """
    return prevalidated(
        CoordinationSignal,
        {
            "signal_id": fields["id"],
            "signal_type": SIGNAL_TYPES[fields["type"]],
            "sender_agent_id": fields["sender"],
            "recipient_agents": jsonutil.loads(fields["to"]),
            "timestamp": datetime.fromisoformat(fields["ts"]),
            "event_data": jsonutil.loads(fields["data"]),
            "metadata": jsonutil.loads(fields["meta"]),
            "coordination_id": coordination_id,
            "stream_id": entry_id,
        },
    )


def sent_at(fields: dict[str, str]) -> float:
    """Return the POSIX time at which the entry was emitted."""
    return float(fields["sent"])


def signals_sent(figures: Mapping[str, str]) -> int:
    """Return the number of signals a coordination emitted, from its ``signal-metrics`` hash.

    Emission counts per type only (``type:<signal type>``: one command less on the way of every signal); the total
    is their sum. A ``sent`` field written by earlier versions is the same sum and is ignored.
    """
    return sum(int(value) for name, value in figures.items() if name.startswith("type:"))


def offset_from(since: str | datetime | float, field: str) -> str:
    """Turn ``since`` (a stream id, an aware datetime or a POSIX time) into an exclusive XREAD offset.

    Raises:
        InvalidInputError: ``since`` is none of those.
    """
    if isinstance(since, bool):
        raise InvalidInputError(field, "must be a stream offset, a datetime or a POSIX time, not a bool")
    if isinstance(since, datetime):
        if since.tzinfo is None:
            raise InvalidInputError(field, "must be timezone-aware (UTC is used everywhere)")
        return _before(int(since.timestamp() * 1000))
    if isinstance(since, int | float):
        if since < 0:
            raise InvalidInputError(field, "must not be negative")
        return _before(int(since * 1000))
    if isinstance(since, str):
        if since in ("0", "0-0"):
            return "0-0"
        head, _, tail = since.partition("-")
        if head.isdigit() and (tail == "" or tail.isdigit()):
            return since if tail else f"{head}-0"
        raise InvalidInputError(field, f"{since!r} is not a stream offset like '1700000000000-0'")
    raise InvalidInputError(field, f"must be a stream offset, a datetime or a POSIX time, got {type(since).__name__}")


def _before(milliseconds: int) -> str:
    # XREAD returns entries strictly after the offset; to include entries of this very millisecond, start just
    # before it.
    return "0-0" if milliseconds <= 0 else f"{milliseconds - 1}-18446744073709551615"
