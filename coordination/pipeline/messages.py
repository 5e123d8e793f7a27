"""The agent task message: ``coordination_id``, ``agent_id``, ``attempt`` — checked before anything is read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from coordination.errors import CoordinationError, InvalidInputError
from coordination.ids import validate_id

FIELDS = ("coordination_id", "agent_id", "attempt")
#: Highest attempt number a message may carry (1 + the largest max_retry_attempts, with room to spare).
MAX_ATTEMPT = 1000


class MalformedMessage(CoordinationError, ValueError):
    """An agent task message no sender of ours would write; the task ends in FAILURE with this, nothing is run.

    One plain message argument, so Celery can rebuild it from its JSON form (and log it as expected).
    """


class AgentMessage(NamedTuple):
    """A checked agent task message."""

    coordination_id: str
    agent_id: str
    attempt: int


def parse_agent_message(args: Sequence[Any], kwargs: Mapping[str, Any]) -> AgentMessage:
    """Check an agent task's arguments: keyword (what we send) or positional (older senders), never both ways.

    Raises:
        InvalidInputError: names what is wrong: arity, an unknown keyword, an id that cannot be a key, an attempt
            that is not a whole number from 1 to 1000 (``1.9`` or ``"2"`` are refused, never truncated).
    """
    unknown = sorted(set(kwargs) - set(FIELDS))
    if unknown:
        raise InvalidInputError(unknown[0], f"is not an argument of an agent task (expected {', '.join(FIELDS)})")
    if len(args) > len(FIELDS):
        raise InvalidInputError("args", f"an agent task takes 3 arguments, got {len(args)} positional")
    values = dict(zip(FIELDS, args, strict=False))
    twice = sorted(set(values) & set(kwargs))
    if twice:
        raise InvalidInputError(twice[0], "was given both as a positional and as a keyword argument")
    values.update(kwargs)
    missing = [name for name in FIELDS if name not in values]
    if missing:
        raise InvalidInputError(missing[0], "is missing from the agent task's arguments")
    attempt = values["attempt"]
    if isinstance(attempt, bool) or not isinstance(attempt, int) or not 1 <= attempt <= MAX_ATTEMPT:
        raise InvalidInputError("attempt", f"must be a whole number from 1 to {MAX_ATTEMPT}, got {attempt!r:.40}")
    return AgentMessage(
        validate_id(values["coordination_id"], "coordination_id"), validate_id(values["agent_id"], "agent_id"), attempt
    )
