r"""Archive rows built from what Redis holds: stream entries and pipeline records (no I/O here).

Payloads stay JSON text from Redis to PostgreSQL (see :class:`coordination.archive.tables.JsonText`); only what a
column needs is decoded. PostgreSQL refuses NUL characters in text and ``\\u0000`` in JSONB, which Redis and
JSON accept, so both are replaced by U+FFFD rather than letting one value block its whole batch forever.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from coordination.models.state import cleared_values
from coordination.routing import history_format

Row = dict[str, Any]

_REPLACEMENT = "\ufffd"


def text(value: str | None) -> str | None:
    """A text column value: ``None`` stays ``None``; NUL characters are replaced."""
    if value is None:
        return None
    return value.replace("\x00", _REPLACEMENT) if "\x00" in value else value


def json_text(raw: str | None) -> str | None:
    """A JSONB column value from JSON text (passed through unless it holds an escaped NUL)."""
    if raw is None:
        return None
    if "\\u0000" not in raw:
        return raw
    return json.dumps(_without_nul(json.loads(raw)), ensure_ascii=False, separators=(",", ":"))


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return text(value)
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {text(key): _without_nul(item) for key, item in value.items()}
    return value


def from_ms(value: str | None) -> datetime | None:
    """A timestamp from milliseconds since the epoch ('' and None give None)."""
    if not value:
        return None
    return datetime.fromtimestamp(float(value) / 1000, UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _int(value: str | None) -> int:
    return int(float(value)) if value else 0


def _float(value: str | None) -> float | None:
    return float(value) if value else None


# -- stream entries --------------------------------------------------------------------------------------------


def signal_row(coordination_id: str, entry_id: str, fields: dict[str, str]) -> Row:
    """A ``signals`` row from one entry of a coordination's signal stream (see coordination/streams.py)."""
    return {
        "coordination_id": coordination_id,
        "signal_id": text(fields["id"]),
        "stream_id": entry_id,
        "signal_type": fields["type"],
        "sender": text(fields["sender"]),
        "recipients": json_text(fields["to"]),
        "created_at": _aware(datetime.fromisoformat(fields["ts"])),
        "sent_at": datetime.fromtimestamp(float(fields["sent"]), UTC),
        "data": json_text(fields["data"]),
        "meta": json_text(fields["meta"]),
    }


def state_change_row(namespace: str, coordination_id: str | None, entry_id: str, fields: dict[str, str]) -> Row:
    """A ``state_changes`` row from one change-log entry (see coordination/store/lua/state_write.lua)."""
    operation = fields["op"]
    if operation == "clear":
        # The entry holds every key before the clear (see cleared_values); their values already are JSON.
        old: str | None = (
            "{"
            + ",".join(f"{json.dumps(key, ensure_ascii=False)}:{raw}" for key, raw in cleared_values(fields).items())
            + "}"
        )
    else:
        old = fields.get("old")
    return {
        "namespace": namespace,
        "stream_id": entry_id,
        "coordination_id": coordination_id,
        "version": int(fields["v"]),
        "key": text(fields["k"]),
        "operation": operation,
        "old_value": json_text(old),
        "new_value": json_text(fields.get("new")),
        "changed_by": text(fields.get("by")) or None,
        "changed_at": from_ms(fields["ts"]),
    }


def routing_row(namespace: str, entry_id: str, fields: dict[str, str]) -> Row:
    """A ``routing_decisions`` row from one routing-history entry (format: coordination/routing/history_format.py).

    Raises:
        ValueError: the entry holds no valid record (the writer logs and skips it).
    """
    record = history_format.decode(fields)
    correlation = record.context.correlation_id
    return {
        "routing_id": str(record.routing_id),
        "coordination_id": text(correlation) if isinstance(correlation, str) else None,
        "namespace": namespace,
        "stream_id": entry_id,
        "decided_at": _aware(record.timestamp),
        "task": text(record.context.current_task),
        "decision": record.result.decision.value,
        "strategy": record.result.strategy.value,
        "record": json_text(history_format.record_text(fields)),
    }


def metric_row(entry_id: str, fields: dict[str, str]) -> Row:
    """A ``metrics`` row from one metrics-stream entry (``metric`` is ``Metric.model_dump_json()``)."""
    metric = json.loads(fields["metric"])
    return {
        "metric_id": text(metric["metric_id"]),
        "name": text(metric["metric_name"]),
        "metric_type": metric["metric_type"],
        "value": float(metric["value"]),
        "unit": text(metric["unit"]),
        "tags": json_text(json.dumps(metric.get("tags") or {}, ensure_ascii=False, separators=(",", ":"))),
        "recorded_at": _aware(datetime.fromisoformat(metric["timestamp"])),
        "correlation_id": text(metric.get("correlation_id")),
        "agent_id": text(metric.get("agent_id")),
        "stream_id": entry_id,
    }


