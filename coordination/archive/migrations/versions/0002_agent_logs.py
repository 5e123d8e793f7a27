"""Agent log lines and tracebacks.

Revision ID: 0002_agent_logs
Revises: 0001_initial
Create Date: 2026-12-03 13:30:00

``agent_logs`` keeps every ``run.log`` line and the traceback of every failed attempt (level ``TRACEBACK``);
``agent_runs.traceback`` the last failed attempt's traceback, as ``coord status`` shows it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_agent_logs"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _schema() -> str | None:
    return op.get_context().version_table_schema


def upgrade() -> None:
    """Add ``agent_runs.traceback`` and the ``agent_logs`` table."""
    schema = _schema()
    op.add_column(
        "agent_runs",
        sa.Column("traceback", sa.Text(), comment="Formatted traceback of the last failed attempt (bounded)."),
        schema=schema,
    )
    op.create_table(
        "agent_logs",
        sa.Column("coordination_id", sa.Text(), nullable=False),
        sa.Column("stream_id", sa.Text(), nullable=False, comment="Entry id in the coordination's Redis log stream."),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "level",
            sa.Text(),
            nullable=False,
            comment="A logging level name, or TRACEBACK for a failed attempt's traceback.",
        ),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("coordination_id", "stream_id"),
        schema=schema,
    )


def downgrade() -> None:
    """Drop ``agent_logs`` and ``agent_runs.traceback``."""
    schema = _schema()
    op.drop_table("agent_logs", schema=schema)
    op.drop_column("agent_runs", "traceback", schema=schema)
