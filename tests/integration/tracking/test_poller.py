from __future__ import annotations

from datetime import UTC, datetime, timedelta
from random import Random

import pytest
from sqlalchemy import func, select

from app.shipments.models import Leg, Order
from app.tracking.cadence import CadenceTable
from app.tracking.judging import JudgingPolicy
from app.tracking.models import CarrierCallCount, CarrierState, LegEvent
from app.tracking.poller import Poller, PollerSettings
from app.tracking.rate import CarrierLimits
from carriers.errors import CarrierAuthError, CarrierUnavailable
from carriers.protocol import TrackingFailure
from carriers.sandbox import SandboxCarrier, example_number, plan_timeline
from carriers.types import RateLimit
from tests.factories import create_order

LABEL_AT = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
SETTINGS = PollerSettings(judging=JudgingPolicy(cadence=CadenceTable()))
LIMITS = {c: CarrierLimits(per_second=1000) for c in ("usps", "ups", "fedex", "dhl")}


class BrokenCarrier:
    """A carrier that is down (or refuses our credentials) for every request."""

    def __init__(self, code: str, error) -> None:
        self.code, self.name, self.batch_size = code, code, 1
        self.default_rate_limit = RateLimit(requests_per_second=10)
        self.error = error
        self.calls = 0

    async def fetch_tracking(self, queries):
        self.calls += 1
        return [TrackingFailure(q.tracking_number, self.error) for q in queries]


@pytest.fixture
async def session(committing_sessionmaker):
    """Reads what the workers committed (overrides the rolled-back test session)."""
    async with committing_sessionmaker() as session:
        yield session


def make_poller(sessionmaker, clock, clients):
    async def no_sleep(_: float) -> None:
        return None

    return Poller(
        sessionmaker,
        clients=clients,
        limits=LIMITS,
        settings=SETTINGS,
        worker_id="test-worker",
        clock=clock,
        sleep=no_sleep,
        rng=Random(7),
    )


async def ups_order(sessionmaker, scenario: str, index: int = 0):
    number = example_number("ups", scenario, index)
    async with sessionmaker() as session:
        order_id, (leg,) = await create_order(
            session,
            now=LABEL_AT,
            label_at=LABEL_AT,
            shipments=[{"tracking_number": number, "carrier": "ups", "label_created_at": ""}],
        )
        await session.commit()
    return order_id, leg.id, number


async def test_a_due_leg_is_polled_its_events_stored_and_its_next_poll_scheduled(
    committing_sessionmaker, session, clock
):
    order_id, leg_id, number = await ups_order(committing_sessionmaker, "normal")
    clock.now = LABEL_AT + timedelta(days=2)
    sandbox = {"ups": SandboxCarrier("ups", clock=clock)}

    (report,) = await make_poller(committing_sessionmaker, clock, sandbox).poll_due()

    expected = plan_timeline("ups", number, label_created_at=LABEL_AT).visible(clock.now)
    assert report.legs == 1
    assert report.events_stored == len(expected) > 0
    leg = await session.get(Leg, leg_id, populate_existing=True)
    assert leg.status == expected[-1].status.value
    assert leg.last_successful_poll_at == clock.now
    assert leg.next_poll_at > clock.now
    assert leg.lease_owner is None
    order = await session.get(Order, order_id, populate_existing=True)
    assert order.reconcile_due_at == clock.now


async def test_polling_again_stores_no_event_twice(committing_sessionmaker, session, clock):
    _, _leg_id, _ = await ups_order(committing_sessionmaker, "normal")
    clock.now = LABEL_AT + timedelta(days=2)
    sandbox = {"ups": SandboxCarrier("ups", clock=clock)}
    poller = make_poller(committing_sessionmaker, clock, sandbox)
    await poller.poll_due()
    stored = await session.scalar(select(func.count()).select_from(LegEvent))
    await session.execute(Leg.__table__.update().values(next_poll_at=clock.now))
    await session.commit()

    (report,) = await poller.poll_due()

    assert report.legs == 1
    assert report.events_stored == 0
    assert await session.scalar(select(func.count()).select_from(LegEvent)) == stored


async def test_a_leg_not_yet_due_is_not_polled(committing_sessionmaker, session, clock):
    await ups_order(committing_sessionmaker, "normal")
    await session.execute(Leg.__table__.update().values(next_poll_at=LABEL_AT + timedelta(days=9)))
    await session.commit()
    clock.now = LABEL_AT + timedelta(days=2)

    (report,) = await make_poller(
        committing_sessionmaker, clock, {"ups": SandboxCarrier("ups", clock=clock)}
    ).poll_due()

    assert report.legs == 0


