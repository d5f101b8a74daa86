"""What waits for a carrier call, per carrier (issue 14): `report calls` and /metrics show it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.shipments.models import Leg
from app.tracking.backlog import load_backlog
from tests.factories import create_order, ups_number, usps_number
from tests.integration.reconciliation.test_reconcile_orders import AFTER_DEADLINE, LABEL_AT


async def test_the_backlog_counts_due_legs_their_oldest_wait_and_those_past_a_deadline(session):
    now = AFTER_DEADLINE
    legs = []
    for number, carrier in (
        (usps_number(), "usps"),
        (usps_number(), "usps"),
        (ups_number(), "ups"),
    ):
        _, (leg,) = await create_order(
            session,
            now=LABEL_AT,
            label_at=LABEL_AT,
            shipments=[{"tracking_number": number, "carrier": carrier, "label_created_at": ""}],
        )
        legs.append(leg)
    schedule = [
        (legs[0], now - timedelta(hours=5), now - timedelta(days=1)),  # due, deadline passed
        (legs[1], now - timedelta(hours=1), now + timedelta(days=2)),  # due, deadline ahead
        (legs[2], now + timedelta(hours=3), now - timedelta(days=1)),  # not due yet
    ]
    for leg, due, deadline in schedule:
        await session.execute(
            update(Leg).where(Leg.id == leg.id).values(next_poll_at=due, alert_deadline_at=deadline)
        )

    (usps,) = await load_backlog(session, now=now)

    assert (usps.carrier, usps.due_legs, usps.overdue_legs) == ("usps", 2, 1)
    assert usps.oldest_wait(now) == timedelta(hours=5)
