"""The archive's tables (SQLAlchemy Core), each with the natural key its idempotent upserts conflict on.

The tables carry no schema: the engine maps them to ``settings.database_schema`` (``schema_translate_map``), so
one definition serves every deployment and every test schema. There are no foreign keys between them on
purpose: a batch may hold a coordination's signals before its coordination row, and the archive never deletes.

=================== ======================================= ==================================================
table               natural key (primary key)               written
=================== ======================================= ==================================================
coordinations       coordination_id                         every run while running, once more when finished
agent_runs          coordination_id, agent_id               with its coordination
signals             coordination_id, signal_id              once (insert, conflicts ignored)
state_changes       namespace, stream_id                    once
routing_decisions   routing_id                              once
dependency_events   coordination_id, dependency_id, status  one row per observed status (pending, resolved...)
approvals           coordination_id, gate                   once its verdict is given (with its coordination)
metrics             metric_id                               once
=================== ======================================= ==================================================

Payloads are JSONB. :class:`JsonText` columns take the JSON text exactly as Redis holds it, so the writer never
decodes and re-encodes a payload it only moves.

The same tables serve SQLite (the embedded demo mode). What PostgreSQL has and SQLite lacks is made up for by
SQLite-only variants, so the PostgreSQL types, DDL and hot path are untouched:

- JSONB becomes SQLite's JSON (text), with a ``CHECK (json_valid(...))`` so that, as on PostgreSQL, a value that
  is not JSON is refused at insert instead of failing every later read;
- ``timestamptz`` becomes :class:`UtcDateTime`: stored as UTC text, always read back as an aware UTC datetime;
- UUID becomes :class:`UuidText` (32 hex digits, checked), read back as :class:`uuid.UUID` as on PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CHAR,
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Double,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class JsonText(TypeDecorator[Any]):
    """A JSON column whose bound values are JSON *text* (sent as is); reads give Python values.

    JSONB on PostgreSQL (which casts the text), JSON on SQLite (which stores it). The usual JSON types serialise
    Python objects; the archive's payloads already are JSON, so passing the text through saves a decode and an
    encode per value on the hot path.
    """

    impl = JSONB
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """JSONB, or JSON on SQLite."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(JSON())
        return super().load_dialect_impl(dialect)

    def bind_processor(self, dialect: Dialect) -> None:
        """No processing: the value is already JSON text."""
        return None


class UtcDateTime(TypeDecorator[datetime]):
    """SQLite's stand-in for ``timestamptz``: UTC text in, aware UTC datetimes out.

    SQLite has no time zones: SQLAlchemy's SQLite ``DATETIME`` writes the wall-clock digits of any datetime and
    reads back naive ones. Converting every value to UTC first keeps the stored text comparable (ordering by it
    is chronological) and lets reads give back aware datetimes, as PostgreSQL does.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """An aware datetime becomes naive UTC; a naive one is taken as UTC already."""
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Stored values are UTC."""
        return None if value is None else value.replace(tzinfo=UTC)


class UuidText(TypeDecorator[uuid.UUID]):
    """SQLite's stand-in for UUID: 32 lowercase hex digits, from a UUID or its text; read back as a UUID.

    Text that is not a UUID is passed on unchanged, for the table's CHECK to refuse it, as PostgreSQL refuses it
    (an error raised here instead would fail the whole batch, not just its row).
    """

    impl = CHAR(32)
    cache_ok = True

    def process_bind_param(self, value: uuid.UUID | str | None, dialect: Dialect) -> str | None:
        """The UUID's 32 hex digits."""
        if value is None or isinstance(value, uuid.UUID):
            return None if value is None else value.hex
        try:
            return uuid.UUID(value).hex
        except ValueError:
            return value

    def process_result_value(self, value: str | None, dialect: Dialect) -> uuid.UUID | None:
        """A :class:`uuid.UUID`."""
        return None if value is None else uuid.UUID(value)


metadata = MetaData()


def _timestamp() -> TypeEngine[datetime]:
    return DateTime(timezone=True).with_variant(UtcDateTime(), "sqlite")


def _ts(name: str, nullable: bool = True) -> Column[Any]:
    return Column(name, _timestamp(), nullable=nullable)


coordinations = Table(
    "coordinations",
    metadata,
    Column("coordination_id", Text, primary_key=True),
    Column("namespace", Text, nullable=False, comment="Pipeline namespace the coordination ran in."),
    Column("workflow", Text, nullable=False, comment="Workflow name."),
    Column("status", Text, nullable=False, comment="running, completed or failed."),
    _ts("created_at"),
    _ts("finished_at"),
    Column("error", Text),
    Column("decisions", Integer, nullable=False, server_default="0"),
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("signals", Integer, nullable=False, server_default="0", comment="Signals emitted (Redis counter)."),
    Column("definition", JsonText, comment="The validated workflow declaration."),
    Column("input", JsonText, comment="The input the coordination was submitted with."),
    Column(
        "archived_at",
        _timestamp(),
        nullable=False,
        server_default=func.now(),
        comment="When the archive last changed this row.",
    ),
)

agent_runs = Table(
    "agent_runs",
    metadata,
    Column("coordination_id", Text, nullable=False),
    Column("agent_id", Text, nullable=False),
    Column("position", Integer, nullable=False, comment="Index in the workflow's dependency order."),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("deliveries", Integer, nullable=False, server_default="0"),
    Column("task_id", Text),
    _ts("queued_at"),
    _ts("started_at"),
    _ts("finished_at"),
    Column("quality", Double),
    Column("decision", Text),
    Column("error", Text),
    Column("result", JsonText),
    Column("traceback", Text, comment="Formatted traceback of the last failed attempt (bounded)."),
    PrimaryKeyConstraint("coordination_id", "agent_id"),
)