async def test_a_revealed_usps_number_becomes_a_tracked_last_mile_leg(
    committing_sessionmaker, session, clock
):
    _, leg_id, number = await ups_order(committing_sessionmaker, "handoff_gap")
    timeline = plan_timeline("ups", number, label_created_at=LABEL_AT)
    clock.now = LABEL_AT + timedelta(days=10)
    handoff = timeline.handed_off(clock.now)
    assert handoff is not None

    (report,) = await make_poller(
        committing_sessionmaker, clock, {"ups": SandboxCarrier("ups", clock=clock)}
    ).poll_due()

    assert report.legs_added == 1
    legs = (await session.execute(select(Leg).order_by(Leg.sequence))).scalars().all()
    assert [(leg.carrier, leg.tracking_number, leg.source) for leg in legs] == [
        ("ups", number, "shop"),
        ("usps", handoff.tracking_number, "carrier"),
    ]
    assert legs[1].handoff_from_leg_id == leg_id
    assert legs[1].next_poll_at == clock.now
    assert legs[0].handed_off_at is not None


async def test_a_failed_poll_never_moves_the_leg_and_backs_off(
    committing_sessionmaker, session, clock
):
    _, leg_id, _ = await ups_order(committing_sessionmaker, "normal")
    clock.now = LABEL_AT + timedelta(hours=1)
    down = BrokenCarrier("ups", CarrierUnavailable("503 from UPS", carrier="ups"))

    (report,) = await make_poller(committing_sessionmaker, clock, {"ups": down}).poll_due()

    assert report.failures == 1
    leg = await session.get(Leg, leg_id, populate_existing=True)
    assert leg.status is None
    assert leg.last_successful_poll_at is None
    assert leg.consecutive_failures == 1
    assert leg.last_poll_error.startswith("unavailable")
    assert clock.now < leg.next_poll_at <= clock.now + timedelta(minutes=1)
    state = await session.get(CarrierState, "ups", populate_existing=True)
    assert state.failing_since == clock.now
    assert state.breaker_failures == 1


async def test_repeated_failures_open_the_breaker_and_stop_calls(
    committing_sessionmaker, session, clock
):
    for index in range(8):
        await ups_order(committing_sessionmaker, "normal", index)
    clock.now = LABEL_AT + timedelta(hours=1)
    down = BrokenCarrier("ups", CarrierUnavailable("timeout", carrier="ups"))

    poller = make_poller(committing_sessionmaker, clock, {"ups": down})
    await poller.poll_due()
    state = await session.get(CarrierState, "ups", populate_existing=True)
    assert state.breaker_state == "open"
    assert state.breaker_failures == 8
    calls_before = down.calls
    await session.execute(Leg.__table__.update().values(next_poll_at=clock.now))
    await session.commit()

    (report,) = await poller.poll_due()

    assert down.calls == calls_before
    assert report.legs == 0
    assert report.waiting_until == state.breaker_open_until


async def test_bad_credentials_stop_polling_the_carrier(committing_sessionmaker, session, clock):
    for index in range(3):
        await ups_order(committing_sessionmaker, "normal", index)
    clock.now = LABEL_AT + timedelta(hours=1)
    refused = BrokenCarrier("ups", CarrierAuthError("401 invalid client", carrier="ups"))

    poller = make_poller(committing_sessionmaker, clock, {"ups": refused})
    await poller.poll_due()
    state = await session.get(CarrierState, "ups", populate_existing=True)
    assert state.last_error_kind == "auth"
    assert state.breaker_state == "open"
    assert state.breaker_open_until == clock.now + timedelta(minutes=15)
    calls_before = refused.calls
    await session.commit()  # end the read: SQLite's single writer is the worker now
    clock.now += timedelta(minutes=14)

    await poller.poll_due()

    assert refused.calls == calls_before


@pytest.mark.parametrize("scenario", ["normal", "never_inducted"])
async def test_calls_are_counted_per_day_carrier_and_state(
    committing_sessionmaker, session, clock, scenario
):
    await ups_order(committing_sessionmaker, scenario)
    clock.now = LABEL_AT + timedelta(hours=1)

    await make_poller(
        committing_sessionmaker, clock, {"ups": SandboxCarrier("ups", clock=clock)}
    ).poll_due()

    (row,) = (await session.execute(select(CarrierCallCount))).scalars().all()
    assert (row.carrier, row.leg_status, row.calls, row.leg_polls, row.legs) == (
        "ups",
        "new",
        1,
        1,
        1,
    )


