"""Carrier push subscriptions as state: per leg (UPS Track Alert) or per account.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carrier_subscriptions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("leg_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("carrier_reference", sa.String(length=128), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["leg_id"],
            ["legs.id"],
            name=op.f("fk_carrier_subscriptions_leg_id_legs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_subscriptions")),
        sa.UniqueConstraint(
            "carrier",
            "scope",
            "subject",
            "leg_id",
            name=op.f("uq_carrier_subscriptions_carrier_scope_subject_leg_id"),
        ),
    )
    with op.batch_alter_table("carrier_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_carrier_subscriptions_carrier_state", ["carrier", "state"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("carrier_subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_carrier_subscriptions_carrier_state")
    op.drop_table("carrier_subscriptions")
