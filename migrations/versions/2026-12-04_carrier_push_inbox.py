"""The carrier push inbox: pushes stored as received, read later by the worker.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carrier_pushes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("numbers", sa.Integer(), nullable=False),
        sa.Column("unknown_numbers", sa.Integer(), nullable=False),
        sa.Column("events_stored", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_pushes")),
        sa.UniqueConstraint(
            "carrier",
            "format",
            "dedupe_key",
            name=op.f("uq_carrier_pushes_carrier_format_dedupe_key"),
        ),
    )
    with op.batch_alter_table("carrier_pushes", schema=None) as batch_op:
        batch_op.create_index("ix_carrier_pushes_status_id", ["status", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("carrier_pushes", schema=None) as batch_op:
        batch_op.drop_index("ix_carrier_pushes_status_id")
    op.drop_table("carrier_pushes")