# -- pipeline records ------------------------------------------------------------------------------------------


def coordination_row(
    namespace: str,
    coordination_id: str,
    meta: dict[str, str],
    signals_sent: int,
    definition: str | None,
    input_json: str | None,
) -> Row:
    """A ``coordinations`` row from the coordination's ``meta`` hash (see pipeline_create.lua, agent_settle.lua)."""
    return {
        "coordination_id": coordination_id,
        "namespace": namespace,
        "workflow": text(meta.get("name", "")),
        "status": meta.get("status", "unknown"),
        "created_at": from_ms(meta.get("created_ms")),
        "finished_at": from_ms(meta.get("finished_ms")),
        "error": text(meta.get("error")) or None,
        "decisions": _int(meta.get("decisions")),
        "failures": _int(meta.get("failures")),
        "signals": signals_sent,
        "definition": json_text(definition),
        "input": json_text(input_json),
    }


def agent_row(coordination_id: str, agent_id: str, position: int, record: dict[str, str]) -> Row:
    """An ``agent_runs`` row from an ``agent:<id>`` hash (see agent_lib.lua)."""
    return {
        "coordination_id": coordination_id,
        "agent_id": agent_id,
        "position": position,
        "status": record.get("status", "unknown"),
        "attempts": _int(record.get("attempt")),
        # Deliveries that ran the attempt: the first, and one per expired lease taken over.
        "deliveries": _int(record.get("takeovers")) + (1 if record.get("started_ms") else 0),
        "task_id": text(record.get("task_id")) or None,
        "queued_at": from_ms(record.get("queued_ms")),
        "started_at": from_ms(record.get("started_ms")),
        "finished_at": from_ms(record.get("finished_ms")),
        "quality": _float(record.get("quality")),
        "decision": record.get("decision") or None,
        "error": text(record.get("error")) or None,
        "result": json_text(record.get("result")) or None,
        "traceback": text(record.get("traceback")) or None,
    }


def log_row(coordination_id: str, entry_id: str, fields: dict[str, str]) -> Row:
    """An ``agent_logs`` row from one entry of a coordination's log stream (see agent_settle.lua)."""
    return {
        "coordination_id": coordination_id,
        "stream_id": entry_id,
        "agent_id": text(fields["agent"]),
        "attempt": int(fields["attempt"]),
        "logged_at": datetime.fromtimestamp(float(fields["ts"]), UTC),
        "level": text(fields["level"]),
        "message": text(fields["msg"]),
    }


def dependency_rows(coordination_id: str, record: dict[str, str]) -> list[Row]:
    """``dependency_events`` rows of one ``dep:<id>`` hash (see deps_lib.lua).

    Its registration (a ``pending`` row) and, once settled, its settlement (``resolved``, ``failed``, ``timeout``).
    """
    status = record.get("status", "pending")
    registered = from_ms(record.get("registered_ms"))
    base: Row = {
        "coordination_id": coordination_id,
        "dependency_id": record["id"],
        "agent_id": record.get("owner") or None,
        "dependency_type": record.get("type", "unknown"),
        "target": text(record.get("target", "")),
        "registered_at": registered,
        "metadata": json_text(record.get("metadata")) or None,
    }
    rows = [{**base, "status": "pending", "resolved_at": None, "resolved_by": None, "error": None, "wait_ms": None}]
    resolved_ms = record.get("resolved_ms")
    if status != "pending":
        wait = (
            (float(resolved_ms) - float(record["registered_ms"]))
            if resolved_ms and record.get("registered_ms")
            else None
        )
        rows.append(
            {
                **base,
                "status": status,
                "resolved_at": from_ms(resolved_ms),
                "resolved_by": text(record.get("resolved_by")) or None,
                "error": text(record.get("error")) or None,
                "wait_ms": wait,
            }
        )
    return rows


def approval_rows(coordination_id: str, verdicts: dict[str, str]) -> list[Row]:
    """``approvals`` rows of a coordination's recorded verdicts (its ``approvals`` hash: gate -> JSON)."""
    rows: list[Row] = []
    for gate, raw in sorted(verdicts.items()):
        verdict = json.loads(raw)
        rows.append(
            {
                "coordination_id": coordination_id,
                "gate": gate,
                "verdict": text(str(verdict["verdict"])),
                "decided_by": text(str(verdict["by"])),
                "decided_at": from_ms(str(verdict["at_ms"])),
                "note": text(verdict.get("note")),
            }
        )
    return rows