agent_logs = Table(
    "agent_logs",
    metadata,
    Column("coordination_id", Text, nullable=False),
    Column("stream_id", Text, nullable=False, comment="Entry id in the coordination's Redis log stream."),
    Column("agent_id", Text, nullable=False),
    Column("attempt", Integer, nullable=False),
    _ts("logged_at", nullable=False),
    Column(
        "level", Text, nullable=False, comment="A logging level name, or TRACEBACK for a failed attempt's traceback."
    ),
    Column("message", Text, nullable=False),
    PrimaryKeyConstraint("coordination_id", "stream_id"),
)

signals = Table(
    "signals",
    metadata,
    Column("coordination_id", Text, nullable=False),
    Column("signal_id", Text, nullable=False),
    Column("stream_id", Text, nullable=False, comment="Entry id in the coordination's Redis stream."),
    Column("signal_type", Text, nullable=False),
    Column("sender", Text, nullable=False),
    Column("recipients", JsonText, nullable=False),
    _ts("created_at", nullable=False),
    _ts("sent_at", nullable=False),
    Column("data", JsonText, nullable=False),
    Column("meta", JsonText, nullable=False),
    PrimaryKeyConstraint("coordination_id", "signal_id"),
)

state_changes = Table(
    "state_changes",
    metadata,
    Column("namespace", Text, nullable=False, comment="ThreadSafeState namespace."),
    Column("stream_id", Text, nullable=False, comment="Entry id in the namespace's change log."),
    Column("coordination_id", Text, comment="Set for the state of one pipeline coordination."),
    Column("version", BigInteger, nullable=False),
    Column("key", Text, nullable=False),
    Column("operation", Text, nullable=False),
    Column("old_value", JsonText, comment="For clear: every key and value before it."),
    Column("new_value", JsonText),
    Column("changed_by", Text),
    _ts("changed_at", nullable=False),
    PrimaryKeyConstraint("namespace", "stream_id"),
    Index("ix_state_changes_coordination", "coordination_id"),
)

routing_decisions = Table(
    "routing_decisions",
    metadata,
    Column("routing_id", Uuid().with_variant(UuidText(), "sqlite"), primary_key=True),
    Column("coordination_id", Text, comment="The routing context's correlation id."),
    Column("namespace", Text, nullable=False),
    Column("stream_id", Text, nullable=False),
    _ts("decided_at", nullable=False),
    Column("task", Text, nullable=False),
    Column("decision", Text, nullable=False),
    Column("strategy", Text, nullable=False),
    Column("record", JsonText, nullable=False, comment="The whole RoutingHistoryRecord."),
    Index("ix_routing_decisions_coordination", "coordination_id"),
)

dependency_events = Table(
    "dependency_events",
    metadata,
    Column("coordination_id", Text, nullable=False),
    Column("dependency_id", Text, nullable=False),
    Column("status", Text, nullable=False, comment="pending, resolved, failed or timeout."),
    Column("agent_id", Text, comment="The agent waiting for it."),
    Column("dependency_type", Text, nullable=False),
    Column("target", Text, nullable=False),
    _ts("registered_at"),
    _ts("resolved_at"),
    Column("resolved_by", Text),
    Column("error", Text),
    Column("wait_ms", Double),
    Column("metadata", JsonText),
    PrimaryKeyConstraint("coordination_id", "dependency_id", "status"),
)

approvals = Table(
    "approvals",
    metadata,
    Column("coordination_id", Text, nullable=False),
    Column("gate", Text, nullable=False, comment="The approval gate (the target of its approval dependencies)."),
    Column("verdict", Text, nullable=False, comment="approved or rejected."),
    Column("decided_by", Text, nullable=False, comment="Who gave the verdict (free text)."),
    _ts("decided_at", nullable=False),
    Column("note", Text),
    PrimaryKeyConstraint("coordination_id", "gate"),
)

metrics = Table(
    "metrics",
    metadata,
    Column("metric_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("metric_type", Text, nullable=False),
    Column("value", Double, nullable=False),
    Column("unit", Text, nullable=False),
    Column("tags", JsonText, nullable=False),
    _ts("recorded_at", nullable=False),
    Column("correlation_id", Text),
    Column("agent_id", Text),
    Column("stream_id", Text, nullable=False),
    Index("ix_metrics_name_recorded_at", "name", "recorded_at"),
)


def _sqlite_checks(table: Table) -> list[CheckConstraint]:
    """The CHECK constraints a table gets on SQLite only: what PostgreSQL's JSONB and UUID types enforce."""
    checks = []
    for column in table.columns:
        if isinstance(column.type, JsonText):
            # json_valid(NULL) is 0, not NULL: a NULL must be let through explicitly.
            condition = f'"{column.name}" IS NULL OR json_valid("{column.name}")'
        elif isinstance(column.type, Uuid):
            condition = f'length("{column.name}") = 32 AND "{column.name}" NOT GLOB \'*[^0-9a-f]*\''
        else:
            continue
        checks.append(CheckConstraint(condition, name=f"ck_{table.name}_{column.name}").ddl_if(dialect="sqlite"))
    return checks


for _table in metadata.sorted_tables:
    for _check in _sqlite_checks(_table):
        _table.append_constraint(_check)

#: The natural key of every table (what an upsert conflicts on).
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    table.name: tuple(column.name for column in table.primary_key.columns) for table in metadata.sorted_tables
}
