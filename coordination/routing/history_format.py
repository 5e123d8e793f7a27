"""The routing-history stream format (pure): field names, encoding and decoding of one entry.

A namespace's routing stream (``Keys.routing_history``) holds one entry per decision. Whoever writes it (the
orchestrator's ``persist_history``, and the pipeline, which hands the fields of ``take_unpersisted`` to
``agent_settle.lua``) and whoever reads it (``read_persisted_history``, the archive, ``coord history``) goes through
this module. An entry's fields, in :data:`FIELDS` order:

========== ================================================================================================
routing_id the decision's id (UUID text)
ts         when it was decided (ISO 8601, UTC)
task       the routed task (``context.current_task``)
decision   the decision's value (``continue``, ``retry``, ...)
strategy   the winning router's strategy value
record     the whole :class:`~coordination.models.routing.RoutingHistoryRecord` as JSON (the archive's ``record``)
========== ================================================================================================

``record`` is the source of truth; the other fields repeat parts of it so that a reader of the raw stream
(``redis-cli XRANGE``, a Lua script) need not decode JSON. Values JSON cannot carry in the record's free-form parts
(``custom_data``, ``state_summary``, ``metadata``) are stored as their text; a free-form part the JSON encoder
refuses as a whole (too deep, a number too large to be read back exactly) is replaced by a note saying why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic_core import to_jsonable_python

from coordination import jsonutil
from coordination.errors import InvalidInputError
from coordination.models.routing import RoutingHistoryRecord

ROUTING_ID: Final = "routing_id"
TIMESTAMP: Final = "ts"
TASK: Final = "task"
DECISION: Final = "decision"
STRATEGY: Final = "strategy"
RECORD: Final = "record"
#: Every field of an entry, in the order ``agent_settle.lua`` receives them.
FIELDS: Final = (ROUTING_ID, TIMESTAMP, TASK, DECISION, STRATEGY, RECORD)


def encode(record: RoutingHistoryRecord) -> dict[str, str]:
    """Return the stream fields of ``record``.

    Raises:
        InvalidInputError: the record cannot be written even with its free-form parts replaced (its task or
            reasoning holds text that is not valid Unicode, such as a lone surrogate).
    """
    fields = {
        ROUTING_ID: str(record.routing_id),
        TIMESTAMP: record.timestamp.isoformat(),
        TASK: record.context.current_task,
        DECISION: record.result.decision.value,
        STRATEGY: record.result.strategy.value,
    }
    for name, value in fields.items():
        try:
            value.encode("utf-8")  # what Redis will do; refused here, before anything is written
        except UnicodeEncodeError:
            raise InvalidInputError(name, "holds text that is not valid Unicode (a lone surrogate)") from None
    fields[RECORD] = _record_json(record)  # (checked by the one JSON rule)
    return fields


def decode(fields: Mapping[str, str]) -> RoutingHistoryRecord:
    """Return the record of one stream entry.

    Raises:
        ValueError: the entry has no record, or its record is not a valid ``RoutingHistoryRecord`` (a
            ``pydantic.ValidationError`` is a ``ValueError``).
    """
    try:
        text = fields[RECORD]
    except KeyError:
        raise ValueError(f"routing history entry without a {RECORD!r} field") from None
    return decode_record(text)


def decode_record(value: str | bytes | Mapping[str, Any]) -> RoutingHistoryRecord:
    """Return the record from its JSON text, or from that JSON already decoded (the archive's ``record`` column).

    Raises:
        ValueError: not a valid ``RoutingHistoryRecord``.
    """
    if isinstance(value, str | bytes):
        return RoutingHistoryRecord.model_validate_json(value)
    return RoutingHistoryRecord.model_validate(value)


def record_text(fields: Mapping[str, str]) -> str:
    """Return the record of one stream entry as the JSON text it was stored as (what the archive keeps).

    Raises:
        KeyError: the entry has no record.
    """
    return fields[RECORD]


def _record_json(record: RoutingHistoryRecord) -> str:
    try:
        return jsonutil.dumps(record.model_dump(mode="json", fallback=_as_text), RECORD)
    except (ValueError, RecursionError):  # InvalidInputError is a ValueError; so is pydantic's depth error
        pass
    # A free-form part JSON writers refuse (too deep, a number too large to read back exactly): keep the
    # decision, and say in that part's place why it is missing.
    context, result = record.context, record.result
    context = context.model_copy(
        update={
            "custom_data": _portable(context.custom_data, "context.custom_data"),
            "state_summary": _portable(context.state_summary, "context.state_summary"),
        }
    )
    result = result.model_copy(update={"metadata": _portable(result.metadata, "result.metadata")})
    kept = record.model_copy(update={"context": context, "result": result})
    return jsonutil.dumps(kept.model_dump(mode="json", fallback=_as_text), RECORD)


def _portable(part: dict[str, Any], field: str) -> dict[str, Any]:
    try:
        jsonutil.dumps(to_jsonable_python(part, fallback=_as_text), field)
    except (ValueError, RecursionError) as error:
        return {"not_stored": f"{type(error).__name__}: {error}"}
    return part


def _as_text(value: Any) -> str:
    # Objects JSON cannot carry (in custom data or metadata) are kept as their text rather than lost.
    try:
        return str(value)
    except Exception:  # an object whose str() fails still says what it was
        return f"<{type(value).__name__}>"
