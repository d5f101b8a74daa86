"""The story firstscan was born from, end to end on a fixed clock moved hour by hour: a worker
pass (`firstscan worker --once`) each hour against the mock carrier over HTTP, alerts delivered
to a loopback webhook receiver, the acceptance scan pushed in through the carrier webhook.

A label is printed Thu 17 Dec 2026 10:00 New York for a FedEx Ground Economy parcel. FedEx
scans it across the country and on Tue 22 Dec 12:16 EST tenders it to USPS under a second
number; USPS never scans it. Business day 0 is Tue 22 Dec (tendered before the 17:00 cutoff),
day 1 Wed 23, day 2 Thu 24; Fri 25 is Christmas and 26-27 a weekend, so day 2 ends, and the
handoff_gap alert opens, at 00:00 EST on Mon 28 Dec 2026 (calendar counting would say the 25th).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from app.alerts.models import Alert, AlertNotification, WorkItem
from app.main import create_app
from app.shipments.models import Leg
from app.tracking.models import LegEvent
from app.tracking.webhooks import sign_delivery
from carriers.sandbox import example_number, plan_timeline
from carriers.sandbox.timeline import Scan
from carriers.sandbox.vocabulary import Milestone, wording
from tests.factories import create_order

pytestmark = pytest.mark.slow

NEW_YORK = ZoneInfo("America/New_York")
LABEL_AT = datetime(2026, 12, 17, 10, 0, tzinfo=NEW_YORK)
CONSOLIDATOR_NUMBER = example_number("fedex", "handoff_gap", 0)
TENDERED_AT = datetime(2026, 12, 22, 12, 16, tzinfo=NEW_YORK)
ALERT_OPENS_AT = datetime(2026, 12, 28, 0, 0, tzinfo=NEW_YORK)
USPS_ACCEPTS_AT = datetime(2026, 12, 28, 10, 20, tzinfo=NEW_YORK)
WEBHOOK_SECRET = "seed-story-webhook-secret"


def on_the_hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


async def alerts(sessionmaker) -> list[Alert]:
    async with sessionmaker() as session:
        return list((await session.execute(select(Alert).order_by(Alert.id))).scalars())


async def story_order(sessionmaker, mock_carrier) -> tuple[int, int]:
    """The shop's order with the consolidator's number; the mock plays its timeline."""
    timeline = plan_timeline("fedex", CONSOLIDATOR_NUMBER, label_created_at=LABEL_AT)
    assert timeline.scans[-1].local_at == TENDERED_AT, "the story's data"
    await mock_carrier.fix_shipments(
        [{"carrier": "fedex", "tracking_number": CONSOLIDATOR_NUMBER,
          "scenario": "handoff_gap", "label_created_at": LABEL_AT.isoformat()}]
    )  # fmt: skip
    async with sessionmaker() as session:
        order_id, (leg,) = await create_order(
            session,
            now=LABEL_AT,
            label_at=LABEL_AT,
            shipments=[{"tracking_number": CONSOLIDATOR_NUMBER, "carrier": "fedex"}],
            promised_delivery_date=None,  # no promise: the hand-off gap alone tells the story
        )
        await session.commit()
    return order_id, leg.id


async def step_until_an_alert(worker, sessionmaker, *, start: datetime, end: datetime) -> datetime:
    """Hour by hour; returns the first hour after which any alert exists."""
    at = start
    while at <= end:
        await worker.step_to(at)
        if await alerts(sessionmaker):
            return at
        at += timedelta(hours=1)
    raise AssertionError(f"no alert by {end}")


async def push_acceptance(app, usps_number: str, now: datetime) -> httpx.Response:
    """USPS pushes its acceptance scan to POST /v1/webhooks/usps, signed as a carrier would."""
    place = plan_timeline("usps", usps_number).destination
    milestone = Milestone.ACCEPTED_AT_DESTINATION
    event = Scan(milestone, USPS_ACCEPTS_AT.astimezone(UTC), place, wording("usps", milestone))
    scan = event.to_event()
    location = scan.location
    body = json.dumps(
        {
            "tracking_number": usps_number,
            "events": [
                {
                    "status": scan.status.value,
                    "code": scan.carrier_code,
                    "description": scan.description,
                    "occurred_at": scan.occurred_at.isoformat(),
                    "location": dataclasses.asdict(location) if location else None,
                }
            ],
        }
    ).encode()
    stamp = int(now.timestamp())
    delivery = f"usps-{usps_number}-accepted"
    signature = sign_delivery(
        WEBHOOK_SECRET, timestamp=stamp, delivery_id=delivery, carrier="usps", body=body
    )
    headers = {
        "Content-Type": "application/json",
        "X-Firstscan-Signature": signature,
        "X-Firstscan-Timestamp": str(stamp),
        "X-Firstscan-Delivery": delivery,
    }
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.post("/v1/webhooks/usps", content=body, headers=headers)


async def usps_accepts(worker, sessionmaker, mock_carrier) -> datetime:
    """USPS scans the parcel at last: its API shows the scan, and it pushes it to us an hour
    later; returns when the push arrived."""
    async with sessionmaker() as session:
        usps_number = await session.scalar(select(Leg.tracking_number).where(Leg.carrier == "usps"))
    await mock_carrier.feed_scan("usps", usps_number, "accepted_at_destination", USPS_ACCEPTS_AT)
    pushed_at = on_the_hour(USPS_ACCEPTS_AT) + timedelta(hours=1)
    worker.clock.now = pushed_at
    app = create_app(
        worker.context.settings,
        engine=sessionmaker.kw["bind"],
        sessionmaker=sessionmaker,
        clock=worker.clock,
    )
    response = await push_acceptance(app, usps_number, now=pushed_at)
    assert response.json() == {"accepted": True, "duplicate": False}
    return pushed_at


async def assert_delivered_once(sessionmaker, receiver) -> None:
    """Ops heard of the parcel's problem in its group's message (a 503, then the same key
    again, accepted once); nobody acknowledged it, so it was escalated and announced again."""
    async with sessionmaker() as session:
        sent = (
            (await session.execute(select(AlertNotification).order_by(AlertNotification.id)))
            .scalars()
            .all()
        )
    first, *later = sent
    assert (first.event, first.status, first.attempts) == ("group", "delivered", 2)
    assert first.payload["new_count"] == 1
    assert first.payload["group"] == {"team": "ops", "rule": "handoff_gap"}
    assert receiver.keys_seen()[first.idempotency_key] == 2, "a 503, then the same key again"
    assert receiver.keys_accepted()[first.idempotency_key] == 1
    # Then, while it stays open, the repeats of what is still open (every 4 hours): nothing new.
    assert {(m.event, m.status, m.payload["new_count"]) for m in later} == {
        ("group", "delivered", 0)
    }
    assert set(receiver.keys_accepted().values()) == {1}
    async with sessionmaker() as session:
        [item] = (await session.execute(select(WorkItem))).scalars().all()
    # Nobody acknowledged it within 30 minutes: escalated (before the worker's next pass sent
    # the first message, as the worker runs hourly here), once.
    assert item.escalated_at == ALERT_OPENS_AT + timedelta(hours=1)


async def assert_acceptance_stored_once(sessionmaker, *, pushed_at: datetime) -> None:
    async with sessionmaker() as session:
        leg = await session.scalar(select(Leg).where(Leg.carrier == "usps"))
        accepted = (
            await session.execute(
                select(LegEvent.source).where(
                    LegEvent.leg_id == leg.id, LegEvent.status == "accepted"
                )
            )
        ).all()
    assert leg.last_polled_at > pushed_at, "polled after the push"
    assert accepted == [("webhook",)], "pushed, then polled: one scan, stored once"


async def test_the_handoff_gap_opens_on_its_business_day_is_sent_once_and_closes_on_acceptance(
    stepped_worker, committing_sessionmaker, mock_carrier, receiver
):
    sessionmaker = committing_sessionmaker
    worker = stepped_worker(
        on_the_hour(LABEL_AT), alert_webhook_urls=receiver.url, webhook_secret=WEBHOOK_SECRET
    )
    await story_order(sessionmaker, mock_carrier)
    receiver.fail_next(1, status=503)  # the first delivery fails; the retry carries the same key

    opened = await step_until_an_alert(
        worker, sessionmaker, start=on_the_hour(LABEL_AT), end=ALERT_OPENS_AT + timedelta(days=3)
    )

    [alert] = await alerts(sessionmaker)
    assert (alert.rule, alert.carrier, alert.status) == ("handoff_gap", "usps", "open")
    assert opened == alert.opened_at == ALERT_OPENS_AT
    await worker.step_hourly(opened + timedelta(hours=1), on_the_hour(USPS_ACCEPTS_AT))
    pushed_at = await usps_accepts(worker, sessionmaker, mock_carrier)
    # Past the accepted leg's next poll (12 h later), which reads the same scan from the API.
    await worker.step_hourly(pushed_at, pushed_at + timedelta(hours=13))

    [alert] = await alerts(sessionmaker)
    assert (alert.status, alert.outcome, alert.auto_resolved) == (
        "resolved",
        "carrier_found_it",
        True,
    )
    assert alert.resolved_at == pushed_at
    await assert_delivered_once(sessionmaker, receiver)
    await assert_acceptance_stored_once(sessionmaker, pushed_at=pushed_at)


SEED_SENTENCE = (
    "FedEx handed the parcel to USPS on Tuesday 22 December; USPS has not scanned it since."
)


async def test_the_seed_story_reads_in_the_same_true_words_for_customer_agent_and_ops(
    stepped_worker, committing_sessionmaker, mock_carrier, receiver
):
    """Issue 13: the customer JSON, the customer page, the console and the ops message all tell
    the same sentence, naming both carriers and the one that is silent."""
    from html import unescape

    from app.auth import service as auth_service
    from app.auth.roles import Role
    from app.shipments.models import Order
    from tests.e2e.console.conftest import sign_in

    sessionmaker = committing_sessionmaker
    worker = stepped_worker(on_the_hour(LABEL_AT), alert_webhook_urls=receiver.url)
    order_id, _ = await story_order(sessionmaker, mock_carrier)
    await step_until_an_alert(
        worker, sessionmaker, start=on_the_hour(LABEL_AT), end=ALERT_OPENS_AT + timedelta(days=1)
    )
    await worker.step_to(ALERT_OPENS_AT.astimezone(UTC) + timedelta(hours=1))  # delivers it
    async with sessionmaker() as session:
        order = await session.get(Order, order_id)
        _, agent_key = await auth_service.create_key(session, role=Role.AGENT, name="a", actor="t")
        await session.commit()
    app = create_app(
        worker.context.settings,
        engine=sessionmaker.kw["bind"],
        sessionmaker=sessionmaker,
        clock=worker.clock,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        status = await client.get(
            f"/v1/public/status/{order.order_number}", params={"postal_code": "97211"}
        )
        form = {"order_number": order.order_number, "postal_code": "97211"}
        page = await client.post("/track", data=form)
        assert page.status_code == 200, (page.status_code, page.headers)
        await sign_in(client, agent_key)
        console = await client.get(f"/console/orders/{order.order_number}")

    customer = status.json()
    assert customer["notice"].startswith(SEED_SENTENCE)
    (shipment,) = customer["shipments"]
    assert shipment["carrier_name"] == "USPS"  # FedEx says USPS has it
    assert [part["carrier_name"] for part in shipment["journey"]] == ["FedEx", "USPS"]
    assert shipment["journey"][1]["words"].startswith("Has not scanned the parcel since FedEx")
    assert SEED_SENTENCE in unescape(page.text)
    assert SEED_SENTENCE in unescape(console.text)
    (ops,) = [r.body for r in receiver.requests if r.status == 200]
    assert SEED_SENTENCE in json.dumps(ops["blocks"])  # the message a person reads
