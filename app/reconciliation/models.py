from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class Alert(Base):
    """A finding worked by ops: open -> acknowledged -> resolved.

    `subject_key` is what the alert is about ("leg:42", or "carrier:ups" for an outage); at most
    one unresolved alert exists per (subject_key, rule), so a repeat finding updates it.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_open_subject_rule",
            "subject_key",
            "rule",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
        Index("ix_alerts_status_opened_at", "status", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    subject_key: Mapped[str] = mapped_column(String(64))
    leg_id: Mapped[int | None] = mapped_column(
        ForeignKey("legs.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    carrier: Mapped[str | None] = mapped_column(String(32), index=True)
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    explanation: Mapped[str] = mapped_column(Text)
    recommended_action: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str | None] = mapped_column(String(32))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    auto_resolved: Mapped[bool] = mapped_column(Boolean, default=False)
