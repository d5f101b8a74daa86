from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.alerts.backoff import RetryPolicy
from app.alerts.channels import WebhookChannel, webhook_destination
from app.alerts.delivery import DeliveryResult, NotificationView
from app.alerts.dispatch import DispatchReport, dispatch_due_notifications
from app.quarantine.models import QuarantinedMember
from tests.factories import OPENED_AT
from tests.integration.alerts.conftest import (
    SECRET_PATH,
    load_attempts,
    load_notifications,
    seed_notifications,
)

T0 = OPENED_AT
LEASE = timedelta(minutes=2)


class FixedRandom:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.fixture
def webhook(http, receiver):
    return WebhookChannel(http, [receiver.url], clock=lambda: T0)


@pytest.fixture
def seed(sessionmaker, receiver):
    async def seed(count: int, **overrides):
        overrides.setdefault("destination", webhook_destination(receiver.url))
        return await seed_notifications(sessionmaker, count, now=T0, **overrides)

    return seed


@pytest.fixture
def dispatch(sessionmaker, webhook):
    async def dispatch(now, **kwargs) -> DispatchReport:
        kwargs.setdefault("channels", {"webhook": webhook})
        kwargs.setdefault("rng", random.Random(5))
        return await dispatch_due_notifications(
            sessionmaker, worker_id="worker-a", now=now, lease=LEASE, **kwargs
        )

    return dispatch


async def test_flaky_receiver_gets_every_notification_exactly_once_after_retries(
    seed, dispatch, receiver, sessionmaker, caplog
):
    caplog.set_level(logging.INFO, logger="app.alerts")
    ids = await seed(4)
    receiver.fail_next(6)  # 503 for the first six requests, then 200

    now, reports = T0, []
    while len(reports) < 10 and (not reports or reports[-1].claimed):
        reports.append(await dispatch(now))
        now += timedelta(hours=1, seconds=1)  # past the 1 h cap: every retry is due again

    rows = await load_notifications(sessionmaker, ids)
    assert [row.status for row in rows] == ["delivered"] * 4
    assert sum(r.delivered for r in reports) == 4
    assert sum(r.retried for r in reports) == 6
    keys = {row.idempotency_key for row in rows}
    assert set(receiver.keys_seen()) == keys
    assert receiver.keys_accepted() == dict.fromkeys(keys, 1)
    attempts = await load_attempts(sessionmaker, ids)
    assert len(attempts) == len(receiver.requests) == 10
    assert sum(a.succeeded for a in attempts) == 4
    assert {a.status_code for a in attempts} == {200, 503}
    assert sum(row.attempts for row in rows) == 10
    assert all(row.lease_owner is None and row.delivered_at is not None for row in rows)
    assert SECRET_PATH not in caplog.text
    assert all(SECRET_PATH not in (a.error or "") for a in attempts)


async def test_a_failed_send_is_rescheduled_within_the_backoff_window(
    seed, dispatch, receiver, sessionmaker
):
    [notification_id] = await seed(1)
    receiver.fail_next(1)

    report = await dispatch(T0, rng=FixedRandom(0.5))

    assert report == DispatchReport(claimed=1, retried=1)
    [row] = await load_notifications(sessionmaker, [notification_id])
    assert row.status == "pending"
    assert row.next_attempt_at == T0 + timedelta(seconds=15)  # half of the 30 s first window
    assert row.last_error == "HTTP 503: no_service"
    assert row.lease_owner is None
    assert (await dispatch(T0 + timedelta(seconds=14))).claimed == 0
    assert (await dispatch(T0 + timedelta(seconds=15))).delivered == 1


async def test_retry_after_from_the_receiver_is_honoured(seed, dispatch, receiver, sessionmaker):
    [notification_id] = await seed(1)
    receiver.fail_next(1, status=429, headers={"Retry-After": "600"})

    await dispatch(T0, rng=FixedRandom(0.0))

    [row] = await load_notifications(sessionmaker, [notification_id])
    assert row.next_attempt_at == T0 + timedelta(seconds=600)
    assert (await dispatch(T0 + timedelta(seconds=599))).claimed == 0
    assert (await dispatch(T0 + timedelta(seconds=600))).delivered == 1


class SendThenDie:
    """Sends for real, then never returns: the dispatcher is killed before it records."""

    def __init__(self, inner: WebhookChannel) -> None:
        self.inner = inner
        self.sent = asyncio.Event()

    async def send(self, notification: NotificationView) -> DeliveryResult:
        result = await self.inner.send(notification)
        self.sent.set()
        await asyncio.Event().wait()
        return result


async def test_a_dispatcher_killed_after_sending_is_followed_by_a_resend_with_the_same_key(
    seed, dispatch, receiver, sessionmaker, webhook
):
    [notification_id] = await seed(1)
    dying = SendThenDie(webhook)
    killed = asyncio.create_task(dispatch(T0, channels={"webhook": dying}))
    await dying.sent.wait()
    killed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await killed
    assert await load_attempts(sessionmaker, [notification_id]) == []

    assert (await dispatch(T0 + LEASE - timedelta(seconds=1))).claimed == 0  # lease still held
    report = await dispatch(T0 + LEASE)

    assert report == DispatchReport(claimed=1, delivered=1)
    [first, second] = receiver.requests
    assert first.idempotency_key == second.idempotency_key
    assert first.body == second.body
    assert receiver.keys_accepted()[first.idempotency_key] == 2  # the receiver must dedupe
    [row] = await load_notifications(sessionmaker, [notification_id])
    assert row.status == "delivered"
    assert row.idempotency_key == first.idempotency_key
    assert [a.succeeded for a in await load_attempts(sessionmaker, [notification_id])] == [True]
    assert (await dispatch(T0 + timedelta(hours=2))).claimed == 0