async def test_a_poll_with_no_news_does_not_queue_the_order_for_the_rules(
    committing_sessionmaker, session, clock
):
    order_id, _, _ = await ups_order(committing_sessionmaker, "normal")
    clock.now = LABEL_AT + timedelta(days=2)
    poller = make_poller(
        committing_sessionmaker, clock, {"ups": SandboxCarrier("ups", clock=clock)}
    )
    await poller.poll_due()
    judged_at = clock.now + timedelta(days=9)
    await session.execute(Order.__table__.update().values(reconcile_due_at=judged_at))
    await session.execute(Leg.__table__.update().values(next_poll_at=clock.now))
    await session.commit()
    clock.now += timedelta(minutes=1)

    (report,) = await poller.poll_due()

    assert report.legs == 1
    order = await session.get(Order, order_id, populate_existing=True)
    assert order.reconcile_due_at == judged_at


async def test_when_the_carrier_recovers_its_backed_off_legs_are_due_at_once(
    committing_sessionmaker, session, clock
):
    _, first_id, _ = await ups_order(committing_sessionmaker, "normal", 0)
    _, second_id, _ = await ups_order(committing_sessionmaker, "normal", 1)
    clock.now = LABEL_AT + timedelta(hours=1)
    down = BrokenCarrier("ups", CarrierUnavailable("503", carrier="ups"))
    await make_poller(committing_sessionmaker, clock, {"ups": down}).poll_due()
    backed_off = clock.now + timedelta(hours=1)
    await session.execute(Leg.__table__.update().values(next_poll_at=backed_off))
    await session.execute(
        Leg.__table__.update().where(Leg.id == first_id).values(next_poll_at=clock.now)
    )
    await session.commit()

    sandbox = {"ups": SandboxCarrier("ups", clock=clock)}
    (report,) = await make_poller(committing_sessionmaker, clock, sandbox).poll_due()

    assert report.legs == 2  # the recovering poll made the other leg due in the same pass
    second = await session.get(Leg, second_id, populate_existing=True)
    assert second.consecutive_failures == 0
    assert second.last_successful_poll_at == clock.now


async def test_a_revealed_number_other_than_the_shops_last_mile_becomes_the_next_leg(
    committing_sessionmaker, session, clock
):
    """Found by the soak: the shop's last-mile number is not the one the carrier hands off
    under. The carrier's is the one the next carrier scans; the shop's leaves the chain."""
    from app.audit.models import AuditEntry
    from app.quarantine.models import QuarantinedMember

    number = example_number("ups", "handoff_gap")
    timeline = plan_timeline("ups", number, label_created_at=LABEL_AT)
    shop_number = example_number("usps", "normal", 99)
    async with committing_sessionmaker() as writer:
        _, (first, _shops_leg) = await create_order(
            writer,
            now=LABEL_AT,
            label_at=LABEL_AT,
            shipments=[
                {
                    "tracking_number": number,
                    "carrier": "ups",
                    "label_created_at": "",
                    "last_mile": {"carrier": "usps", "tracking_number": shop_number},
                }
            ],
        )
        await writer.commit()
    clock.now = LABEL_AT + timedelta(days=10)
    revealed = timeline.handed_off(clock.now)
    assert revealed is not None
    assert revealed.tracking_number != shop_number

    (report,) = await make_poller(
        committing_sessionmaker, clock, {"ups": SandboxCarrier("ups", clock=clock)}
    ).poll_due()

    assert (report.legs_added, report.set_aside) == (1, 0)
    legs = (await session.execute(select(Leg).order_by(Leg.sequence))).scalars().all()
    by_number = {leg.tracking_number: leg for leg in legs}
    carriers_leg = by_number[revealed.tracking_number]
    assert carriers_leg.handoff_from_leg_id == first.id
    assert (by_number[shop_number].handoff_from_leg_id, by_number[shop_number].active) == (
        None,
        False,
    )
    assert (await session.execute(select(QuarantinedMember))).scalars().all() == []
    actions = (await session.execute(select(AuditEntry.action))).scalars().all()
    assert "leg.superseded" in actions
