"""Alerts planned for each order's next deadline, opened set-based when it comes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "planned_alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("leg_id", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fresh_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("subject_key", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=True),
        sa.Column("tracking_number", sa.String(length=64), nullable=True),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("recommended_action", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["leg_id"], ["legs.id"], name=op.f("fk_planned_alerts_leg_id_legs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_planned_alerts_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_alerts")),
    )
    with op.batch_alter_table("planned_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_planned_alerts_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_planned_alerts_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            "uq_planned_alerts_subject_rule", ["subject_key", "rule"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("planned_alerts", schema=None) as batch_op:
        batch_op.drop_index("uq_planned_alerts_subject_rule")
        batch_op.drop_index(batch_op.f("ix_planned_alerts_order_id"))
        batch_op.drop_index(batch_op.f("ix_planned_alerts_due_at"))
    op.drop_table("planned_alerts")
