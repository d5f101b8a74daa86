"""Polling coordination: shared carrier state, carrier call counts, leg alert deadlines.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 00:39:53.756887
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carrier_call_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("leg_status", sa.String(length=32), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("leg_polls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "carrier", "leg_status", name=op.f("pk_carrier_call_counts")
        ),
    )
    op.create_table(
        "carrier_states",
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("next_slot_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hour_window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hour_used", sa.Integer(), nullable=False),
        sa.Column("day_window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("day_used", sa.Integer(), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breaker_state", sa.String(length=16), nullable=False),
        sa.Column("breaker_failures", sa.Integer(), nullable=False),
        sa.Column("breaker_open_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_kind", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("carrier", name=op.f("pk_carrier_states")),
    )
    with op.batch_alter_table("legs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("alert_deadline_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.drop_index(
            batch_op.f("ix_legs_active_next_poll_at"), sqlite_where=sa.text("active")
        )
        batch_op.create_index(
            "ix_legs_active_carrier_next_poll_at",
            ["carrier", "next_poll_at"],
            unique=False,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )


def downgrade() -> None:
    with op.batch_alter_table("legs", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_legs_active_carrier_next_poll_at",
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )
        batch_op.create_index(
            batch_op.f("ix_legs_active_next_poll_at"),
            ["next_poll_at"],
            unique=False,
            sqlite_where=sa.text("active"),
        )
        batch_op.drop_column("alert_deadline_at")

    op.drop_table("carrier_states")
    op.drop_table("carrier_call_counts")
