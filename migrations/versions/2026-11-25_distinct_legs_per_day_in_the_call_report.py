"""The call report counts distinct legs per day (legs.last_poll_day, carrier_call_counts.legs).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 00:48:28.873613
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("carrier_call_counts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("legs", sa.Integer(), nullable=False, server_default="0"))

    with op.batch_alter_table("legs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_poll_day", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("legs", schema=None) as batch_op:
        batch_op.drop_column("last_poll_day")

    with op.batch_alter_table("carrier_call_counts", schema=None) as batch_op:
        batch_op.drop_column("legs")
