"""The outbox's SQL: claiming due notifications under a lease and settling them after a send.

A row is due when it is pending, its next_attempt_at has come and it holds no live lease. A claim
writes lease_owner/lease_until and commits before anything is sent, so no two dispatchers send a
row at the same time; a dispatcher that dies leaves a lease that simply runs out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.backoff import MAX_RETRY_AFTER, RandomSource, RetryPolicy, next_attempt_delay
from app.alerts.delivery import DeliveryResult, NotificationView, Outcome
from app.alerts.models import AlertNotification, DeliveryAttempt

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


class Settled(StrEnum):
    """What recording one attempt did to its notification."""

    DELIVERED = "delivered"
    RETRY_SCHEDULED = "retry_scheduled"
    DEAD = "dead"
    # The attempt is recorded but the state belongs to someone else: the row was already
    # delivered or dead, or our lease ran out and another dispatcher claimed it.
    UNCHANGED = "unchanged"
    GONE = "gone"  # the alert, and with it the notification, was deleted meanwhile


async def claim_due_notifications(
    session: AsyncSession,
    *,
    channels: Collection[str],
    worker_id: str,
    now: datetime,
    lease: timedelta,
    limit: int,
) -> list[NotificationView]:
    """Leases up to `limit` due rows of the given channels to `worker_id`, oldest due first.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent claimers take disjoint rows without
    waiting, and a row another claimer has just leased fails the re-checked lease condition.
    SQLite: the clause is not rendered; BEGIN IMMEDIATE already makes claimers take turns.
    """
    stmt = (
        select(AlertNotification)
        .where(
            AlertNotification.status == PENDING,
            AlertNotification.next_attempt_at <= now,
            AlertNotification.channel.in_(list(channels)),
            or_(AlertNotification.lease_until.is_(None), AlertNotification.lease_until <= now),
        )
        .order_by(AlertNotification.next_attempt_at, AlertNotification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list((await session.execute(stmt)).scalars())
    for row in rows:
        row.lease_owner = worker_id
        row.lease_until = now + lease
    await session.flush()
    return [_view(row) for row in rows]


def _view(row: AlertNotification) -> NotificationView:
    return NotificationView(
        id=row.id,
        alert_id=row.alert_id,
        event=row.event,
        channel=row.channel,
        destination=row.destination,
        idempotency_key=row.idempotency_key,
        payload=dict(row.payload),
        attempts=row.attempts,
    )


async def record_delivery(
    session: AsyncSession,
    *,
    notification_id: int,
    worker_id: str,
    result: DeliveryResult,
    attempted_at: datetime,
    duration: timedelta,
    policy: RetryPolicy,
    rng: RandomSource,
) -> Settled:
    """Records the attempt, then delivers, reschedules (backoff) or kills the row; a row that is
    already settled or now leased to another dispatcher keeps its state."""
    row = await session.get(AlertNotification, notification_id, with_for_update=True)
    if row is None:
        return Settled.GONE
    session.add(
        DeliveryAttempt(
            notification_id=row.id,
            attempted_at=attempted_at,
            succeeded=result.outcome is Outcome.DELIVERED,
            status_code=result.status_code,
            error=result.error,
            duration_ms=int(duration.total_seconds() * 1000),
        )
    )
    row.attempts += 1
    if row.status != PENDING:
        return Settled.UNCHANGED
    if result.outcome is Outcome.DELIVERED:
        _settle(row, status=DELIVERED, error=None)
        row.delivered_at = attempted_at
        return Settled.DELIVERED
    if row.lease_owner != worker_id:
        return Settled.UNCHANGED
    return _fail(row, result, attempted_at=attempted_at, policy=policy, rng=rng)


def _fail(
    row: AlertNotification,
    result: DeliveryResult,
    *,
    attempted_at: datetime,
    policy: RetryPolicy,
    rng: RandomSource,
) -> Settled:
    if result.outcome is Outcome.PERMANENT:
        _settle(row, status=DEAD, error=result.error)
        return Settled.DEAD
    if result.rate_limited:
        # The receiver is busy, the message is fine: it waits for Retry-After (its destination
        # is paused as long) and the attempt does not count towards giving up.
        row.rate_limited_attempts += 1
        _settle(row, status=PENDING, error=result.error)
        row.next_attempt_at = attempted_at + _rate_limited_delay(result, rng, policy=policy)
        return Settled.RETRY_SCHEDULED
    failures = row.attempts - row.rate_limited_attempts
    if failures >= policy.max_attempts:
        _settle(row, status=DEAD, error=f"gave up after {failures} attempts: {result.error}")
        return Settled.DEAD
    delay = next_attempt_delay(failures, result.retry_after, rng, policy=policy)
    _settle(row, status=PENDING, error=result.error)
    row.next_attempt_at = attempted_at + delay
    return Settled.RETRY_SCHEDULED


def _rate_limited_delay(
    result: DeliveryResult, rng: RandomSource, *, policy: RetryPolicy
) -> timedelta:
    if result.retry_after is None:
        return next_attempt_delay(1, None, rng, policy=policy)
    return min(max(result.retry_after, timedelta(0)), MAX_RETRY_AFTER)


def _settle(row: AlertNotification, *, status: str, error: str | None) -> None:
    row.status = status
    row.last_error = error
    row.lease_owner = None
    row.lease_until = None


async def release_claims(session: AsyncSession, *, ids: Sequence[int], worker_id: str) -> None:
    """Gives back leases on rows this worker claimed but never sent, so they are due at once."""
    if not ids:
        return
    await session.execute(
        update(AlertNotification)
        .where(
            AlertNotification.id.in_(list(ids)),
            AlertNotification.lease_owner == worker_id,
            AlertNotification.status == PENDING,
        )
        .values(lease_owner=None, lease_until=None)
    )


async def defer_claims(
    session: AsyncSession, deferrals: Sequence[tuple[int, datetime]], *, worker_id: str
) -> None:
    """Gives back leases on rows this worker claimed but whose destination said wait: due again
    when it takes messages, with no attempt counted."""
    by_time: dict[datetime, list[int]] = {}
    for notification_id, until in deferrals:
        by_time.setdefault(until, []).append(notification_id)
    for until, ids in sorted(by_time.items()):
        await session.execute(
            update(AlertNotification)
            .where(
                AlertNotification.id.in_(sorted(ids)),
                AlertNotification.lease_owner == worker_id,
                AlertNotification.status == PENDING,
            )
            .values(lease_owner=None, lease_until=None, next_attempt_at=until)
        )
