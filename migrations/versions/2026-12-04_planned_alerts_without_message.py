"""A planned alert no longer carries its ops message: since work items (0012) the message is
worded when the item is announced, and nothing has read `planned_alerts.message` since; every
plan wrote an empty JSON object into it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 23:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("planned_alerts", schema=None) as batch_op:
        batch_op.drop_column("message")


def downgrade() -> None:
    with op.batch_alter_table("planned_alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("message", sa.JSON(), server_default=sa.text("'{}'"), nullable=False)
        )
