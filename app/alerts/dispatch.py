from __future__ import annotations

import asyncio
import logging
import random
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import metrics
from app.alerts import outbox
from app.alerts.backoff import DEFAULT_RETRY_POLICY, RandomSource, RetryPolicy
from app.alerts.delivery import Channel, DeliveryResult, NotificationView, Outcome
from app.alerts.outbox import Settled
from app.db import session_scope
from app.quarantine import repository as quarantine_repository

logger = logging.getLogger(__name__)

# Sends must finish well inside the lease, or a second dispatcher could claim the row mid-send:
# none starts after half the lease has passed, and each may take at most 40% of it.
START_FRACTION = 0.5
SEND_FRACTION = 0.4


@dataclass(slots=True)
class DispatchReport:
    """What one pass did; `released` rows were claimed but not sent in time and are due again."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class _Sent:
    notification: NotificationView
    result: DeliveryResult | None  # None: never started, the lease was running out
    duration: timedelta
    raised: str | None = None  # the channel raised (a bug of ours): the message is set aside


async def dispatch_due_notifications(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    channels: Mapping[str, Channel],
    worker_id: str,
    now: datetime,
    batch_size: int = 50,
    lease: timedelta = timedelta(minutes=2),
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    rng: RandomSource | None = None,
    concurrency: int = 8,
) -> DispatchReport:
    """Claims due rows of the given channels and commits, sends with no transaction open, then
    records each attempt and new state in a second transaction. At least once: a pass that dies
    before recording leaves leases that run out, and a later pass resends with the same key."""
    async with session_scope(sessionmaker) as session:
        claimed = await outbox.claim_due_notifications(
            session,
            channels=channels.keys(),
            worker_id=worker_id,
            now=now,
            lease=lease,
            limit=batch_size,
        )
    if not claimed:
        return DispatchReport()
    sent = await _send_all(claimed, channels, lease=lease, concurrency=concurrency)
    async with session_scope(sessionmaker) as session:
        report = await _record_all(
            session,
            sent,
            worker_id=worker_id,
            now=now,
            policy=policy,
            rng=rng or random.Random(),
        )
    report.claimed = len(claimed)
    return report


async def _send_all(
    claimed: Sequence[NotificationView],
    channels: Mapping[str, Channel],
    *,
    lease: timedelta,
    concurrency: int,
) -> list[_Sent]:
    start_by = time.monotonic() + lease.total_seconds() * START_FRACTION
    send_limit = lease.total_seconds() * SEND_FRACTION
    gate = asyncio.Semaphore(concurrency)
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(
                _send_one(
                    item, channels[item.channel], gate, start_by=start_by, send_limit=send_limit
                )
            )
            for item in claimed
        ]
    return [task.result() for task in tasks]


async def _send_one(
    notification: NotificationView,
    channel: Channel,
    gate: asyncio.Semaphore,
    *,
    start_by: float,
    send_limit: float,
) -> _Sent:
    async with gate:
        started = time.monotonic()
        if started >= start_by:
            return _Sent(notification, None, timedelta(0))
        try:
            async with asyncio.timeout(send_limit):
                result = await channel.send(notification)
        except TimeoutError:
            result = DeliveryResult.retry(f"send did not finish within {send_limit:.0f}s")
        except Exception as exc:  # a channel bug must not stop the other sends
            raised = f"channel raised {type(exc).__name__}"
            # The traceback's frames but not the exception's text, which could hold a secret.
            logger.error(
                "alert notification %s: channel %s raised %s\n%s",
                notification.id,
                notification.channel,
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            took = timedelta(seconds=time.monotonic() - started)
            return _Sent(notification, DeliveryResult.retry(raised), took, raised=raised)
        return _Sent(notification, result, timedelta(seconds=time.monotonic() - started))


async def _record_all(
    session: AsyncSession,
    sent: Sequence[_Sent],
    *,
    worker_id: str,
    now: datetime,
    policy: RetryPolicy,
    rng: RandomSource,
) -> DispatchReport:
    report = DispatchReport()
    unsent = [item.notification.id for item in sent if item.result is None]
    await outbox.release_claims(session, ids=unsent, worker_id=worker_id)
    report.released = len(unsent)
    # Rows are locked in id order so two recorders can never deadlock on PostgreSQL.
    for item in sorted(sent, key=lambda s: s.notification.id):
        if item.result is None:
            continue
        settled = await outbox.record_delivery(
            session,
            notification_id=item.notification.id,
            worker_id=worker_id,
            result=item.result,
            attempted_at=now,
            duration=item.duration,
            policy=policy,
            rng=rng,
        )
        _count(report, settled)
        metrics.NOTIFICATIONS.labels(item.notification.channel, settled.value).inc()
        _log(item.notification, item.result, settled)
    await _quarantine(session, sent, now=now)
    return report


async def _quarantine(session: AsyncSession, sent: Sequence[_Sent], *, now: datetime) -> None:
    """Messages whose channel raised are listed for ops (the outbox's own backoff retries them);
    a message that went out is released."""
    for item in sent:
        if item.raised is None:
            continue
        await quarantine_repository.set_aside(
            session,
            quarantine_repository.SetAside(
                member_type="message",
                member_id=item.notification.id,
                job="dispatch",
                order_id=None,
                error_type=item.raised.removeprefix("channel raised "),
                error=item.raised,
            ),
            now=now,
        )
        metrics.QUARANTINED.labels("dispatch", "message").inc()
    delivered = [
        item.notification.id
        for item in sent
        if item.result is not None and item.result.outcome is Outcome.DELIVERED
    ]
    await quarantine_repository.release(session, member_type="message", member_ids=delivered)


def _count(report: DispatchReport, settled: Settled) -> None:
    if settled is Settled.DELIVERED:
        report.delivered += 1
    elif settled is Settled.RETRY_SCHEDULED:
        report.retried += 1
    elif settled is Settled.DEAD:
        report.dead += 1
    else:
        report.unchanged += 1


def _log(notification: NotificationView, result: DeliveryResult, settled: Settled) -> None:
    # Destinations are hashes (webhooks) or addresses; neither is a secret.
    where = f"{notification.channel} {notification.destination}"
    key = notification.idempotency_key
    if settled is Settled.DEAD:
        logger.error(
            "alert notification %s to %s is dead: %s (key %s)",
            notification.id,
            where,
            result.error,
            key,
        )
    elif settled is Settled.RETRY_SCHEDULED:
        logger.warning(
            "alert notification %s to %s failed, will retry: %s",
            notification.id,
            where,
            result.error,
        )
    elif settled is Settled.DELIVERED:
        logger.info("alert notification %s delivered to %s (key %s)", notification.id, where, key)
