from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow


class Order(Base):
    """Our side of the story: the order as the shop knows it and what the shop claims."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_number: Mapped[str] = mapped_column(String(64), unique=True)
    # Upper-case, no spaces or dashes: what a search typed any way matches against.
    order_key: Mapped[str] = mapped_column(String(64), index=True)
    customer_email: Mapped[str | None] = mapped_column(String(320))
    customer_postal_code: Mapped[str | None] = mapped_column(String(16))
    promised_delivery_on: Mapped[date | None] = mapped_column(Date)
    claimed_status: Mapped[str | None] = mapped_column(String(32))
    # When the rules must look at this order next: now after any change, else the next deadline.
    reconcile_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    shipments: Mapped[list[Shipment]] = relationship(
        back_populates="order", lazy="raise", order_by="Shipment.id"
    )


class Shipment(Base):
    """One parcel under one label; its legs are the carriers that move it in turn."""

    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    service: Mapped[str | None] = mapped_column(String(64))
    label_created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    order: Mapped[Order] = relationship(back_populates="shipments", lazy="raise")
    legs: Mapped[list[Leg]] = relationship(
        back_populates="shipment", lazy="raise", order_by="Leg.sequence"
    )


class Leg(Base):
    """One carrier and one tracking number for a stretch of a shipment's journey.

    A consolidator leg hands off to a last-mile leg (sequence 2) under a second number; the
    last-mile leg points back through `handoff_from_leg_id`. The columns after `tracking_number`
    are the carrier's side as last polled, kept here so that rules and polling read one row.
    """

    __tablename__ = "legs"
    __table_args__ = (
        UniqueConstraint("shipment_id", "sequence"),
        Index("ix_legs_carrier_tracking_number", "carrier", "tracking_number"),
        Index("ix_legs_tracking_number", "tracking_number"),
        Index(
            "ix_legs_active_carrier_next_poll_at",
            "carrier",
            "next_poll_at",
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
        CheckConstraint("sequence >= 1", name="sequence_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(
        ForeignKey("shipments.id", ondelete="CASCADE"), index=True
    )
    sequence: Mapped[int] = mapped_column(Integer)
    carrier: Mapped[str] = mapped_column(String(32))
    tracking_number: Mapped[str] = mapped_column(String(64))
    service: Mapped[str | None] = mapped_column(String(64))
    # "shop" when the shop told us the number, "carrier" when a carrier revealed it.
    source: Mapped[str] = mapped_column(String(16), default="shop")
    handoff_from_leg_id: Mapped[int | None] = mapped_column(
        ForeignKey("legs.id", ondelete="SET NULL"), unique=True
    )
    label_created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tracking_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    status: Mapped[str | None] = mapped_column(String(32))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    estimated_delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    active: Mapped[bool] = mapped_column(Boolean, default=True)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_successful_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_poll_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The UTC day of the last poll, so the call report can count distinct legs per day.
    last_poll_day: Mapped[date | None] = mapped_column(Date)
    # The earliest alert deadline waiting on this leg's next poll: in the past while an alert is
    # due but its leg's silence is unconfirmed (most overdue first), else the nearest ahead. One
    # column, not a separate priority, because the cadence reads the same deadline to poll more
    # often as it nears: ordering and cadence can never disagree. Set at ingest from the label
    # (no rules run), then by each judgement (rules.poll_priorities). Null: nothing waits on it.
    alert_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    shipment: Mapped[Shipment] = relationship(back_populates="legs", lazy="raise")
