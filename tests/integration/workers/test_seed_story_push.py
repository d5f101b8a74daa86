"""The seed story with push only (issue 18): the consolidator's FedEx number is covered by the
shop's FedEx account (configured) and the USPS hand-off number, the consolidator's under its own
Mailer ID, by a subscription of its own number, so both legs count as pushed and are polled only
as the safety net. FedEx pushes every scan (AIV pushes as mock_carriers renders them, signed, into
the inbox a few minutes after each scan), the tender to USPS included; USPS never pushes. The
confirmation poll of the USPS leg runs in the evening before the deadline, finds nothing, and
`handoff_gap` opens at 00:00 EST Mon 28 Dec 2026 (the business day test_seed_story.py explains),
once."""

from __future__ import annotations

from datetime import timedelta

from pydantic import SecretStr
from sqlalchemy import select

from app.alerts.models import Alert
from app.shipments.models import Leg
from app.tracking import inbox
from app.tracking.cadence import CADENCE
from app.tracking.models import CarrierSubscription
from carriers.sandbox import plan_timeline
from mock_carriers.pushing import fedex_push
from tests.integration.workers.conftest import POSTGRES_ONLY
from tests.integration.workers.test_seed_story import (
    ALERT_OPENS_AT,
    CONSOLIDATOR_NUMBER,
    LABEL_AT,
    TENDERED_AT,
    on_the_hour,
    story_order,
)

PUSHED_AFTER = timedelta(minutes=5)
WEEK_IN_MINUTES = 7 * 24 * 60


async def store_fedex_pushes(sessionmaker, timeline, scans, *, now) -> None:
    async with sessionmaker() as session:
        for scan in scans:
            push = fedex_push(timeline, scan, url="(inbox)", secret="not-checked-here")
            await inbox.store_push(
                session,
                carrier="fedex",
                push_format=inbox.FEDEX_AIV,
                body=push.body.decode(),
                key=inbox.dedupe_key(push.body),
                now=now,
            )
        await session.commit()


@POSTGRES_ONLY
async def test_with_push_only_the_handoff_gap_opens_once_on_its_business_day(
    stepped_worker, committing_sessionmaker, mock_carrier
):
    sessionmaker = committing_sessionmaker
    await story_order(sessionmaker, mock_carrier)
    # Push turned on as the README says: the shop's FedEx account and its USPS Mailer ID (the
    # worker keeps their account-wide subscriptions). The channel is healthy (FedEx pushes what
    # happens); USPS has nothing to push.
    worker = stepped_worker(
        on_the_hour(LABEL_AT),
        push_silence_minutes=WEEK_IN_MINUTES,
        fedex_push_accounts="510087020",
        fedex_push_security_token=SecretStr("fedex-aiv-token"),
        usps_push_mailer_ids="902000001",
        usps_push_secret=SecretStr("usps-subscription-secret"),
        # The hand-off number is the consolidator's: subscribed on its own at the mock's USPS
        # Subscriptions - Tracking endpoint as soon as the worker sees it.
        push_listener_base_url="https://shop.example",
        usps_push_handoff_numbers=True,
    )
    timeline = plan_timeline("fedex", CONSOLIDATOR_NUMBER, label_created_at=LABEL_AT)
    unpushed = list(timeline.scans)

    at = on_the_hour(LABEL_AT)
    while at <= ALERT_OPENS_AT + timedelta(hours=6):
        due = [scan for scan in unpushed if scan.at + PUSHED_AFTER <= at]
        if due:
            await store_fedex_pushes(sessionmaker, timeline, due, now=at)
            unpushed = unpushed[len(due) :]
        await worker.step_to(at)
        if at == ALERT_OPENS_AT - timedelta(hours=1):
            polls_before_the_deadline = await usps_polls(sessionmaker, mock_carrier)
            async with sessionmaker() as session:
                confirmed_at = await session.scalar(
                    select(Leg.last_polled_at).where(Leg.carrier == "usps")
                )
        at += timedelta(hours=1)

    async with sessionmaker() as session:
        usps = await session.scalar(select(Leg).where(Leg.carrier == "usps"))
        fedex = await session.scalar(select(Leg).where(Leg.carrier == "fedex"))
        alerts = list((await session.execute(select(Alert).order_by(Alert.id))).scalars())
    assert usps is not None, "the FedEx push of the tender named the USPS number"
    assert fedex.status == "handed_off"
    assert fedex.handed_off_at == TENDERED_AT
    [alert] = alerts
    assert (alert.rule, alert.carrier, alert.tracking_number, alert.status) == (
        "handoff_gap",
        "usps",
        usps.tracking_number,
        "open",
    )
    assert alert.opened_at == ALERT_OPENS_AT

    shortest, longest = CADENCE.confirmation_window
    # The USPS leg's last poll before the deadline is the confirmation, on the evening before.
    assert ALERT_OPENS_AT - longest <= confirmed_at <= ALERT_OPENS_AT - shortest
    # Its history when it appeared, the cadence's next poll (its subscription came after that
    # first poll), that confirmation, and at most the 72-hour backstops of the six days between:
    # never the polling cadence's polls every few hours, hourly at the end.
    backstops = (ALERT_OPENS_AT - TENDERED_AT) // timedelta(hours=72)
    assert 2 <= polls_before_the_deadline <= 3 + backstops, polls_before_the_deadline
    asked = await mock_carrier.asked()
    fedex_polls = len(asked.get(("fedex", CONSOLIDATOR_NUMBER), []))
    # Five days in transit: the cadence polls a moving leg every 6 hours (20 and more); pushed,
    # it is polled for its history and as the safety net only.
    assert 1 <= fedex_polls < 10, fedex_polls
    async with sessionmaker() as session:
        subscription = await session.scalar(
            select(CarrierSubscription).where(CarrierSubscription.leg_id == usps.id)
        )
    assert (subscription.carrier, subscription.scope, subscription.state) == (
        "usps",
        "number",
        "active",
    )


async def usps_polls(sessionmaker, mock_carrier) -> int:
    async with sessionmaker() as session:
        number = await session.scalar(select(Leg.tracking_number).where(Leg.carrier == "usps"))
    return len((await mock_carrier.asked()).get(("usps", number), []))
