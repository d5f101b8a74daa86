"""The proactive customer email: when the carrier never received a parcel, the customer hears it
from us first. One outbox row per order and customer-facing problem, written in the transaction
that opens the alert."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import repository
from app.alerts.models import Alert, AlertNotification
from app.audit import repository as audit_repository

CHANNEL = "customer_email"
EVENT = "customer_notice"
# Rules that open a proactive email, and the customer-facing problem they share: a parcel the
# carrier never received is one problem to the customer, whichever leg it stopped on.
NOTICE_PROBLEMS: dict[str, str] = {"never_inducted": "not_received", "handoff_gap": "not_received"}


@dataclass(frozen=True, slots=True)
class NoticeDraft:
    """What the email is about, before it is worded for the customer."""

    order_number: str
    rule: str
    leg_id: int | None
    opened_at: datetime
    story: str | None  # the finding's one-sentence story, word for word what ops read
    link: str
    link_expires_on: date
    now: datetime


@dataclass(frozen=True, slots=True)
class CustomerNoticePolicy:
    """Turned on by FIRSTSCAN_CUSTOMER_NOTIFY; `link_for` signs an order number into a URL and
    `write` words a draft as (subject, plain-text body), in the customer's words, not ops'."""

    link_for: Callable[[str], str]
    link_valid_for: timedelta
    write: Callable[[NoticeDraft], tuple[str, str]]


def notice_key(order_number: str, problem: str) -> str:
    """Once per order and problem: the outbox's unique key refuses a second row."""
    return f"firstscan-customer-{order_number}-{problem}"[:128]


async def enqueue_customer_notice(
    session: AsyncSession, *, alert: Alert, policy: CustomerNoticePolicy, now: datetime
) -> AlertNotification | None:
    """Queues the email for a newly opened alert the customer should hear about; None when the
    rule is not customer news, the order has no email, or the customer was already told."""
    problem = NOTICE_PROBLEMS.get(alert.rule)
    contact = (
        await repository.find_order_contact(session, alert.order_id) if alert.order_id else None
    )
    order_number, email = contact or ("", None)
    if problem is None or not email:
        return None
    key = notice_key(order_number, problem)
    if await repository.find_notification_by_key(session, key) is not None:
        return None
    row = build_notice_row(
        alert, order_number=order_number, email=email, key=key, policy=policy, now=now
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return None  # another worker queued it a moment ago
    await audit_repository.record(
        session,
        actor="firstscan",
        action="customer.notice_queued",
        entity_type="order",
        entity_id=order_number,
        order_id=alert.order_id,
        detail={"rule": alert.rule, "problem": problem},
    )
    await session.flush()
    return row


def build_notice_row(
    alert: Alert,
    *,
    order_number: str,
    email: str,
    key: str,
    policy: CustomerNoticePolicy,
    now: datetime,
) -> AlertNotification:
    """The outbox row: subject and body with the honest message and the signed link."""
    subject, body = policy.write(
        NoticeDraft(
            order_number=order_number,
            rule=alert.rule,
            leg_id=alert.leg_id,
            opened_at=alert.opened_at,
            story=alert.evidence.get("story"),
            link=policy.link_for(order_number),
            link_expires_on=(now + policy.link_valid_for).date(),
            now=now,
        )
    )
    return AlertNotification(
        alert_id=alert.id,
        event=EVENT,
        channel=CHANNEL,
        destination=email,
        idempotency_key=key,
        payload={"subject": subject, "body": body, "order_number": order_number},
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
