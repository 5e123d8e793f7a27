"""Archive rows name their deployment: ``<COORD_NAMESPACE>/<namespace>``.

Revision ID: 0004_archive_namespaces
Revises: 0003_approvals
Create Date: 2026-12-03 16:40:00

Before this revision the ``namespace`` of ``coordinations``, ``routing_decisions`` and ``state_changes`` rows was
the pipeline (or state) namespace alone, so two deployments (two ``COORD_NAMESPACE`` roots) archiving into one
database listed, and marked ``lost``, each other's coordinations. Rows are qualified with the root of the settings
the migration runs with: the rows of other roots cannot be told apart afterwards and keep their old value (they no
longer show up in any deployment's lists; ``coord status`` of such an old coordination says it is not archived).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from config.settings import get_settings

revision: str = "0004_archive_namespaces"
down_revision: str | Sequence[str] | None = "0003_approvals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _table(name: str) -> sa.TableClause:
    return sa.table(name, sa.column("namespace", sa.Text), schema=op.get_context().version_table_schema)


def upgrade() -> None:
    """Prefix the unqualified namespaces of this deployment's rows with its root."""
    settings = get_settings()
    root, pipeline = settings.namespace, settings.pipeline_namespace
    for name in ("coordinations", "routing_decisions"):
        table = _table(name)
        op.execute(table.update().where(table.c.namespace == pipeline).values(namespace=f"{root}/{pipeline}"))
    # State namespaces: the pipeline's own and each coordination's "<pipeline>.<cid>".
    table = _table("state_changes")
    op.execute(
        table.update()
        .where(sa.or_(table.c.namespace == pipeline, table.c.namespace.startswith(f"{pipeline}.")))
        .values(namespace=sa.literal(f"{root}/") + table.c.namespace)
    )


def downgrade() -> None:
    """Drop the root again from this deployment's rows."""
    settings = get_settings()
    prefix = f"{settings.namespace}/"
    for name in ("coordinations", "routing_decisions", "state_changes"):
        table = _table(name)
        op.execute(
            table.update()
            .where(table.c.namespace.startswith(prefix))
            .values(namespace=sa.func.substr(table.c.namespace, len(prefix) + 1))
        )
