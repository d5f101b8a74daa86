from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntegerId, UTCDateTime, utcnow


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
        # find_latest_resolved runs whenever an alert opens; without this it scans every
        # resolved alert ever kept (BENCHMARKS.md, section 1).
        Index(
            "ix_alerts_resolved_subject_rule",
            "subject_key",
            "rule",
            "resolved_at",
            sqlite_where=text("status = 'resolved'"),
            postgresql_where=text("status = 'resolved'"),
        ),
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
    # The work item this finding is worked in (app.alerts.items); set in the opening transaction.
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_items.id", ondelete="SET NULL"), index=True
    )


class WorkItem(Base):
    """One parcel problem as ops works it: open -> acknowledged -> resolved.

    It groups one or more alerts of one order (or one alert about a carrier or firstscan itself):
    a finding that is a consequence of another joins that one's item (app.kernel.precedence).
    Its headline (`rule`, `severity`, `team`, ...) is its most specific unresolved finding's; it
    closes when all of its findings are gone, or when a person resolves it (and its findings).
    `announced_at`: when a grouped message first named it (None: not yet; the notifier's queue).
    """

    __tablename__ = "work_items"
    __table_args__ = (
        Index("ix_work_items_status_opened_at", "status", "opened_at"),
        # The notifier's queue: unresolved items no message has named yet.
        Index(
            "ix_work_items_unannounced",
            "team",
            "rule",
            sqlite_where=text("announced_at IS NULL AND status != 'resolved'"),
            postgresql_where=text("announced_at IS NULL AND status != 'resolved'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    rule: Mapped[str] = mapped_column(String(32))  # the headline finding's rule
    severity: Mapped[str] = mapped_column(String(16))  # the highest of its unresolved findings
    status: Mapped[str] = mapped_column(String(16), default="open")
    carrier: Mapped[str | None] = mapped_column(String(32))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    team: Mapped[str | None] = mapped_column(String(64))
    headline: Mapped[str] = mapped_column(Text)  # the headline finding's explanation
    next_step: Mapped[str] = mapped_column(Text)  # its recommended action: one coherent step
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    assignee: Mapped[str | None] = mapped_column(String(128))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # PagerDuty: when its incident was triggered, and when its resolve was queued.
    paged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unpaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str | None] = mapped_column(String(32))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    auto_resolved: Mapped[bool] = mapped_column(Boolean, default=False)


class AlertNotification(Base):
    """The outbox: one message to one destination about one alert event.

    Written in the same transaction that opens the alert, so a raised alert is never lost; the
    dispatcher sends it at least once, always with the same `idempotency_key`, so a receiver can
    drop a repeat. `destination` never holds a secret: a webhook is named by a hash of its URL.
    """

    __tablename__ = "alert_notifications"
    __table_args__ = (
        Index(
            "ix_alert_notifications_pending_next_attempt_at",
            "next_attempt_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    # About one alert (a customer's notice), one item (PagerDuty), or a group of items (the
    # grouped ops message, `group_key`; app.alerts.notifier).
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_items.id", ondelete="CASCADE"), index=True
    )
    group_key: Mapped[str | None] = mapped_column(String(255))
    event: Mapped[str] = mapped_column(String(32))  # opened, escalated, customer_notice, group
    channel: Mapped[str] = mapped_column(String(16))  # webhook, email, customer_email
    destination: Mapped[str] = mapped_column(String(320))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, delivered, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Attempts the receiver answered 429: they wait for its Retry-After but never count
    # towards giving up, so a busy receiver cannot kill a message. A server default keeps rows
    # written by plain INSERT statements (no Python-side default) right.
    rate_limited_attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertDestination(Base):
    """One receiver of ops messages (a webhook), shared by every dispatcher through this row.

    `destination` is the outbox's name for it (`webhook:` and a hash of the URL), never the URL,
    which carries a token. Rate: a GCRA schedule (`next_slot_at`, app.kernel.send_slots) with a
    small burst. A 429 pauses every dispatcher until its Retry-After (`paused_until`). Repeated
    failures open a breaker (app.kernel.breaker): closed -> open -> half_open (one probe).
    """

    __tablename__ = "alert_destinations"

    destination: Mapped[str] = mapped_column(String(320), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    next_slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breaker_state: Mapped[str] = mapped_column(String(16), default="closed")
    breaker_failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive
    breaker_open_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rate_limited: Mapped[int] = mapped_column(Integer, default=0)  # 429 answers, in all
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationGroup(Base):
    """One group of items as the notifier sends them (by team and rule unless configured): when
    it last sent a message and how many it has sent (`sequence`, part of each message's key)."""

    __tablename__ = "notification_groups"

    group_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryAttempt(Base):
    """Every try at sending a notification, successful or not."""

    __tablename__ = "alert_delivery_attempts"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("alert_notifications.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class PlannedAlert(Base):
    """An alert the rules will open at its order's next deadline unless news arrives first.

    Written whenever an order is judged (after a poll brought news), so that at a business-day
    midnight, when tens of thousands of deadlines fall at once, the alerts open with a few
    set-based statements instead of re-judging every order first (`app.alerts.planned`). A plan
    holds only while `orders.reconcile_due_at` still equals its `due_at`: news moves that, and
    the order is judged again. `fresh_since`: the leg's last successful poll must be at or after
    it (the staleness guard as of the deadline); None for findings that rest on no silence.
    """

    __tablename__ = "planned_alerts"
    __table_args__ = (
        # One plan per problem (an order is re-planned whole); opening on SQLite finds a new
        # alert's plan by it.
        Index("uq_planned_alerts_subject_rule", "subject_key", "rule", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    leg_id: Mapped[int | None] = mapped_column(ForeignKey("legs.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    fresh_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    subject_key: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    carrier: Mapped[str | None] = mapped_column(String(32))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    team: Mapped[str | None] = mapped_column(String(64))
    explanation: Mapped[str] = mapped_column(Text)
    recommended_action: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
