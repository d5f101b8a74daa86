from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.alerts.delivery import webhook_destination
from app.alerts.grouping import GroupingPolicy
from app.alerts.models import Alert, AlertNotification
from app.alerts.notifier import NotifierPolicy, notify
from app.alerts.opening import notification_destinations
from app.alerts.service import AlertPolicy
from app.audit.models import AuditEntry
from app.reconciliation import service, sweep
from app.reconciliation.service import ReconciliationConfig
from app.shipments.models import Order
from tests.factories import create_order, make_event, usps_number

# Mon 7 Dec 2026 10:00 New York: the never-inducted deadline (2 business days) is Thu 10 Dec 00:00.
LABEL_AT = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
AFTER_DEADLINE = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
CONFIG = ReconciliationConfig(
    policy=AlertPolicy(
        webhook_urls=("https://hooks.example.test/T000/B000/secret",),
        email_recipients=("ops@example.test",),
    )
)


async def usps_label_only_order(session, *, polled_at: datetime, **order):
    order_id, (leg,) = await create_order(
        session,
        now=LABEL_AT,
        label_at=LABEL_AT,
        shipments=[{"tracking_number": usps_number(), "carrier": "usps", "label_created_at": ""}],
        **order,
    )
    leg.status = "label_created"
    leg.last_successful_poll_at = polled_at
    session.add(make_event(leg, status="label_created", at=LABEL_AT, code="GX"))
    await session.flush()
    return order_id, leg


NOTIFIER = NotifierPolicy(
    destinations=tuple(notification_destinations(CONFIG.policy)),
    grouping=GroupingPolicy(group_wait=timedelta(seconds=30)),
    escalate_after=timedelta(days=1),  # escalation has tests of its own
)


async def announce(session, *, now: datetime) -> list[AlertNotification]:
    """A notifier pass (grouped ops messages) at `now`; every outbox row so far."""
    await notify(session, now=now, policy=NOTIFIER)
    return list((await session.execute(select(AlertNotification))).scalars())


async def alerts(session) -> list[Alert]:
    return list((await session.execute(select(Alert).order_by(Alert.id))).scalars())


async def test_a_label_never_scanned_opens_one_never_inducted_alert_with_its_outbox(session):
    order_id, leg = await usps_label_only_order(session, polled_at=AFTER_DEADLINE)

    await service.reconcile_orders(session, order_ids=[order_id], now=AFTER_DEADLINE, config=CONFIG)

    (alert,) = await alerts(session)
    assert (alert.rule, alert.status, alert.leg_id, alert.team) == (
        "never_inducted",
        "open",
        leg.id,
        "ops",
    )
    assert "USPS" in alert.explanation
    assert await announce(session, now=AFTER_DEADLINE + timedelta(seconds=29)) == []
    notifications = await announce(session, now=AFTER_DEADLINE + timedelta(seconds=30))
    assert {(n.event, n.group_key) for n in notifications} == {
        ("group", "team=ops&rule=never_inducted")
    }
    assert sorted((n.channel, n.destination) for n in notifications) == [
        ("email", "ops@example.test"),
        ("webhook", webhook_destination("https://hooks.example.test/T000/B000/secret")),
    ]
    assert all("secret" not in n.destination for n in notifications)
    actions = (await session.execute(select(AuditEntry.action))).scalars().all()
    assert "alert.opened" in actions


async def test_a_repeat_finding_refreshes_the_open_alert_without_new_messages(session):
    order_id, _ = await usps_label_only_order(session, polled_at=AFTER_DEADLINE)
    await service.reconcile_orders(session, order_ids=[order_id], now=AFTER_DEADLINE, config=CONFIG)
    assert len(await announce(session, now=AFTER_DEADLINE + timedelta(minutes=1))) == 2
    later = AFTER_DEADLINE + timedelta(hours=3)

    await service.reconcile_orders(session, order_ids=[order_id], now=later, config=CONFIG)

    (alert,) = await alerts(session)
    assert alert.last_seen_at == later
    assert len(await announce(session, now=later)) == 2, "nothing new, no repeat yet"


async def test_an_acceptance_scan_auto_resolves_the_alert_with_the_reason(session):
    order_id, leg = await usps_label_only_order(session, polled_at=AFTER_DEADLINE)
    await service.reconcile_orders(session, order_ids=[order_id], now=AFTER_DEADLINE, config=CONFIG)
    scanned = AFTER_DEADLINE + timedelta(hours=2)
    session.add(make_event(leg, status="accepted", at=scanned, code="03"))
    leg.status, leg.last_event_at, leg.last_successful_poll_at = "accepted", scanned, scanned
    await session.flush()

    await service.reconcile_orders(
        session, order_ids=[order_id], now=scanned + timedelta(minutes=5), config=CONFIG
    )

    (alert,) = await alerts(session)
    assert (alert.status, alert.outcome, alert.auto_resolved) == (
        "resolved",
        "carrier_found_it",
        True,
    )
    assert "USPS has scanned the parcel" in alert.resolution_note
    actions = (await session.execute(select(AuditEntry.action))).scalars().all()
    assert "alert.auto_resolved" in actions


