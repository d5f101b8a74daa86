"""Two dispatchers, each with its own engine as on separate machines, deliver a burst of
messages to one Slack-like receiver: paced together through the destination's shared row,
paused together by a 429, and nothing lost or posted twice when one is stopped mid-burst. Rates
are scaled up (20 a second, a burst of 3) to keep the test short; the logic is the same at 1."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import db, migrate
from app.alerts.channels import WebhookChannel, webhook_destination
from app.alerts.destinations import DestinationLimits
from app.alerts.dispatch import dispatch_due_notifications
from app.alerts.models import AlertDestination
from app.alerts.throttle import DestinationThrottle
from app.kernel.send_slots import Spacing
from tests.integration.alerts.conftest import load_notifications, seed_notifications
from tests.support.slack_receiver import SECRET_PATH, running_slack_receiver
from tests.support.waiting import wait_until_async

MESSAGES = 150
RECEIVER_RATE, RECEIVER_BURST = 20.0, 3
# Our burst is one below the receiver's: one slot of headroom for a send that arrives late.
LIMITS = {"webhook": DestinationLimits(Spacing(RECEIVER_RATE, burst=RECEIVER_BURST - 1))}
LEASE = timedelta(seconds=6)
IDLE = 0.05  # a worker's pause when nothing is due (its scheduler interval, scaled down)


@pytest.fixture
async def sessionmakers(
    empty_database_url: str,
) -> AsyncIterator[list[async_sessionmaker[AsyncSession]]]:
    migrate.upgrade(empty_database_url)
    engines = [db.create_engine(empty_database_url, pool_size=3) for _ in range(3)]
    yield [db.create_sessionmaker(engine) for engine in engines]
    for engine in engines:
        await engine.dispose()


async def run_worker(sessionmaker, webhook: WebhookChannel, worker: str, done: asyncio.Event):
    throttle = DestinationThrottle(sessionmaker, LIMITS, clock=db.utcnow)
    while not done.is_set():
        report = await dispatch_due_notifications(
            sessionmaker,
            channels={"webhook": webhook},
            worker_id=worker,
            now=db.utcnow(),
            lease=LEASE,
            batch_size=20,
            throttle=throttle,
        )
        if report.claimed == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=IDLE)


@pytest.mark.slow
async def test_two_dispatchers_deliver_a_burst_once_each_within_the_receivers_rate(
    sessionmakers, http, caplog
):
    with running_slack_receiver(per_second=RECEIVER_RATE, burst=RECEIVER_BURST) as receiver:
        destination = webhook_destination(receiver.url)
        ids = await seed_notifications(
            sessionmakers[0], MESSAGES, now=db.utcnow(), destination=destination
        )
        webhook = WebhookChannel(http, [receiver.url])
        done = asyncio.Event()
        first = asyncio.create_task(run_worker(sessionmakers[0], webhook, "a", done))
        second = asyncio.create_task(run_worker(sessionmakers[1], webhook, "b", done))
        workers = [first, second]
        try:
            # Stopped mid-burst: what it claimed, and what it sent but never recorded, is sent
            # again once its leases run out, under the same idempotency keys.
            await wait_until_async(
                lambda: receiver.count(200) >= 40, within=60, what="40 messages accepted"
            )
            first.cancel()
            # A killed process leaves no connection behind: the stopped worker's are closed
            # (a task cancelled inside a SQLite transaction could hold its write lock).
            with contextlib.suppress(asyncio.CancelledError):
                await first
            await sessionmakers[0].kw["bind"].dispose()
            restarted = asyncio.create_task(
                run_worker(sessionmakers[2], webhook, "a-restarted", done)
            )
            workers.append(restarted)

            async def all_delivered() -> bool:
                rows = await load_notifications(sessionmakers[0], ids)
                return all(row.status == "delivered" for row in rows)

            await wait_until_async(all_delivered, within=120, what="every message delivered")
            done.set()
            await asyncio.gather(second, restarted)
        finally:
            # Whatever happened, no dispatcher outlives the test (it would log into the next).
            done.set()
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    rows = await load_notifications(sessionmakers[0], ids)
    keys = {row.idempotency_key for row in rows}
    assert Counter(row.status for row in rows) == {"delivered": MESSAGES}
    # Posted exactly once per key: a resend after the stop is a repeat the receiver drops.
    assert receiver.posted() == dict.fromkeys(keys, 1)
    # Today's dispatcher drew 521 answers of 429 for 200 messages at 1 a second; paced, a
    # late send now and then may still meet a full bucket.
    rate_limited = receiver.count(429)
    assert rate_limited <= MESSAGES // 10, f"{rate_limited} answers of 429"
    # No request was sent beyond its slot's headroom: each accepted one fit the bucket, and
    # the receiver saw no more requests in all than the messages, the resends and the 429s.
    assert len(receiver.arrivals) == receiver.count(200) + rate_limited
    assert receiver.count(200) - MESSAGES <= 20  # resends after the stop: one batch at most
    async with sessionmakers[0]() as session:
        [row] = (await session.execute(select(AlertDestination))).scalars()
    assert (row.destination, row.channel) == (destination, "webhook")
    assert row.rate_limited == rate_limited
    assert row.breaker_failures == 0
    assert SECRET_PATH not in caplog.text
