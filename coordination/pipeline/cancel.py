"""Ending a running coordination on request (``coord cancel``, an interrupted demo)."""

from __future__ import annotations

from dataclasses import dataclass

from coordination.errors import CoordinationNotFoundError, InvalidInputError
from coordination.ids import validate_id
from coordination.pipeline.components import Components, components
from coordination.pipeline.dispatch import Dispatcher

#: Longest accepted cancellation reason (it is stored on the coordination and every cancelled agent).
MAX_REASON_LENGTH = 500


@dataclass(frozen=True)
class Cancellation:
    """What :func:`cancel_coordination` did.

    Attributes:
        cancelled: True when this call ended the coordination; False when it had already finished.
        status: the coordination's status after the call (``cancelled`` when cancelled).
        skipped: agents that had not started and will not (waiting, queued, retrying, in workflow order); their
            status is ``cancelled``.
        running: agents whose attempt was running: it finishes and its outcome is recorded, but nothing starts
            after it.
    """

    cancelled: bool
    status: str
    skipped: list[str]
    running: list[str]


def cancel_coordination(
    coordination_id: str, reason: str = "cancelled by request", parts: Components | None = None
) -> Cancellation:
    """End a running coordination now: it becomes ``cancelled``, with ``error = "cancelled: <reason>"``.

    Agents that have not started become ``cancelled``; running attempts finish (an agent task cannot be stopped
    safely from outside) and their outcome is recorded, but no agent starts after them and no retry is sent.
    Workers refuse any message of the coordination that is still queued. A ``coordination_finished`` signal
    announces the end. Calling it again, or on a finished coordination, changes nothing. Everything is checked
    before anything is written.

    Raises:
        InvalidIdError: ``coordination_id`` cannot be a coordination id.
        InvalidInputError: ``reason`` is blank or longer than 500 characters.
        CoordinationNotFoundError: Redis holds no coordination of that id (never submitted, or expired after it
            finished); it is a ``KeyError``.
        StoreUnavailableError: Redis could not be reached.
    """
    validate_id(coordination_id, "coordination_id")
    if not isinstance(reason, str) or len(reason) > MAX_REASON_LENGTH:
        shown = reason[:60] if isinstance(reason, str) else type(reason).__name__
        raise InvalidInputError("reason", f"must be a text of at most {MAX_REASON_LENGTH} characters, got {shown!r}")
    if not reason.strip():
        raise InvalidInputError("reason", "is blank; say why the coordination is cancelled")
    dispatcher = Dispatcher(parts or components())
    finished = dispatcher.finished_signal(coordination_id)  # builds (and so checks) every id before any write
    if dispatcher.records.status(coordination_id) is None:
        raise CoordinationNotFoundError(
            coordination_id,
            f"in Redis: never submitted, or finished and expired after it was archived (`coord status "
            f"{coordination_id}` reads the archive); only a running one can be cancelled",
        )
    error = f"cancelled: {reason.strip()}"
    ended = dispatcher.records.end(
        coordination_id,
        "cancelled",
        error,
        agent_status="cancelled",
        history=dispatcher.parts.signals.max_history_size,
        finished=finished,
    )
    return Cancellation(ended.ended, ended.status, ended.closed, ended.running)
