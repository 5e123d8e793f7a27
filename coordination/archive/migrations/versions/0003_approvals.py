"""Approval verdicts.

Revision ID: 0003_approvals
Revises: 0002_agent_logs
Create Date: 2026-12-10 10:00:00

``approvals`` keeps each verdict on an approval gate of a coordination: approved or rejected, by whom, when, and
its note. Who may approve and whether a gate timed out stay in ``dependency_events`` (its metadata and statuses).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_approvals"
down_revision: str | Sequence[str] | None = "0002_agent_logs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _schema() -> str | None:
    return op.get_context().version_table_schema


def upgrade() -> None:
    """Create the ``approvals`` table."""
    op.create_table(
        "approvals",
        sa.Column("coordination_id", sa.Text(), nullable=False),
        sa.Column(
            "gate", sa.Text(), nullable=False, comment="The approval gate (the target of its approval dependencies)."
        ),
        sa.Column("verdict", sa.Text(), nullable=False, comment="approved or rejected."),
        sa.Column("decided_by", sa.Text(), nullable=False, comment="Who gave the verdict (free text)."),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text()),
        sa.PrimaryKeyConstraint("coordination_id", "gate"),
        schema=_schema(),
    )


def downgrade() -> None:
    """Drop the ``approvals`` table."""
    op.drop_table("approvals", schema=_schema())
