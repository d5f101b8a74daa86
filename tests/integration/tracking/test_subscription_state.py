"""Subscription state: failures back off, a refused request is not retried, a request whose
worker died is asked again, and a subscription of a leg no longer tracked lapses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from app.shipments.models import Leg
from app.tracking import subscriptions
from app.tracking.models import CarrierSubscription
from tests.factories import create_order, ups_number

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


async def one_ups_leg(session) -> int:
    _, (leg,) = await create_order(
        session,
        now=NOW - timedelta(hours=2),
        label_at=NOW - timedelta(hours=2),
        shipments=[{"tracking_number": ups_number(), "carrier": "ups", "label_created_at": ""}],
    )
    await subscriptions.add_new_legs(session, carrier="ups", now=NOW)
    return leg.id


async def claim(session, at: datetime) -> list[subscriptions.ClaimedSubscription]:
    return await subscriptions.claim_due(session, carrier="ups", now=at, limit=100)


async def the_row(session) -> CarrierSubscription:
    return await session.scalar(
        select(CarrierSubscription).execution_options(populate_existing=True)
    )


async def test_a_new_leg_gets_one_row_in_state_none(session):
    await one_ups_leg(session)
    assert await subscriptions.add_new_legs(session, carrier="ups", now=NOW) == 0

    row = await the_row(session)
    assert (row.state, row.scope, row.attempts) == ("none", "number", 0)


async def test_a_failed_request_is_retried_later_each_time_doubling(session):
    await one_ups_leg(session)
    waits = []
    at = NOW
    for _ in range(3):
        claimed = await claim(session, at)
        assert len(claimed) == 1
        await subscriptions.record_failure(
            session, claimed, error="UPS failed (HTTP 500)", retryable=True, now=at
        )
        row = await the_row(session)
        waits.append(row.next_attempt_at - at)
        assert await claim(session, row.next_attempt_at - timedelta(seconds=1)) == []
        at = row.next_attempt_at

    assert waits == [timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=20)]
    assert (row.state, row.attempts, row.last_error) == ("failed", 3, "UPS failed (HTTP 500)")


async def test_a_refused_request_is_not_retried(session):
    await one_ups_leg(session)
    claimed = await claim(session, NOW)
    await subscriptions.record_failure(
        session, claimed, error="VSS700 Credential is empty", retryable=False, now=NOW
    )

    assert await claim(session, NOW + timedelta(days=30)) == []
    assert (await the_row(session)).state == "failed"


async def test_a_request_whose_worker_died_is_asked_again_after_ten_minutes(session):
    await one_ups_leg(session)
    assert len(await claim(session, NOW)) == 1  # pending; the worker dies before the answer

    assert await claim(session, NOW + timedelta(minutes=9)) == []
    assert len(await claim(session, NOW + timedelta(minutes=11))) == 1


async def test_a_subscription_of_a_leg_no_longer_tracked_lapses(session):
    leg_id = await one_ups_leg(session)
    claimed = await claim(session, NOW)
    await subscriptions.record_answer(
        session,
        claimed,
        subscribed=[claimed[0].number],
        reference="trans-1",
        expires_at=NOW + timedelta(days=14),
        now=NOW,
    )
    await session.execute(update(Leg).where(Leg.id == leg_id).values(active=False))
    later = NOW + timedelta(days=14)

    assert await claim(session, later - timedelta(days=1)) == []  # not renewed: not tracked
    assert await subscriptions.expire_lapsed(session, now=later) == 1
    row = await the_row(session)
    assert (row.state, row.carrier_reference) == ("expired", "trans-1")
