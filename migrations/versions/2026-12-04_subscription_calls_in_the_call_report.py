"""The call report's day rows also count the push subscription requests sent, which take the
same carrier quota as polls.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("carrier_call_counts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("subscription_calls", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("carrier_call_counts", schema=None) as batch_op:
        batch_op.drop_column("subscription_calls")
