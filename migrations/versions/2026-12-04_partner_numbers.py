"""Numbers under which a partner firstscan does not track carries a leg on: searchable, not polled.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partner_numbers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("leg_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("lookup_key", sa.String(length=64), nullable=False),
        sa.Column("partner_name", sa.String(length=128), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["leg_id"], ["legs.id"], name=op.f("fk_partner_numbers_leg_id_legs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_numbers")),
        sa.UniqueConstraint(
            "leg_id", "lookup_key", name=op.f("uq_partner_numbers_leg_id_lookup_key")
        ),
    )
    with op.batch_alter_table("partner_numbers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_numbers_lookup_key"), ["lookup_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("partner_numbers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_numbers_lookup_key"))

    op.drop_table("partner_numbers")
