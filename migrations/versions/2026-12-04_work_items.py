"""Work items (one per parcel problem, grouping its alerts), notification groups, and outbox
rows about an item or a group instead of one alert.

Every unresolved alert becomes its own item, under the alert's id (resolved alerts from before
items keep no item). Their alerts were announced one by one already: the notifier does not
announce, escalate or page them again (`announced_at`, `escalated_at`, `paged_at` and
`unpaged_at` are set to when they opened), or an upgrade would page every old critical item.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 16:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "work_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=True),
        sa.Column("tracking_number", sa.String(length=64), nullable=True),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("headline", sa.Text(), nullable=False),
        sa.Column("next_step", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=128), nullable=True),
        sa.Column("assignee", sa.String(length=128), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unpaged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=128), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("auto_resolved", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_work_items_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_items")),
    )
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_items_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            "ix_work_items_status_opened_at", ["status", "opened_at"], unique=False
        )
        batch_op.create_index(
            "ix_work_items_unannounced",
            ["team", "rule"],
            unique=False,
            sqlite_where=sa.text("announced_at IS NULL AND status != 'resolved'"),
            postgresql_where=sa.text("announced_at IS NULL AND status != 'resolved'"),
        )
    op.create_table(
        "notification_groups",
        sa.Column("group_key", sa.String(length=255), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("group_key", name=op.f("pk_notification_groups")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("item_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_alerts_item_id"), ["item_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_alerts_item_id_work_items"),
            "work_items",
            ["item_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("alert_notifications", schema=None) as batch_op:
        batch_op.alter_column("alert_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("item_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("group_key", sa.String(length=255), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_alert_notifications_item_id"), ["item_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_alert_notifications_item_id_work_items"),
            "work_items",
            ["item_id"],
            ["id"],
            ondelete="CASCADE",
        )
    _backfill_items()


def _backfill_items() -> None:
    op.execute(
        """
        INSERT INTO work_items (id, order_id, rule, severity, status, carrier, tracking_number,
            team, headline, next_step, opened_at, updated_at, announced_at, acknowledged_at,
            acknowledged_by, escalated_at, paged_at, unpaged_at, auto_resolved)
        SELECT id, order_id, rule, severity, status, carrier, tracking_number, team,
            explanation, recommended_action, opened_at, updated_at, opened_at, acknowledged_at,
            acknowledged_by, opened_at, opened_at, opened_at, auto_resolved
        FROM alerts WHERE status != 'resolved'
        """
    )
    op.execute("UPDATE alerts SET item_id = id WHERE status != 'resolved'")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval('work_items_id_seq', COALESCE((SELECT max(id) FROM work_items), 0) + 1,"
            " false)"
        )


def downgrade() -> None:
    with op.batch_alter_table("alert_notifications", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_alert_notifications_item_id_work_items"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_alert_notifications_item_id"))
        batch_op.drop_column("group_key")
        batch_op.drop_column("item_id")
    op.execute("DELETE FROM alert_notifications WHERE alert_id IS NULL")
    with op.batch_alter_table("alert_notifications", schema=None) as batch_op:
        batch_op.alter_column("alert_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_alerts_item_id_work_items"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_alerts_item_id"))
        batch_op.drop_column("item_id")
    op.drop_table("notification_groups")
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.drop_index("ix_work_items_unannounced")
        batch_op.drop_index("ix_work_items_status_opened_at")
        batch_op.drop_index(batch_op.f("ix_work_items_order_id"))
    op.drop_table("work_items")
