from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntegerId, UTCDateTime, utcnow


class LegEvent(Base):
    """A carrier's scan on a leg, normalized, with the carrier's raw code and words kept.

    `occurred_at` is UTC; `utc_offset_minutes` keeps the local offset the carrier reported, so the
    scan's local time can be shown as the carrier showed it. `dedupe_key` makes storing idempotent.
    """

    __tablename__ = "tracking_events"
    __table_args__ = (
        UniqueConstraint("leg_id", "dedupe_key"),
        Index("ix_tracking_events_leg_id_occurred_at", "leg_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    leg_id: Mapped[int] = mapped_column(ForeignKey("legs.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(32))
    carrier_code: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    location_city: Mapped[str | None] = mapped_column(String(128))
    location_state: Mapped[str | None] = mapped_column(String(64))
    location_postal_code: Mapped[str | None] = mapped_column(String(16))
    location_country: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    utc_offset_minutes: Mapped[int] = mapped_column(Integer, default=0)
    dedupe_key: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16), default="poll")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
