"""A carrier's push channel as state: when its last push came, and since when it is silent; and
the index by which a claim asks whether a leg is pushed.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("carrier_states") as batch:
        batch.add_column(sa.Column("last_push_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("push_silent_since", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_carrier_subscriptions_leg_id", "carrier_subscriptions", ["leg_id"])


def downgrade() -> None:
    op.drop_index("ix_carrier_subscriptions_leg_id", table_name="carrier_subscriptions")
    with op.batch_alter_table("carrier_states") as batch:
        batch.drop_column("push_silent_since")
        batch.drop_column("last_push_at")
