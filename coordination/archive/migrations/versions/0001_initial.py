"""Create the archive tables.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-28 02:26:50

Every table goes into the schema Alembic's version table lives in (``settings.database_schema``, set by env.py);
on SQLite there is no schema. On SQLite, JSONB is JSON and the CHECK constraints stand in for what PostgreSQL's
JSONB and UUID types enforce (they are not created on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = (
    "metrics",
    "dependency_events",
    "routing_decisions",
    "state_changes",
    "signals",
    "agent_runs",
    "coordinations",
)


def _schema() -> str | None:
    return op.get_context().version_table_schema


def _ts(name: str, nullable: bool = True) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _sqlite_checks(table: str, json_columns: Sequence[str], uuid_column: str | None = None) -> list[sa.CheckConstraint]:
    checks = []
    if uuid_column is not None:
        condition = f'length("{uuid_column}") = 32 AND "{uuid_column}" NOT GLOB \'*[^0-9a-f]*\''
        checks.append(sa.CheckConstraint(condition, name=f"ck_{table}_{uuid_column}"))
    for column in json_columns:
        checks.append(sa.CheckConstraint(f'"{column}" IS NULL OR json_valid("{column}")', name=f"ck_{table}_{column}"))
    return [check.ddl_if(dialect="sqlite") for check in checks]


def upgrade() -> None:
    """Create every table of the archive."""
    schema = _schema()
    jsonb = postgresql.JSONB().with_variant(sa.JSON(), "sqlite")
    op.create_table(
        "coordinations",
        sa.Column("coordination_id", sa.Text(), primary_key=True),
        sa.Column("namespace", sa.Text(), nullable=False, comment="Pipeline namespace the coordination ran in."),
        sa.Column("workflow", sa.Text(), nullable=False, comment="Workflow name."),
        sa.Column("status", sa.Text(), nullable=False, comment="running, completed or failed."),
        _ts("created_at"),
        _ts("finished_at"),
        sa.Column("error", sa.Text()),
        sa.Column("decisions", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column(
            "signals", sa.Integer(), nullable=False, server_default="0", comment="Signals emitted (Redis counter)."
        ),
        sa.Column("definition", jsonb, comment="The validated workflow declaration."),
        sa.Column("input", jsonb, comment="The input the coordination was submitted with."),
        sa.Column(
            "archived_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
            comment="When the archive last changed this row.",
        ),
        *_sqlite_checks("coordinations", ["definition", "input"]),
        schema=schema,
    )
    op.create_table(
        "agent_runs",
        sa.Column("coordination_id", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, comment="Index in the workflow's dependency order."),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("deliveries", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("task_id", sa.Text()),
        _ts("queued_at"),
        _ts("started_at"),
        _ts("finished_at"),
        sa.Column("quality", sa.Double()),
        sa.Column("decision", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("result", jsonb),
        sa.PrimaryKeyConstraint("coordination_id", "agent_id"),
        *_sqlite_checks("agent_runs", ["result"]),
        schema=schema,
    )
    op.create_table(
        "signals",
        sa.Column("coordination_id", sa.Text(), nullable=False),
        sa.Column("signal_id", sa.Text(), nullable=False),
        sa.Column("stream_id", sa.Text(), nullable=False, comment="Entry id in the coordination's Redis stream."),
        sa.Column("signal_type", sa.Text(), nullable=False),
        sa.Column("sender", sa.Text(), nullable=False),
        sa.Column("recipients", jsonb, nullable=False),
        _ts("created_at", nullable=False),
        _ts("sent_at", nullable=False),
        sa.Column("data", jsonb, nullable=False),
        sa.Column("meta", jsonb, nullable=False),
        sa.PrimaryKeyConstraint("coordination_id", "signal_id"),
        *_sqlite_checks("signals", ["recipients", "data", "meta"]),
        schema=schema,
    )
    op.create_table(
        "state_changes",
        sa.Column("namespace", sa.Text(), nullable=False, comment="ThreadSafeState namespace."),
        sa.Column("stream_id", sa.Text(), nullable=False, comment="Entry id in the namespace's change log."),
        sa.Column("coordination_id", sa.Text(), comment="Set for the state of one pipeline coordination."),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("old_value", jsonb, comment="For clear: every key and value before it."),
        sa.Column("new_value", jsonb),
        sa.Column("changed_by", sa.Text()),
        _ts("changed_at", nullable=False),
        sa.PrimaryKeyConstraint("namespace", "stream_id"),
        *_sqlite_checks("state_changes", ["old_value", "new_value"]),
        schema=schema,
    )
    op.create_index("ix_state_changes_coordination", "state_changes", ["coordination_id"], schema=schema)
    op.create_table(
        "routing_decisions",
        sa.Column("routing_id", sa.Uuid(), primary_key=True),
        sa.Column("coordination_id", sa.Text(), comment="The routing context's correlation id."),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("stream_id", sa.Text(), nullable=False),
        _ts("decided_at", nullable=False),
        sa.Column("task", sa.Text(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("strategy", sa.Text(), nullable=False),
        sa.Column("record", jsonb, nullable=False, comment="The whole RoutingHistoryRecord."),
        *_sqlite_checks("routing_decisions", ["record"], uuid_column="routing_id"),
        schema=schema,
    )
    op.create_index("ix_routing_decisions_coordination", "routing_decisions", ["coordination_id"], schema=schema)
    op.create_table(
        "dependency_events",
        sa.Column("coordination_id", sa.Text(), nullable=False),
        sa.Column("dependency_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, comment="pending, resolved, failed or timeout."),
        sa.Column("agent_id", sa.Text(), comment="The agent waiting for it."),
        sa.Column("dependency_type", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        _ts("registered_at"),
        _ts("resolved_at"),
        sa.Column("resolved_by", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("wait_ms", sa.Double()),
        sa.Column("metadata", jsonb),
        sa.PrimaryKeyConstraint("coordination_id", "dependency_id", "status"),
        *_sqlite_checks("dependency_events", ["metadata"]),
        schema=schema,
    )
    op.create_table(
        "metrics",
        sa.Column("metric_id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("metric_type", sa.Text(), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("tags", jsonb, nullable=False),
        _ts("recorded_at", nullable=False),
        sa.Column("correlation_id", sa.Text()),
        sa.Column("agent_id", sa.Text()),
        sa.Column("stream_id", sa.Text(), nullable=False),
        *_sqlite_checks("metrics", ["tags"]),
        schema=schema,
    )
    op.create_index("ix_metrics_name_recorded_at", "metrics", ["name", "recorded_at"], schema=schema)


def downgrade() -> None:
    """Drop every table of the archive (and its history with it)."""
    schema = _schema()
    for name in _TABLES:
        op.drop_table(name, schema=schema)
