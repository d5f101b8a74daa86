"""Members a job set aside because handling them raised (orders, legs, messages).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quarantined_members",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_type", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("job", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("error_type", sa.String(length=128), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantined_members")),
    )
    with op.batch_alter_table("quarantined_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quarantined_members_order_id"), ["order_id"], unique=False
        )
        batch_op.create_index(
            "uq_quarantined_members_member", ["member_type", "member_id"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("quarantined_members", schema=None) as batch_op:
        batch_op.drop_index("uq_quarantined_members_member")
        batch_op.drop_index(batch_op.f("ix_quarantined_members_order_id"))
    op.drop_table("quarantined_members")
