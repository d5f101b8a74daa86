"""A storm of work items reaches a Slack-like channel as a few grouped messages.

2,000 items open in one pass (two teams, four rules: eight groups), a second wave of 200 opens
after the first messages went out; a notifier loop and two dispatchers (each with its own
engine, as on separate machines) deliver to a receiver that allows 20 messages a second with a
burst of 3 (Slack's 1 a second, scaled up to keep the test short). One dispatcher is stopped
mid-way and another started. Every item is counted as new in exactly one delivered message, no
message is posted twice under one key, and the messages stay within
groups x (1 + window / group_interval). The 60,000 items of the benchmark's midnight are in
`bench/storm.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import db, migrate
from app.alerts import service as alerts_service
from app.alerts.channels import WebhookChannel, webhook_destination
from app.alerts.destinations import DestinationLimits
from app.alerts.dispatch import dispatch_due_notifications
from app.alerts.group_message import GroupMessage
from app.alerts.grouping import GroupingPolicy
from app.alerts.models import AlertNotification, WorkItem
from app.alerts.notifier import NotifierPolicy, notify
from app.alerts.opening import AlertPolicy, FindingSubject
from app.alerts.throttle import DestinationThrottle
from app.kernel.findings import Finding, Severity
from app.kernel.send_slots import Spacing
from app.settings.overrides import AlertRoute
from tests.factories import create_order, ups_number, usps_number
from tests.support.slack_receiver import running_slack_receiver
from tests.support.waiting import wait_until_async

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize(
        "empty_database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]

FIRST_WAVE, SECOND_WAVE = 2000, 200
RULES = ("never_inducted", "handoff_gap", "exception", "claim_mismatch")  # none joins another
GROUPS = 2 * len(RULES)
GROUPING = GroupingPolicy(
    group_wait=timedelta(seconds=1),
    group_interval=timedelta(seconds=3),
    repeat_interval=timedelta(hours=1),
)
RECEIVER_RATE, RECEIVER_BURST = 20.0, 3
LIMITS = {"webhook": DestinationLimits(Spacing(RECEIVER_RATE, burst=RECEIVER_BURST - 1))}
POLICY = AlertPolicy(routes=(AlertRoute(team="ups-desk", carrier="ups"),))
IDLE = 0.05


@pytest.fixture
async def sessionmakers(
    empty_database_url: str,
) -> AsyncIterator[list[async_sessionmaker[AsyncSession]]]:
    migrate.upgrade(empty_database_url)
    engines = [db.create_engine(empty_database_url, pool_size=3) for _ in range(4)]
    yield [db.create_sessionmaker(engine) for engine in engines]
    for engine in engines:
        await engine.dispose()


async def open_items(sessionmaker, count: int, *, offset: int) -> None:
    """`count` orders, each with one finding, opened in one pass of the per-order writer."""
    now = db.utcnow()
    async with sessionmaker() as session:
        findings = []
        for n in range(offset, offset + count):
            carrier, number = ("ups", ups_number()) if n % 2 else ("usps", usps_number())
            order_id, (leg,) = await create_order(
                session,
                now=now,
                label_at=now - timedelta(days=1),
                order_number=f"STORM-{n}",
                shipments=[{"tracking_number": number, "carrier": carrier}],
            )
            finding = Finding(
                rule=RULES[(n // 2) % len(RULES)],
                severity=Severity.WARNING,
                leg_id=leg.id,
                carrier=leg.carrier,
                tracking_number=leg.tracking_number,
                explanation=f"Problem {n}.",
                recommended_action="Look into it.",
            )
            findings.append((finding, FindingSubject(order_id, f"STORM-{n}", None)))
        await alerts_service.record_findings(
            session, findings=findings, open_alerts=[], policy=POLICY, now=db.utcnow()
        )
        await session.commit()


async def run_notifier(sessionmaker, policy: NotifierPolicy, done: asyncio.Event) -> None:
    while not done.is_set():
        async with sessionmaker() as session, session.begin():
            await notify(session, now=db.utcnow(), policy=policy)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=0.2)


async def run_dispatcher(sessionmaker, webhook: WebhookChannel, worker: str, done: asyncio.Event):
    throttle = DestinationThrottle(sessionmaker, LIMITS, clock=db.utcnow)
    while not done.is_set():
        report = await dispatch_due_notifications(
            sessionmaker,
            channels={"webhook": webhook},
            worker_id=worker,
            now=db.utcnow(),
            lease=timedelta(seconds=4),
            batch_size=5,
            throttle=throttle,
        )
        if report.claimed == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=IDLE)


async def group_rows(sessionmaker) -> list[AlertNotification]:
    async with sessionmaker() as session:
        stmt = select(AlertNotification).where(AlertNotification.event == "group")
        return list((await session.execute(stmt)).scalars())


async def test_a_storm_of_items_reaches_slack_as_a_few_grouped_messages(sessionmakers, http):
    total = FIRST_WAVE + SECOND_WAVE
    with running_slack_receiver(per_second=RECEIVER_RATE, burst=RECEIVER_BURST) as receiver:
        policy = NotifierPolicy(
            destinations=(("webhook", webhook_destination(receiver.url)),), grouping=GROUPING
        )
        webhook = WebhookChannel(http, [receiver.url])
        done = asyncio.Event()
        started = time.monotonic()
        await open_items(sessionmakers[0], FIRST_WAVE, offset=0)
        notifier = asyncio.create_task(run_notifier(sessionmakers[0], policy, done))
        first = asyncio.create_task(run_dispatcher(sessionmakers[1], webhook, "a", done))
        second = asyncio.create_task(run_dispatcher(sessionmakers[2], webhook, "b", done))

        await wait_until_async(
            lambda: receiver.count(200) >= 3, within=60, what="the first messages accepted"
        )
        first.cancel()  # stopped mid-way; what it leased is sent again after its lease
        restarted = asyncio.create_task(run_dispatcher(sessionmakers[3], webhook, "c", done))
        await open_items(sessionmakers[0], SECOND_WAVE, offset=FIRST_WAVE)

        async def every_item_announced_and_delivered() -> bool:
            async with sessionmakers[0]() as session:
                waiting = await session.scalar(
                    select(WorkItem.id).where(WorkItem.announced_at.is_(None)).limit(1)
                )
            rows = await group_rows(sessionmakers[0])
            return waiting is None and all(row.status == "delivered" for row in rows)

        await wait_until_async(
            every_item_announced_and_delivered, within=120, what="every item announced"
        )
        window = time.monotonic() - started
        done.set()
        await asyncio.gather(notifier, second, restarted)
        with contextlib.suppress(asyncio.CancelledError):
            await first

    rows = await group_rows(sessionmakers[0])
    messages = [GroupMessage.from_payload(row.payload) for row in rows]
    # Every item counted as new in exactly one delivered message.
    assert sum(message.new_count for message in messages) == total
    async with sessionmakers[0]() as session:
        items = list((await session.execute(select(WorkItem))).scalars())
    assert len(items) == total
    assert Counter(message.group["team"] for message in messages if message.sequence == 1) == {
        "ops": len(RULES),
        "ups-desk": len(RULES),
    }
    # A few messages per group, against one per alert.
    bound = GROUPS * (1 + window / GROUPING.group_interval.total_seconds())
    assert GROUPS <= len(rows) <= bound, f"{len(rows)} messages in {window:.1f} s"
    assert len(rows) < total / 50
    # No message posted twice under one key; each delivered row reached the channel.
    keys = {row.idempotency_key for row in rows}
    assert len(keys) == len(rows)
    assert receiver.posted() == dict.fromkeys(keys, 1)
