from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.alerts import service as alerts_service
from app.alerts.channels import EmailChannel, render_customer_email
from app.alerts.dispatch import dispatch_due_notifications
from app.alerts.models import AlertNotification
from app.alerts.schemas import Outcome
from app.audit.models import AuditEntry
from app.kernel.findings import Finding, Severity
from app.public.links import TrackLinks
from app.settings import Settings
from app.wiring import build_alert_policy
from tests.factories import create_order, fedex_number, shipment_payload, usps_number
from tests.integration.alerts.test_email_channel import Inbox, plain_config, start_smtp

SECRET = "integration-secret"


@pytest.fixture
def policy(clock):
    settings = Settings(
        customer_notify=True, secret_key=SECRET, public_base_url="https://shop.example"
    )
    return build_alert_policy(settings, clock=clock)


def links(clock) -> TrackLinks:
    return TrackLinks(SECRET, max_age=timedelta(days=30), clock=clock)


async def handoff_order(session, clock, *, email="jamie.rivera@example.com"):
    order_id, (first, last) = await create_order(
        session,
        now=clock.now,
        customer_email=email,
        shipments=[
            shipment_payload(
                tracking_number=fedex_number(),
                carrier="fedex",
                last_mile={"carrier": "usps", "tracking_number": usps_number()},
            )
        ],
    )
    return order_id, first, last


def finding(leg, rule: str) -> Finding:
    return Finding(
        rule=rule,
        severity=Severity.CRITICAL,
        leg_id=leg.id,
        carrier=leg.carrier,
        tracking_number=leg.tracking_number,
        explanation="USPS has never scanned the parcel.",
        recommended_action="Open a trace.",
    )


async def open_alert(session, clock, policy, order_id, order_number, leg, rule):
    subject = alerts_service.FindingSubject(
        order_id=order_id, order_number=order_number, last_activity_at=None
    )
    return await alerts_service.record_finding(
        session, finding=finding(leg, rule), subject=subject, policy=policy, now=clock.now
    )


async def customer_rows(session) -> list[AlertNotification]:
    stmt = select(AlertNotification).where(AlertNotification.channel == "customer_email")
    return list((await session.execute(stmt)).scalars())


async def test_a_handoff_gap_queues_one_honest_email_with_a_signed_link(session, clock, policy):
    order_id, _, last = await handoff_order(session, clock)
    number = (
        await session.execute(select(AuditEntry.entity_id).where(AuditEntry.order_id == order_id))
    ).scalar()

    alert = await open_alert(session, clock, policy, order_id, number, last, "handoff_gap")

    [row] = await customer_rows(session)
    assert (row.alert_id, row.destination, row.event) == (
        alert.id,
        "jamie.rivera@example.com",
        "customer_notice",
    )
    body = row.payload["body"]
    assert "The carrier has not received your parcel yet." in body
    assert "will contact you by Monday 21 December." in body
    link = next(line for line in body.splitlines() if "/track/t/" in line)
    assert link.startswith("https://shop.example/track/t/")
    assert links(clock).read(link.rsplit("/", 1)[1]) == number
    assert last.tracking_number not in body
    queued = (
        await session.execute(
            select(AuditEntry).where(AuditEntry.action == "customer.notice_queued")
        )
    ).scalar_one()
    assert queued.order_id == order_id


async def test_the_customer_is_told_once_per_order_and_problem(session, clock, policy):
    order_id, first, last = await handoff_order(session, clock)
    await open_alert(session, clock, policy, order_id, "X", first, "never_inducted")
    await open_alert(session, clock, policy, order_id, "X", last, "handoff_gap")
    alert = await open_alert(session, clock, policy, order_id, "X", last, "handoff_gap")

    assert len(await customer_rows(session)) == 1
    # The same problem reopening after a person closed it does not email again either.
    await alerts_service.resolve(
        session, alert_id=alert.id, outcome=Outcome.RESHIPPED, note=None, actor="ops", now=clock.now
    )
    clock.now += timedelta(days=1)
    last.last_event_at = clock.now
    subject = alerts_service.FindingSubject(
        order_id=order_id, order_number="X", last_activity_at=clock.now
    )
    await alerts_service.record_finding(
        session, finding=finding(last, "handoff_gap"), subject=subject, policy=policy, now=clock.now
    )
    assert len(await customer_rows(session)) == 1


@pytest.mark.parametrize("rule", ["late", "stalled", "exception"])
async def test_other_rules_send_the_customer_nothing(session, clock, policy, rule):
    order_id, _, last = await handoff_order(session, clock)

    await open_alert(session, clock, policy, order_id, "X", last, rule)

    assert await customer_rows(session) == []


async def test_nothing_is_sent_when_the_setting_is_off_or_there_is_no_email(session, clock, policy):
    order_id, _, last = await handoff_order(session, clock)
    off = build_alert_policy(Settings(), clock=clock)
    await open_alert(session, clock, off, order_id, "X", last, "handoff_gap")
    no_email_id, _, other = await handoff_order(session, clock, email=None)
    await open_alert(session, clock, policy, no_email_id, "Y", other, "handoff_gap")

    assert off.customer_notice is None
    assert await customer_rows(session) == []


async def test_the_dispatcher_emails_the_customer_without_internal_headers(
    sessionmaker, session, clock, policy
):
    inbox = Inbox()
    controller = start_smtp(inbox)
    try:
        order_id, _, last = await handoff_order(session, clock)
        await open_alert(session, clock, policy, order_id, "X", last, "handoff_gap")
        await session.commit()

        report = await dispatch_due_notifications(
            sessionmaker,
            channels={
                "customer_email": EmailChannel(
                    plain_config(controller.port),
                    render=render_customer_email,
                    customer_facing=True,
                )
            },
            worker_id="worker-a",
            now=clock.now,
        )
    finally:
        controller.stop()

    assert report.delivered == 1
    [(recipients, message)] = inbox.messages
    assert recipients == ["jamie.rivera@example.com"]
    assert message["Subject"].endswith(": an update on your parcel")
    assert "X-Firstscan-Alert-Id" not in message
    assert "The carrier has not received your parcel yet." in message.get_content()