async def test_a_leg_whose_polls_failed_raises_no_never_inducted_alert(session):
    order_id, _ = await usps_label_only_order(session, polled_at=LABEL_AT + timedelta(hours=1))

    await service.reconcile_orders(session, order_ids=[order_id], now=AFTER_DEADLINE, config=CONFIG)

    assert await alerts(session) == []


async def test_an_open_alert_stays_open_while_the_carrier_cannot_be_reached(session):
    order_id, _leg = await usps_label_only_order(session, polled_at=AFTER_DEADLINE)
    await service.reconcile_orders(session, order_ids=[order_id], now=AFTER_DEADLINE, config=CONFIG)

    await service.reconcile_orders(
        session, order_ids=[order_id], now=AFTER_DEADLINE + timedelta(days=3), config=CONFIG
    )

    (alert,) = await alerts(session)
    assert alert.status == "open"


async def test_a_person_closing_an_alert_is_not_overruled_until_something_happens(session):
    from app.alerts import service as alerts_service
    from app.alerts.schemas import Outcome

    order_id, leg = await usps_label_only_order(session, polled_at=AFTER_DEADLINE)
    await service.reconcile_orders(session, order_ids=[order_id], now=AFTER_DEADLINE, config=CONFIG)
    (alert,) = await alerts(session)
    await alerts_service.resolve(
        session,
        alert_id=alert.id,
        outcome=Outcome.RESHIPPED,
        note="sent a new parcel",
        actor="sam",
        now=AFTER_DEADLINE,
    )
    leg.last_successful_poll_at = AFTER_DEADLINE + timedelta(hours=6)

    await service.reconcile_orders(
        session, order_ids=[order_id], now=AFTER_DEADLINE + timedelta(hours=6), config=CONFIG
    )

    assert [a.status for a in await alerts(session)] == ["resolved"]


async def test_the_order_is_scheduled_for_its_next_deadline(session):
    order_id, _ = await usps_label_only_order(session, polled_at=LABEL_AT + timedelta(hours=1))
    now = LABEL_AT + timedelta(hours=1)

    (verdict,) = await service.reconcile_orders(
        session, order_ids=[order_id], now=now, config=CONFIG
    )

    order = await session.get(Order, order_id)
    assert verdict.findings == []
    assert order.reconcile_due_at == datetime(2026, 12, 10, 5, 0, tzinfo=UTC)


async def test_the_sweep_judges_only_orders_that_are_due(session):
    due_id, _ = await usps_label_only_order(session, polled_at=AFTER_DEADLINE)
    later_id, _ = await usps_label_only_order(session, polled_at=AFTER_DEADLINE)
    later = await session.get(Order, later_id)
    later.reconcile_due_at = AFTER_DEADLINE + timedelta(days=1)
    await session.flush()

    verdicts = (
        await sweep.reconcile_due_orders(session, now=AFTER_DEADLINE, config=CONFIG)
    ).verdicts

    assert [v.order_number for v in verdicts] == [(await session.get(Order, due_id)).order_number]


async def test_bulk_opening_falls_back_when_another_worker_opened_the_same_alert(session):
    from app.alerts import service as alerts_service
    from app.alerts.service import FindingSubject
    from app.kernel.findings import Finding, Severity

    order_id, leg = await usps_label_only_order(session, polled_at=AFTER_DEADLINE)
    finding = Finding(
        rule="never_inducted",
        severity=Severity.CRITICAL,
        leg_id=leg.id,
        carrier="usps",
        tracking_number=leg.tracking_number,
        explanation="USPS never scanned it.",
        recommended_action="Reship.",
    )
    subject = FindingSubject(order_id=order_id, order_number="x", last_activity_at=None)
    (first,) = await alerts_service.record_findings(
        session, findings=[(finding, subject)], open_alerts=[], policy=CONFIG.policy, now=LABEL_AT
    )

    # A second sweeper that did not see the first one's alert: the unique index keeps one.
    (second,) = await alerts_service.record_findings(
        session, findings=[(finding, subject)], open_alerts=[], policy=CONFIG.policy, now=LABEL_AT
    )

    assert second is not None
    assert second.id == first.id
    assert len(await alerts(session)) == 1
    assert len(await announce(session, now=LABEL_AT + timedelta(minutes=1))) == 2
