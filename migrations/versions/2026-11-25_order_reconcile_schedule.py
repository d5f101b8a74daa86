"""Orders carry when the rules must look at them next (reconcile_due_at).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 00:36:47.628356
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reconcile_due_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_orders_reconcile_due_at"), ["reconcile_due_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_reconcile_due_at"))
        batch_op.drop_column("reconcile_due_at")
