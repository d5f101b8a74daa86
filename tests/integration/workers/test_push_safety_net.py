"""Polling as the safety net of push, with worker passes hour by hour on a fixed clock against
the mock carrier over HTTP (which never pushes: every push is lost unless the test stores one).

Labels are printed Mon 7 Dec 2026 10:00 New York; a never-inducted label's deadline (2 business
days) is 00:00 EST Thu 10 Dec. Steps fall at :40 past each hour, so a confirmation poll (30 min
to 4 h before its deadline) always has a pass before the deadline."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select

from app.alerts.models import Alert
from app.shipments.models import Leg
from app.tracking import inbox
from app.tracking.cadence import CADENCE, confirmation_poll_at
from app.tracking.jobs import poll_due_legs
from app.tracking.models import CarrierCallCount, CarrierState, CarrierSubscription
from app.tracking.subscriptions import HISTORY_GRACE, SUBSCRIPTION_WAIT
from carriers.sandbox import example_number, plan_timeline
from carriers.types import TrackingStatus
from tests.factories import create_order, fedex_number, shipment_payload, usps_number
from tests.integration.workers.conftest import POSTGRES_ONLY
from tests.unit.carriers.payloads import payload_json

pytestmark = pytest.mark.slow

NEW_YORK = ZoneInfo("America/New_York")
LABEL_AT = datetime(2026, 12, 7, 10, 0, tzinfo=NEW_YORK)
NEVER_INDUCTED_DEADLINE = datetime(2026, 12, 10, 0, 0, tzinfo=NEW_YORK)
NOT_OURS = "1Z999AA10123456784"  # a number firstscan does not track: the push only shows life


async def subscribed_ups_orders(sessionmaker, mock_carrier, count: int) -> list[str]:
    """`count` orders of one normal UPS label each, every leg with an active Track Alert
    subscription from the label on."""
    numbers = [example_number("ups", "normal", i) for i in range(count)]
    await mock_carrier.fix_shipments(
        [{"carrier": "ups", "tracking_number": n, "scenario": "normal",
          "label_created_at": LABEL_AT.isoformat()} for n in numbers]
    )  # fmt: skip
    async with sessionmaker() as session:
        for number in numbers:
            _, (leg,) = await create_order(
                session,
                now=LABEL_AT,
                label_at=LABEL_AT,
                shipments=[{"tracking_number": number, "carrier": "ups"}],
                promised_delivery_date=None,
            )
            await session.execute(
                insert(CarrierSubscription).values(
                    carrier="ups", scope="number", subject=number, leg_id=leg.id,
                    state="active", attempts=0, expires_at=LABEL_AT + timedelta(days=14),
                    created_at=LABEL_AT, updated_at=LABEL_AT,
                )
            )  # fmt: skip
        await session.commit()
    return numbers


async def store_ups_push(sessionmaker, at: datetime) -> None:
    """A Track Alert push received at `at` (about a number we do not track)."""
    body = json.dumps(payload_json("ups", "push_origin_scan.json") | {"trackingNumber": NOT_OURS})
    async with sessionmaker() as session:
        await inbox.store_push(
            session,
            carrier="ups",
            push_format=inbox.UPS_TRACK_ALERT,
            body=body,
            key=inbox.dedupe_key(f"{body}{at.isoformat()}".encode()),
            now=at,
        )
        await session.commit()


async def polls_of(mock_carrier, number: str) -> int:
    """How many times the mock carrier answered for the number."""
    return len((await mock_carrier.asked()).get(("ups", number), []))


async def alerts_by(sessionmaker, rule: str) -> list[Alert]:
    async with sessionmaker() as session:
        stmt = select(Alert).where(Alert.rule == rule).order_by(Alert.id)
        return list((await session.execute(stmt)).scalars())


@POSTGRES_ONLY
async def test_a_lost_push_is_found_by_the_confirmation_poll_and_no_alert_opens(
    stepped_worker, committing_sessionmaker, mock_carrier
):
    (number,) = await subscribed_ups_orders(committing_sessionmaker, mock_carrier, 1)
    timeline = plan_timeline("ups", number, label_created_at=LABEL_AT)
    accepted_at = next(s.at for s in timeline.scans if s.status == TrackingStatus.ACCEPTED)
    start = LABEL_AT + timedelta(minutes=40)
    assert start < accepted_at < NEVER_INDUCTED_DEADLINE - 4 * CADENCE.near_deadline_interval
    # The channel itself stays healthy here: only this parcel's pushes are lost.
    worker = stepped_worker(start, push_silence_minutes=7 * 24 * 60)

    shortest, longest = CADENCE.confirmation_window
    window_opens = NEVER_INDUCTED_DEADLINE - longest

    await worker.step_to(start)
    assert await polls_of(mock_carrier, number) == 1  # its history: Track Alert keeps none
    # The cadence would poll it every 6 h, then hourly in the last 12 h before the deadline.
    await worker.step_hourly(start + timedelta(hours=1), window_opens - timedelta(minutes=20))
    assert await polls_of(mock_carrier, number) == 1
    await worker.step_hourly(window_opens + timedelta(minutes=40), NEVER_INDUCTED_DEADLINE)
    assert await polls_of(mock_carrier, number) == 2  # the confirmation
    async with committing_sessionmaker() as session:
        leg = await session.scalar(select(Leg).where(Leg.tracking_number == number))
        assert window_opens <= leg.last_polled_at <= NEVER_INDUCTED_DEADLINE - shortest
        assert leg.accepted_at == accepted_at  # the scan whose push never came

    after = NEVER_INDUCTED_DEADLINE + timedelta(minutes=40)
    await worker.step_hourly(after, after + timedelta(hours=2))

    assert await alerts_by(committing_sessionmaker, "never_inducted") == []
    assert await polls_of(mock_carrier, number) == 2
    # The call report counts what push saved: the cadence would have polled every 6 h, then
    # hourly in the last 12 h, where the pushed leg was polled twice (cadence.polls_saved).
    async with committing_sessionmaker() as session:
        rows = (
            (
                await session.execute(
                    select(CarrierCallCount).where(CarrierCallCount.carrier == "ups")
                )
            )
            .scalars()
            .all()
        )
    assert sum(r.leg_polls for r in rows) == 2
    assert sum(r.polls_saved for r in rows) >= 10


@POSTGRES_ONLY
async def test_push_silence_falls_back_to_polling_with_one_ops_alert_closed_when_pushes_resume(
    stepped_worker, committing_sessionmaker, mock_carrier
):
    numbers = await subscribed_ups_orders(committing_sessionmaker, mock_carrier, 3)
    start = datetime(2026, 12, 8, 14, 40, tzinfo=NEW_YORK)  # all three accepted by now
    silence = timedelta(minutes=240)
    worker = stepped_worker(start, push_silence_minutes=silence.total_seconds() / 60)
    await store_ups_push(committing_sessionmaker, start)

    await worker.step_hourly(start, start + timedelta(hours=3))  # pushes are fresh

    for number in numbers:
        assert await polls_of(mock_carrier, number) == 1  # history only
    assert await alerts_by(committing_sessionmaker, "push_silent") == []

    silent_from = start + timedelta(hours=4)
    await worker.step_to(silent_from)
    for number in numbers:
        assert await polls_of(mock_carrier, number) == 1
    await worker.step_hourly(silent_from + timedelta(hours=1), silent_from + timedelta(hours=3))

    async with committing_sessionmaker() as session:  # back on the cadence, polled at once
        legs = (await session.execute(select(Leg).where(Leg.carrier == "ups"))).scalars()
        assert {leg.last_polled_at for leg in legs} == {silent_from + timedelta(hours=1)}
    for number in numbers:
        assert await polls_of(mock_carrier, number) == 2
    [alert] = await alerts_by(committing_sessionmaker, "push_silent")
    assert (alert.status, alert.carrier, alert.opened_at) == ("open", "ups", silent_from)
    async with committing_sessionmaker() as session:
        state = await session.get(CarrierState, "ups")
        assert state.push_silent_since == silent_from

    resumed_at = silent_from + timedelta(hours=3, minutes=30)
    await store_ups_push(committing_sessionmaker, resumed_at)
    await worker.step_to(silent_from + timedelta(hours=4))

    [alert] = await alerts_by(committing_sessionmaker, "push_silent")
    assert alert.status == "resolved"
    assert alert.resolved_at == silent_from + timedelta(hours=4)
    async with committing_sessionmaker() as session:
        state = await session.get(CarrierState, "ups", populate_existing=True)
        assert (state.push_silent_since, state.last_push_at) == (None, resumed_at)


async def ups_orders(sessionmaker, mock_carrier, labels: list[datetime], *, now) -> list[str]:
    """One normal UPS label an order, printed at each of `labels`, imported at `now`."""
    numbers = [example_number("ups", "normal", 100 + i) for i in range(len(labels))]
    await mock_carrier.fix_shipments(
        [{"carrier": "ups", "tracking_number": n, "scenario": "normal",
          "label_created_at": at.isoformat()} for n, at in zip(numbers, labels, strict=True)]
    )  # fmt: skip
    async with sessionmaker() as session:
        for number, label_at in zip(numbers, labels, strict=True):
            await create_order(
                session,
                now=now,
                label_at=label_at,
                shipments=[{"tracking_number": number, "carrier": "ups"}],
                promised_delivery_date=None,
            )
        await session.commit()
    return numbers


@POSTGRES_ONLY
async def test_a_label_subscribed_as_it_is_printed_is_never_polled_for_its_history(
    stepped_worker, committing_sessionmaker, mock_carrier
):
    """The worker subscribes new UPS legs at Track Alert first: a label subscribed within
    HISTORY_GRACE of its printing has nothing push will not tell, so its first poll is its
    confirmation before the never-inducted deadline. A label imported two hours after it was
    printed may have met UPS already: polled at once for its history."""
    imported_at = LABEL_AT + timedelta(minutes=10)
    fresh, late = await ups_orders(
        committing_sessionmaker,
        mock_carrier,
        [LABEL_AT, LABEL_AT - timedelta(hours=2)],
        now=imported_at,
    )
    worker = stepped_worker(
        imported_at,
        push_listener_base_url="https://shop.example",
        ups_push_credential="given-to-ups",
        push_silence_minutes=7 * 24 * 60,
    )
    await store_ups_push(committing_sessionmaker, imported_at)  # the channel is alive

    await worker.step_to(imported_at)

    assert (await polls_of(mock_carrier, fresh), await polls_of(mock_carrier, late)) == (0, 1)
    async with committing_sessionmaker() as session:
        leg = await session.scalar(select(Leg).where(Leg.tracking_number == fresh))
        subscription = await session.scalar(
            select(CarrierSubscription).where(CarrierSubscription.leg_id == leg.id)
        )
        saved = await session.scalar(select(func.sum(CarrierCallCount.polls_saved)))
    assert (subscription.state, subscription.requested_at) == ("active", imported_at)
    assert leg.next_poll_at == confirmation_poll_at(leg.id, NEVER_INDUCTED_DEADLINE, CADENCE)
    assert (leg.status, leg.last_polled_at) == (None, None)
    assert saved >= 1  # the history poll, and what the cadence would have made of a label

    await worker.step_hourly(imported_at + timedelta(hours=1), leg.next_poll_at)
    assert await polls_of(mock_carrier, fresh) == 0
    await worker.step_to(leg.next_poll_at + timedelta(minutes=1))
    assert await polls_of(mock_carrier, fresh) == 1  # the confirmation: it is accepted
    async with committing_sessionmaker() as session:
        leg = await session.scalar(
            select(Leg).where(Leg.tracking_number == fresh),
            execution_options={"populate_existing": True},
        )
    assert leg.accepted_at is not None
    assert await alerts_by(committing_sessionmaker, "never_inducted") == []


@POSTGRES_ONLY
async def test_a_new_leg_waits_for_its_subscription_rather_than_polling_for_history(
    stepped_worker, committing_sessionmaker, mock_carrier
):
    """A subscription request on its way: the new leg waits SUBSCRIPTION_WAIT at a time while
    push could still cover its history, then, the grace spent, is polled for it."""
    (number,) = await ups_orders(committing_sessionmaker, mock_carrier, [LABEL_AT], now=LABEL_AT)
    worker = stepped_worker(
        LABEL_AT, push_listener_base_url="https://shop.example", ups_push_credential="given"
    )
    async with committing_sessionmaker() as session:
        # The worker made its row and asked; the request is on its way (pending).
        leg = await session.scalar(select(Leg).where(Leg.tracking_number == number))
        session.add(
            CarrierSubscription(
                carrier="ups", scope="number", subject=number, leg_id=leg.id, state="pending",
                attempts=1, requested_at=LABEL_AT, created_at=LABEL_AT, updated_at=LABEL_AT,
            )
        )  # fmt: skip
        await session.commit()

    await worker.step_to(LABEL_AT + timedelta(minutes=1))
    assert await polls_of(mock_carrier, number) == 0
    async with committing_sessionmaker() as session:
        due = await session.scalar(select(Leg.next_poll_at).where(Leg.id == leg.id))
    assert due == LABEL_AT + timedelta(minutes=1) + SUBSCRIPTION_WAIT

    await worker.step_to(LABEL_AT + timedelta(minutes=8))  # still on its way
    assert await polls_of(mock_carrier, number) == 0

    # The grace spent: the worker asks again (the request timed out) and UPS subscribes it, but
    # from now on only; what came before is polled.
    await worker.step_to(LABEL_AT + HISTORY_GRACE + timedelta(minutes=1))
    assert await polls_of(mock_carrier, number) == 1
    async with committing_sessionmaker() as session:
        state = await session.scalar(
            select(CarrierSubscription.state).where(CarrierSubscription.leg_id == leg.id)
        )
    assert state == "active"


@POSTGRES_ONLY
async def test_a_new_hand_off_number_waits_for_its_own_subscription(
    stepped_worker, committing_sessionmaker, mock_carrier
):
    """With USPS hand-off numbers subscribed one by one, a new hand-off leg is put off until
    its subscription comes (the worker has not made its row yet), while the shop's own first
    leg is polled at once."""
    async with committing_sessionmaker() as session:
        _, (first, handoff) = await create_order(
            session,
            now=LABEL_AT,
            label_at=LABEL_AT,
            shipments=[
                shipment_payload(
                    tracking_number=fedex_number(),
                    carrier="fedex",
                    last_mile={"carrier": "usps", "tracking_number": usps_number()},
                )
            ],
        )
        await session.commit()
    worker = stepped_worker(
        LABEL_AT,
        push_listener_base_url="https://shop.example",
        usps_push_secret="usps-subscription-secret",
        usps_push_handoff_numbers=True,
    )

    await poll_due_legs(worker.context)  # the poller alone: no subscription row yet

    async with committing_sessionmaker() as session:
        legs = {leg.id: leg for leg in (await session.execute(select(Leg))).scalars()}
    assert legs[handoff.id].next_poll_at == LABEL_AT + SUBSCRIPTION_WAIT
    assert legs[handoff.id].last_polled_at is None
    assert legs[first.id].last_polled_at == LABEL_AT
