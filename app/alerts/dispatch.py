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
from app.alerts import destination_state, outbox
from app.alerts.backoff import DEFAULT_RETRY_POLICY, RandomSource, RetryPolicy
from app.alerts.delivery import Channel, DeliveryResult, NotificationView, Outcome
from app.alerts.outbox import Settled
from app.alerts.throttle import DestinationSlots, DestinationThrottle
from app.db import session_scope
from app.quarantine import repository as quarantine_repository

logger = logging.getLogger(__name__)

# Sends must finish well inside the lease, or a second dispatcher could claim the row mid-send:
# none starts after half the lease has passed, and each may take at most 40% of it.
START_FRACTION = 0.5
SEND_FRACTION = 0.4


@dataclass(slots=True)
class DispatchReport:
    """What one pass did; `released` rows were claimed but not sent in time and are due again;
    `deferred` rows wait, unsent and uncounted, until their destination takes messages again."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0
    deferred: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class _Sent:
    notification: NotificationView
    result: DeliveryResult | None  # None: never started, the lease was running out
    duration: timedelta
    raised: str | None = None  # the channel raised (a bug of ours): the message is set aside
    # Not sent because the destination says wait (paused, breaker open, slots taken): until then.
    wait_until: datetime | None = None


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
    throttle: DestinationThrottle | None = None,
) -> DispatchReport:
    """Claims due rows of the given channels and commits, sends with no transaction open (to a
    paced destination, each in one of its shared slots), then records each attempt and new state
    in a second transaction. At least once: a pass that dies before recording leaves leases that
    run out, and a later pass resends with the same key."""
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
    sent = await _send_all(claimed, channels, lease, concurrency, throttle)
    report = await _record_pass(
        sessionmaker, sent, worker_id, now, policy, rng or random.Random(), throttle
    )
    report.claimed = len(claimed)
    return report


async def _record_pass(
    sessionmaker: async_sessionmaker[AsyncSession],
    sent: Sequence[_Sent],
    worker_id: str,
    now: datetime,
    policy: RetryPolicy,
    rng: RandomSource,
    throttle: DestinationThrottle | None,
) -> DispatchReport:
    async with session_scope(sessionmaker) as session:
        report = await _record_all(
            session, sent, worker_id=worker_id, now=now, policy=policy, rng=rng
        )
        if throttle is not None:
            await _record_answers(session, sent, throttle)
    return report


async def _record_answers(
    session: AsyncSession, sent: Sequence[_Sent], throttle: DestinationThrottle
) -> None:
    """What each answer says about its destination; a channel that raised (our bug) says
    nothing about the receiver."""
    answers = [
        destination_state.Answer(item.notification.channel, item.notification.destination, result)
        for item in sent
        if (result := item.result) is not None and item.raised is None
    ]
    await destination_state.record_answers(
        session, answers, limits=throttle.limits, now=throttle.clock()
    )


async def _send_all(
    claimed: Sequence[NotificationView],
    channels: Mapping[str, Channel],
    lease: timedelta,
    concurrency: int,
    throttle: DestinationThrottle | None,
) -> list[_Sent]:
    start_by = time.monotonic() + lease.total_seconds() * START_FRACTION
    send_limit = lease.total_seconds() * SEND_FRACTION
    gate = asyncio.Semaphore(concurrency)
    sources: dict[str, DestinationSlots | None] = {}
    if throttle is not None:
        for item in claimed:
            if item.destination not in sources:
                sources[item.destination] = throttle.slots(item.channel, item.destination)
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(
                _send_one(
                    item,
                    channels[item.channel],
                    gate,
                    start_by=start_by,
                    send_limit=send_limit,
                    pacing=_pacing(throttle, sources.get(item.destination)),
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
    pacing: _Pacing | None,
) -> _Sent:
    async with gate:
        if pacing is not None:
            waited = await pacing.wait_for_slot(notification)
            if waited is not None:
                return waited
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
        if pacing is not None and result.rate_limited:
            await pacing.pause(notification, result)
        return _Sent(notification, result, timedelta(seconds=time.monotonic() - started))


def _pacing(throttle: DestinationThrottle | None, slots: DestinationSlots | None) -> _Pacing | None:
    return _Pacing(throttle, slots) if throttle is not None and slots is not None else None


@dataclass(frozen=True, slots=True)
class _Pacing:
    throttle: DestinationThrottle
    slots: DestinationSlots

    async def wait_for_slot(self, notification: NotificationView) -> _Sent | None:
        """Waits for the destination's next slot; a _Sent (not sent) when there is none now."""
        send_at = await self.slots.take()
        if send_at is None:
            until = self.slots.wait_until
            return _Sent(notification, None, timedelta(0), wait_until=until)
        delay = (send_at - self.throttle.clock()).total_seconds()
        if delay > 0:
            await self.throttle.sleep(delay)
        if self.slots.stopped:  # a 429 came while we waited: this slot is void
            self.slots.not_sent(send_at)
            return _Sent(notification, None, timedelta(0), wait_until=self.slots.wait_until)
        if self.throttle.clock() - send_at > self.throttle.tolerance(notification.channel):
            # A busy event loop woke us late: sent now, it would bunch with the next slots.
            self.slots.not_sent(send_at)
            return _Sent(notification, None, timedelta(0))
        return None

    async def pause(self, notification: NotificationView, result: DeliveryResult) -> None:
        """A 429: every dispatcher waits for the destination, this one from its next send on."""
        until = await self.throttle.pause(
            notification.channel, notification.destination, retry_after=result.retry_after
        )
        self.slots.stop(until=until)
        metrics.DESTINATION_RATE_LIMITED.labels(
            notification.channel, notification.destination
        ).inc()


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
    unsent = [s.notification.id for s in sent if s.result is None and s.wait_until is None]
    await outbox.release_claims(session, ids=unsent, worker_id=worker_id)
    report.released = len(unsent)
    deferred = [
        (s.notification.id, s.wait_until)
        for s in sent
        if s.result is None and s.wait_until is not None
    ]
    await outbox.defer_claims(session, deferred, worker_id=worker_id)
    report.deferred = len(deferred)
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
