"""The call report's day rows also count the pushes read and the polls that push saved.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("carrier_call_counts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pushes", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("polls_saved", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("carrier_call_counts", schema=None) as batch_op:
        batch_op.drop_column("polls_saved")
        batch_op.drop_column("pushes")
