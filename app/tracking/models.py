from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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


class LegPartnerNumber(Base):
    """A number under which a partner firstscan does not track carries a leg's parcel on (a DHL
    eCommerce parcel's foreign postal service), as the carrier named it: found by a lookup, never
    polled. `number` is as the carrier wrote it, `lookup_key` the form searches match."""

    __tablename__ = "partner_numbers"
    __table_args__ = (UniqueConstraint("leg_id", "lookup_key"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    leg_id: Mapped[int] = mapped_column(ForeignKey("legs.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(64))
    lookup_key: Mapped[str] = mapped_column(String(64), index=True)
    partner_name: Mapped[str | None] = mapped_column(String(128))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CarrierState(Base):
    """What every worker must agree on about one carrier, shared through the database.

    Rate: a GCRA schedule (`next_slot_at`): each request reserves the next free slot, spaced
    1/rate apart, so all workers together never exceed the carrier's requests per second.
    Quotas: fixed hourly and daily windows. Breaker: closed -> open after repeated failures ->
    half_open (one probe) -> closed. Health feeds the carrier_unreachable rule; the push
    channel's silence feeds the push_silent rule.
    """

    __tablename__ = "carrier_states"

    carrier: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hour_window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hour_used: Mapped[int] = mapped_column(Integer, default=0)
    day_window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    day_used: Mapped[int] = mapped_column(Integer, default=0)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 429 / quota: wait
    breaker_state: Mapped[str] = mapped_column(String(16), default="closed")
    breaker_failures: Mapped[int] = mapped_column(Integer, default=0)
    breaker_open_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_kind: Mapped[str | None] = mapped_column(String(32))
    # The push channel (app/tracking/push_channel.py): the newest push received from this
    # carrier, and since when its pushes count as stopped (its legs are polled meanwhile).
    last_push_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    push_silent_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CarrierCallCount(Base):
    """Carrier calls per day, carrier and leg state: the number a carrier bills or rations (polls
    in `calls`, push subscription requests in `subscription_calls`); beside them the pushes read
    and the polls push saved."""

    __tablename__ = "carrier_call_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    carrier: Mapped[str] = mapped_column(String(32), primary_key=True)
    leg_status: Mapped[str] = mapped_column(String(32), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    leg_polls: Mapped[int] = mapped_column(Integer, default=0)
    legs: Mapped[int] = mapped_column(Integer, default=0)  # distinct legs polled that day
    # Pushes the worker read, by the state most of their legs were in ("untracked": none known).
    pushes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Polls the polled cadence would have made that pushed legs did not (cadence.polls_saved).
    polls_saved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Push subscription requests sent (app/tracking/subscribing.py), under the state most of
    # their legs were in; they take the same quota as `calls`.
    subscription_calls: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class WebhookDelivery(Base):
    """Deliveries already accepted from a carrier's push, so a replay is refused."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("carrier", "delivery_id"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    carrier: Mapped[str] = mapped_column(String(32))
    delivery_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class CarrierPush(Base):
    """A push as a carrier sent it, kept until the worker has read it (the push inbox).

    The receiving request only checks the push's authentication and stores its body here; the
    worker reads it with the carrier's parser and records its events as a poll's are. `body` is
    the request body exactly as received: no header is kept, so no credential or signature is
    ever stored. `format` names the body's shape (`firstscan`: the signed normalized push;
    otherwise the carrier's own); `dedupe_key` is one per push, so a carrier's retry of the same
    push is stored once. Processed rows are deleted after a while (app/tracking/jobs.py).
    """

    __tablename__ = "carrier_pushes"
    __table_args__ = (
        UniqueConstraint("carrier", "format", "dedupe_key"),
        Index("ix_carrier_pushes_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    carrier: Mapped[str] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    body: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending/processed/failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    numbers: Mapped[int] = mapped_column(Integer, default=0)  # tracking numbers the push named
    unknown_numbers: Mapped[int] = mapped_column(Integer, default=0)  # of those, not ours
    events_stored: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class CarrierSubscription(Base):
    """A push subscription at a carrier: per leg where the carrier subscribes per number (UPS
    Track Alert), per account where it subscribes that way (`leg_id` empty, `subject` the
    account). `state`: none (not asked yet), pending (a request is on its way), active (until
    `expires_at`), failed (`last_error`; tried again from `next_attempt_at`, never if that is
    empty), expired. `carrier_reference` is what the carrier calls the request (UPS: transId)."""

    __tablename__ = "carrier_subscriptions"
    __table_args__ = (
        UniqueConstraint("carrier", "scope", "subject", "leg_id"),
        Index("ix_carrier_subscriptions_carrier_state", "carrier", "state"),
        # Whether a leg is pushed is asked with every claim (subscriptions.is_pushed).
        Index("ix_carrier_subscriptions_leg_id", "leg_id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    carrier: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(16))  # number / account
    subject: Mapped[str] = mapped_column(String(64))  # the tracking number, or the account
    leg_id: Mapped[int | None] = mapped_column(ForeignKey("legs.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="none")
    carrier_reference: Mapped[str | None] = mapped_column(String(128))
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
