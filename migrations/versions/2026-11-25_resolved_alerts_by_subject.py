"""Resolved alerts are found by subject and rule without scanning them all.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 01:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alerts_resolved_subject_rule",
            ["subject_key", "rule", "resolved_at"],
            unique=False,
            sqlite_where=sa.text("status = 'resolved'"),
            postgresql_where=sa.text("status = 'resolved'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_alerts_resolved_subject_rule",
            sqlite_where=sa.text("status = 'resolved'"),
            postgresql_where=sa.text("status = 'resolved'"),
        )
