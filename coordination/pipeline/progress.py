"""Progress and streamed text of a running attempt (``run.progress``, ``run.stream``): live, bounded, not archived.

Each call is one script run (``agent_progress.lua``) that writes only while the attempt holds its lease: the
agent's record keeps the latest progress and the end of the streamed text (what ``coord status`` and the web view
show), and the coordination's signal stream gets an ``agent_progress`` or ``agent_stream`` event (what ``coord
watch`` prints), at most :data:`~coordination.limits.MAX_PROGRESS_EVENTS` per attempt. The archive skips these
events: the attempt's result is what is kept.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from coordination.errors import InvalidInputError
from coordination.limits import (
    MAX_PROGRESS_EVENTS,
    MAX_PROGRESS_MESSAGE_LENGTH,
    MAX_STREAM_CHUNK_LENGTH,
    STREAM_TAIL_BYTES,
)
from coordination.models.signals import SignalType
from coordination.pipeline.components import Components
from coordination.pipeline.records import now_ms
from coordination.store.connection import sync_client
from coordination.store.scripts import script

logger = logging.getLogger(__name__)

#: Signal types that are live only: the archive does not keep them.
LIVE_ONLY_SIGNALS = frozenset({SignalType.AGENT_PROGRESS.value, SignalType.AGENT_STREAM.value})


def checked_fraction(fraction: Any) -> float:
    """``fraction`` as a float if it is a finite number from 0 to 1.

    Raises:
        InvalidInputError: names ``fraction``.
    """
    if isinstance(fraction, bool) or not isinstance(fraction, int | float):
        raise InvalidInputError("fraction", f"must be a number from 0 to 1, got {type(fraction).__name__}")
    if isinstance(fraction, int) and not 0 <= fraction <= 1:  # (a huge int would not even become a float)
        raise InvalidInputError("fraction", f"must be a finite number from 0 to 1, got {str(fraction)[:40]}")
    value = float(fraction)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise InvalidInputError("fraction", f"must be a finite number from 0 to 1, got {fraction!r}")
    return value


def checked_text(value: Any, field: str, limit: int) -> str:
    """``value`` if it is a text of at most ``limit`` characters.

    Raises:
        InvalidInputError: names ``field``.
    """
    if not isinstance(value, str):
        raise InvalidInputError(field, f"must be a text, got {type(value).__name__}")
    if len(value) > limit:
        raise InvalidInputError(field, f"is {len(value)} characters long; at most {limit} are accepted")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidInputError(field, "is not valid Unicode text (a lone surrogate)") from error
    return value


def announce(
    parts: Components,
    coordination_id: str,
    agent_id: str,
    attempt: int,
    run_token: str,
    *,
    fraction: float | None = None,
    message: str = "",
    text: str = "",
) -> bool:
    """Record and announce one progress report (``fraction`` given) or one chunk of text; False when stale.

    Validated values only (see :func:`checked_fraction`, :func:`checked_text`).
    """
    kind = "progress" if fraction is not None else "stream"
    data: dict[str, Any] = {"agent_id": agent_id, "attempt": attempt}
    if fraction is not None:
        data.update(fraction=fraction, message=message)
        signal_type = SignalType.AGENT_PROGRESS
    else:
        data["text"] = text
        signal_type = SignalType.AGENT_STREAM
    values = parts.signals.prepare(
        coordination_id,
        {
            "event_type": signal_type,
            "event_data": data,
            "sender_agent_id": agent_id,
            "signal_id": f"{coordination_id}.{agent_id}.a{attempt}.{kind}",
        },
    )
    keys = parts.keys
    verdict, detail = script("agent_progress")(
        sync_client(),
        [],
        [
            keys.namespace_prefix,
            keys.coordination_prefix,
            now_ms(),
            coordination_id,
            agent_id,
            attempt,
            run_token,
            kind,
            "" if fraction is None else repr(fraction),
            message,
            text,
            STREAM_TAIL_BYTES,
            MAX_PROGRESS_EVENTS,
            parts.signals.max_history_size,
            *values,
        ],
    )
    if verdict == "stale":
        logger.info(
            "%s/%s attempt %s no longer holds its lease (%s): progress not recorded",
            coordination_id,
            agent_id,
            attempt,
            detail,
        )
        return False
    return True


__all__ = [
    "LIVE_ONLY_SIGNALS",
    "MAX_PROGRESS_MESSAGE_LENGTH",
    "MAX_STREAM_CHUNK_LENGTH",
    "announce",
    "checked_fraction",
    "checked_text",
]