async def test_a_permanent_rejection_makes_the_notification_dead_after_one_attempt(
    seed, dispatch, receiver, sessionmaker, caplog
):
    [notification_id] = await seed(1)
    receiver.fail_next(1, status=400)

    report = await dispatch(T0)

    assert report == DispatchReport(claimed=1, dead=1)
    [row] = await load_notifications(sessionmaker, [notification_id])
    assert (row.status, row.attempts, row.last_error) == ("dead", 1, "HTTP 400: no_service")
    [attempt] = await load_attempts(sessionmaker, [notification_id])
    assert (attempt.succeeded, attempt.status_code) == (False, 400)
    assert any(r.levelno == logging.ERROR and "is dead" in r.getMessage() for r in caplog.records)
    assert (await dispatch(T0 + timedelta(days=1))).claimed == 0
    assert len(receiver.requests) == 1


async def test_a_webhook_removed_from_the_configuration_makes_its_notifications_dead(
    seed, dispatch, receiver, sessionmaker, http
):
    ids = await seed(2)
    reconfigured = WebhookChannel(http, [receiver.base_url + "/services/another/hook"])

    report = await dispatch(T0, channels={"webhook": reconfigured})

    assert report == DispatchReport(claimed=2, dead=2)
    rows = await load_notifications(sessionmaker, ids)
    destination = webhook_destination(receiver.url)
    for row in rows:
        assert row.status == "dead"
        assert row.last_error == (
            f"webhook {destination} is no longer configured "
            "(not among FIRSTSCAN_ALERT_WEBHOOK_URLS); not sent"
        )
    assert receiver.requests == []


async def test_a_notification_that_keeps_failing_dies_after_the_attempt_limit(
    seed, dispatch, receiver, sessionmaker
):
    [notification_id] = await seed(1)
    receiver.fail_next(10)
    policy = RetryPolicy(max_attempts=3)

    reports = [await dispatch(T0 + timedelta(hours=i), policy=policy) for i in range(5)]

    assert [(r.retried, r.dead) for r in reports] == [(1, 0), (1, 0), (0, 1), (0, 0), (0, 0)]
    [row] = await load_notifications(sessionmaker, [notification_id])
    assert row.status == "dead"
    assert row.last_error == "gave up after 3 attempts: HTTP 503: no_service"
    assert len(receiver.requests) == 3


async def test_rows_not_sent_before_the_lease_runs_short_are_released_unsent(
    seed, dispatch, receiver, sessionmaker
):
    ids = await seed(3)

    # A zero lease leaves no time to start any send: everything is given back, nothing sent.
    report = await dispatch_due_notifications(
        sessionmaker,
        channels=dispatch_channels(receiver, sessionmaker),
        worker_id="worker-a",
        now=T0,
        lease=timedelta(0),
    )

    assert report == DispatchReport(claimed=3, released=3)
    assert receiver.requests == []
    rows = await load_notifications(sessionmaker, ids)
    assert all(row.lease_owner is None and row.attempts == 0 for row in rows)
    assert (await dispatch(T0)).delivered == 3


def dispatch_channels(receiver, sessionmaker):
    class Unused:
        async def send(self, notification):  # pragma: no cover - must never run
            raise AssertionError("sent although the lease was too short")

    return {"webhook": Unused()}


async def test_a_channel_that_raises_is_retried_and_the_others_still_go_out(
    seed, dispatch, receiver, sessionmaker, webhook, caplog
):
    broken_id, healthy_id = await seed(2)

    class BreaksOnOne:
        async def send(self, notification):
            if notification.id == broken_id:
                raise RuntimeError(f"bug while posting to {receiver.url}")
            return await webhook.send(notification)

    report = await dispatch(T0, channels={"webhook": BreaksOnOne()})

    assert report == DispatchReport(claimed=2, delivered=1, retried=1)
    broken, healthy = await load_notifications(sessionmaker, [broken_id, healthy_id])
    assert (broken.status, broken.last_error) == ("pending", "channel raised RuntimeError")
    assert healthy.status == "delivered"
    assert "raised RuntimeError" in caplog.text
    assert SECRET_PATH not in caplog.text
    async with sessionmaker() as session:
        (entry,) = (await session.execute(select(QuarantinedMember))).scalars()
    assert (entry.member_type, entry.member_id, entry.job, entry.error) == (
        "message",
        broken_id,
        "dispatch",
        "channel raised RuntimeError",
    )
    assert SECRET_PATH not in entry.error

    report = await dispatch(T0 + timedelta(hours=1), channels={"webhook": webhook})

    assert report.delivered == 1
    async with sessionmaker() as session:
        assert (await session.execute(select(QuarantinedMember))).scalars().all() == []


async def test_notifications_of_a_channel_without_a_carrier_stay_pending(
    seed, dispatch, receiver, sessionmaker
):
    [email_id] = await seed(1, channel="customer_email", destination="jamie@example.com")

    report = await dispatch(T0)

    assert report.claimed == 0
    [row] = await load_notifications(sessionmaker, [email_id])
    assert (row.status, row.lease_owner) == ("pending", None)


async def test_answers_of_429_never_count_towards_giving_up_a_message(
    seed, dispatch, receiver, sessionmaker
):
    [notification_id] = await seed(1)
    receiver.fail_next(3, status=429, headers={"Retry-After": "5"})
    now = T0

    for _ in range(4):
        await dispatch(now, policy=RetryPolicy(max_attempts=2))
        now += timedelta(seconds=5)

    [row] = await load_notifications(sessionmaker, [notification_id])
    assert (row.status, row.attempts, row.rate_limited_attempts) == ("delivered", 4, 3)
    assert receiver.keys_accepted() == {row.idempotency_key: 1}
