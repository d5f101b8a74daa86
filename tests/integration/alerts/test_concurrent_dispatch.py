"""Several dispatchers on one database, each with its own engine as on separate machines;
these tests commit for real, so they run on a fresh migrated database."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import db, migrate
from app.alerts import outbox
from app.alerts.channels import WebhookChannel, webhook_destination
from app.alerts.delivery import DeliveryResult, NotificationView
from app.alerts.dispatch import dispatch_due_notifications
from tests.factories import OPENED_AT
from tests.integration.alerts.conftest import (
    load_attempts,
    load_notifications,
    seed_notifications,
)

T0 = OPENED_AT
PROJECT_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def sessionmakers(
    empty_database_url: str,
) -> AsyncIterator[list[async_sessionmaker[AsyncSession]]]:
    migrate.upgrade(empty_database_url)
    engines = [db.create_engine(empty_database_url, pool_size=2) for _ in range(2)]
    yield [db.create_sessionmaker(engine) for engine in engines]
    for engine in engines:
        await engine.dispose()


class Recording:
    """Sends through the real webhook channel and notes which worker sent what."""

    def __init__(self, inner: WebhookChannel, worker: str, sent: list[tuple[str, int]]) -> None:
        self.inner, self.worker, self.sent = inner, worker, sent

    async def send(self, notification: NotificationView) -> DeliveryResult:
        self.sent.append((self.worker, notification.id))
        return await self.inner.send(notification)


async def test_two_dispatchers_never_claim_the_same_notification(sessionmakers, receiver, http):
    ids = await seed_notifications(
        sessionmakers[0], 40, now=T0, destination=webhook_destination(receiver.url)
    )
    webhook = WebhookChannel(http, [receiver.url])
    sent: list[tuple[str, int]] = []

    async def run(worker: str, sessionmaker) -> None:
        channels = {"webhook": Recording(webhook, worker, sent)}
        while (
            await dispatch_due_notifications(
                sessionmaker, channels=channels, worker_id=worker, now=T0, batch_size=3
            )
        ).claimed:
            pass

    await asyncio.gather(run("a", sessionmakers[0]), run("b", sessionmakers[1]))

    assert sorted(notification_id for _, notification_id in sent) == sorted(ids)
    assert {worker for worker, _ in sent} == {"a", "b"}  # both really took part
    assert set(receiver.keys_seen().values()) == {1}
    assert len(receiver.requests) == 40
    rows = await load_notifications(sessionmakers[0], ids)
    assert Counter(row.status for row in rows) == {"delivered": 40}
    assert len(await load_attempts(sessionmakers[0], ids)) == 40


async def claim(session: AsyncSession, worker: str, limit: int) -> list[int]:
    claimed = await outbox.claim_due_notifications(
        session,
        channels=["webhook"],
        worker_id=worker,
        now=T0,
        lease=timedelta(minutes=2),
        limit=limit,
    )
    return [notification.id for notification in claimed]


async def test_a_claim_in_progress_is_skipped_on_postgres_and_waited_for_on_sqlite(
    sessionmakers, empty_database_url
):
    ids = await seed_notifications(sessionmakers[0], 5, now=T0)
    first_maker, second_maker = sessionmakers

    async def second_claim() -> list[int]:
        async with db.session_scope(second_maker) as session:
            return await claim(session, "b", limit=10)

    async with first_maker() as first_session:
        first = await claim(first_session, "a", limit=2)  # rows locked, not yet committed
        racing = asyncio.create_task(second_claim())
        if empty_database_url.startswith("postgresql"):
            # SKIP LOCKED: the second claimer neither waits nor takes the locked rows.
            second = await asyncio.wait_for(racing, timeout=10)
            assert not set(first) & set(second)
        await first_session.commit()
    # SQLite: the second claimer waited on BEGIN IMMEDIATE and now sees the committed leases.
    second = await asyncio.wait_for(racing, timeout=10)

    assert len(first) == 2
    assert sorted(first + second) == sorted(ids)
    rows = await load_notifications(first_maker, ids)
    owners = {row.id: row.lease_owner for row in rows}
    assert all(owners[i] == "a" for i in first)
    assert all(owners[i] == "b" for i in second)


@pytest.mark.slow
async def test_a_sigkilled_dispatcher_is_followed_by_a_resend_with_the_same_key(
    sessionmakers, empty_database_url, receiver, http
):
    [notification_id] = await seed_notifications(
        sessionmakers[0], 1, now=T0, destination=webhook_destination(receiver.url)
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.alerts.dying_dispatcher",
        empty_database_url, receiver.url, T0.isoformat(),
        cwd=PROJECT_ROOT,
    )  # fmt: skip
    assert await asyncio.wait_for(process.wait(), timeout=60) == -signal.SIGKILL

    [row] = await load_notifications(sessionmakers[1], [notification_id])
    assert (row.lease_owner, row.attempts, row.status) == ("doomed", 0, "pending")
    assert len(receiver.requests) == 1
    report = await dispatch_due_notifications(
        sessionmakers[1],
        channels={"webhook": WebhookChannel(http, [receiver.url])},
        worker_id="survivor",
        now=T0 + timedelta(minutes=2),
    )

    assert report.delivered == 1
    first, second = receiver.requests
    assert first.idempotency_key == second.idempotency_key == row.idempotency_key
    [row] = await load_notifications(sessionmakers[1], [notification_id])
    assert (row.status, row.attempts) == ("delivered", 1)
    assert [a.succeeded for a in await load_attempts(sessionmakers[1], [notification_id])] == [True]
