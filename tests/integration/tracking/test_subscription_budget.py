"""Per-number push subscriptions on the shared path (app/tracking/subscribing.py): USPS hand-off
legs get their own subscription and first legs do not; each subscription call takes a slot of
the carrier's budget that polls take theirs from, and none is made when the hourly quota is
spent, when an urgent poll waits, or from the quarter kept for polls; failures back off; the
calls are counted in the call report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from random import Random

import pytest
from sqlalchemy import insert, select, update

from app.shipments.models import Leg
from app.tracking import carrier_state, subscribing, subscriptions
from app.tracking.cadence import CadenceTable
from app.tracking.judging import JudgingPolicy
from app.tracking.models import CarrierCallCount, CarrierState, CarrierSubscription
from app.tracking.poller import Poller, PollerSettings
from app.tracking.rate import CarrierLimits
from app.tracking.report import load_call_report, load_push_totals, print_call_report
from carriers.errors import CarrierRateLimited, CarrierUnavailable, SubscriptionRefused
from carriers.sandbox import SandboxCarrier
from carriers.types import SubscriptionAnswer
from tests.conftest import FixedClock
from tests.factories import create_order, fedex_number, usps_number

NOW = datetime(2026, 12, 10, 17, 5, tzinfo=UTC)
NEXT_HOUR = datetime(2026, 12, 10, 18, 0, tzinfo=UTC)
USPS_HOURLY = CarrierLimits(per_second=1000, per_hour=60)


class FakeUsps:
    """USPS's subscription endpoint as the client returns it: one number a call; each call
    answers from `answers` in turn (an answer, or an error to raise)."""

    def __init__(self, *answers: SubscriptionAnswer | Exception) -> None:
        self.answers = list(answers)
        self.asked: list[list[str]] = []

    async def __call__(self, numbers: Sequence[str]) -> SubscriptionAnswer:
        self.asked.append(list(numbers))
        answer = self.answers.pop(0) if self.answers else None
        if isinstance(answer, Exception):
            raise answer
        if answer is None:
            return SubscriptionAnswer(tuple(numbers), (), reference=f"sub-{len(self.asked)}")
        return answer


def usps_subscriber(fake: FakeUsps) -> subscribing.NumberSubscriber:
    return subscribing.NumberSubscriber("usps", 1, None, subscriptions.HANDOFF_LEGS, fake)


async def handoff_order(sessionmaker, **leg_overrides: object) -> tuple[int, int, str]:
    """A FedEx first leg handed off to a USPS number (a consolidator's): (first leg id, USPS
    hand-off leg id, its number)."""
    number = usps_number()
    async with sessionmaker() as session:
        _, (first,) = await create_order(
            session,
            now=NOW - timedelta(days=1),
            label_at=NOW - timedelta(days=1),
            shipments=[{"tracking_number": fedex_number(), "carrier": "fedex"}],
        )
        values = {
            "shipment_id": first.shipment_id,
            "sequence": 2,
            "carrier": "usps",
            "tracking_number": number,
            "source": "carrier",
            "handoff_from_leg_id": first.id,
            "label_created_at": NOW - timedelta(days=1),
            "tracking_started_at": NOW,
            "active": True,
            "next_poll_at": NOW + timedelta(hours=3),
            "consecutive_failures": 0,
            "created_at": NOW,
            "updated_at": NOW,
            **leg_overrides,
        }
        leg_id = (await session.execute(insert(Leg).values(values).returning(Leg.id))).scalar_one()
        await session.commit()
    return first.id, leg_id, number


async def usps_first_leg(sessionmaker) -> int:
    async with sessionmaker() as session:
        _, (leg,) = await create_order(
            session,
            now=NOW - timedelta(hours=2),
            label_at=NOW - timedelta(hours=2),
            shipments=[{"tracking_number": usps_number(), "carrier": "usps"}],
        )
        await session.commit()
    return leg.id


async def rows(sessionmaker) -> list[CarrierSubscription]:
    async with sessionmaker() as session:
        stmt = select(CarrierSubscription).order_by(CarrierSubscription.id)
        return list((await session.execute(stmt)).scalars())


async def usps_budget(sessionmaker) -> CarrierState | None:
    async with sessionmaker() as session:
        return await session.get(CarrierState, "usps")


async def set_hour_used(sessionmaker, used: int) -> None:
    async with sessionmaker() as session:
        await carrier_state.lock_carrier_state(session, "usps", now=NOW)
        await session.execute(
            update(CarrierState)
            .where(CarrierState.carrier == "usps")
            .values(hour_window_start=NOW.replace(minute=0), hour_used=used)
        )
        await session.commit()


async def run(sessionmaker, fake: FakeUsps, clock: FixedClock, limits=USPS_HOURLY):
    return await subscribing.subscribe_due_legs(
        sessionmaker, usps_subscriber(fake), limits=limits, clock=clock, max_calls=5
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


async def test_usps_handoff_legs_get_their_own_subscription_and_first_legs_do_not(
    committing_sessionmaker, clock
):
    first_leg = await usps_first_leg(committing_sessionmaker)
    _, handoff_leg, number = await handoff_order(committing_sessionmaker)
    fake = FakeUsps()

    report = await run(committing_sessionmaker, fake, clock)

    assert fake.asked == [[number]]
    assert (report.calls, report.asked) == (1, 1)
    [row] = await rows(committing_sessionmaker)
    assert (row.leg_id, row.subject, row.state) == (handoff_leg, number, "active")
    assert (row.carrier_reference, row.expires_at) == ("sub-1", None)  # USPS: no expiry
    assert row.leg_id != first_leg


async def test_a_subscription_call_takes_the_slot_a_poll_would_have_taken(
    committing_sessionmaker, clock
):
    await handoff_order(committing_sessionmaker)
    for _ in range(2):  # two USPS legs due for a poll
        await usps_first_leg(committing_sessionmaker)
    limits = {"usps": CarrierLimits(per_second=1000, per_hour=2)}

    await run(committing_sessionmaker, FakeUsps(), clock, limits=limits["usps"])
    assert (await usps_budget(committing_sessionmaker)).hour_used == 1

    async def no_sleep(_: float) -> None:
        return None

    poller = Poller(
        committing_sessionmaker,
        clients={"usps": SandboxCarrier("usps", clock=clock)},
        limits=limits,
        settings=PollerSettings(judging=JudgingPolicy(cadence=CadenceTable())),
        worker_id="w",
        clock=clock,
        sleep=no_sleep,
        rng=Random(1),
    )
    polled = await poller.poll_carrier("usps")

    # Two calls an hour: the subscription took one, so one of the two due legs is polled.
    assert (polled.calls, polled.waiting_until) == (1, NEXT_HOUR)
    assert (await usps_budget(committing_sessionmaker)).hour_used == 2


async def test_no_subscription_call_when_the_hourly_quota_is_spent(committing_sessionmaker, clock):
    await handoff_order(committing_sessionmaker)
    await set_hour_used(committing_sessionmaker, 60)
    fake = FakeUsps()

    report = await run(committing_sessionmaker, fake, clock)

    assert fake.asked == []
    assert (report.calls, report.waiting_until) == (0, NEXT_HOUR)
    assert [r.state for r in await rows(committing_sessionmaker)] == ["none"]
    assert (await usps_budget(committing_sessionmaker)).hour_used == 60

    clock.now = NEXT_HOUR  # a new window: the subscription goes out
    assert (await run(committing_sessionmaker, fake, clock)).calls == 1
    assert (await usps_budget(committing_sessionmaker)).hour_used == 1


@pytest.mark.parametrize(("used", "calls"), [(44, 1), (45, 0)])
async def test_subscriptions_leave_the_last_quarter_of_the_hour_to_polls(
    committing_sessionmaker, clock, used, calls
):
    await handoff_order(committing_sessionmaker)
    await set_hour_used(committing_sessionmaker, used)

    assert (await run(committing_sessionmaker, FakeUsps(), clock)).calls == calls


async def test_an_urgent_poll_waiting_holds_subscriptions_back(committing_sessionmaker, clock):
    await handoff_order(committing_sessionmaker)
    # Another hand-off leg is due now and an alert waits on it within the hour.
    await handoff_order(
        committing_sessionmaker, next_poll_at=NOW, alert_deadline_at=NOW + timedelta(hours=1)
    )
    fake = FakeUsps()

    report = await run(committing_sessionmaker, fake, clock)

    assert (fake.asked, report.held_for_polls) == ([], True)
    assert (await usps_budget(committing_sessionmaker)) is None  # no slot taken


async def test_a_transient_failure_backs_off_and_a_refused_number_fails_for_good(
    committing_sessionmaker, clock
):
    _, _, number = await handoff_order(committing_sessionmaker)
    _, _, refused = await handoff_order(committing_sessionmaker)
    fake = FakeUsps(
        CarrierUnavailable("USPS failed (HTTP 503)", carrier="usps"),
        SubscriptionAnswer((), (refused,)),
    )

    await run(committing_sessionmaker, fake, clock)

    by_number = {r.subject: r for r in await rows(committing_sessionmaker)}
    retried, gone = by_number[number], by_number[refused]
    assert (retried.state, retried.next_attempt_at) == ("failed", NOW + timedelta(minutes=5))
    assert (gone.state, gone.next_attempt_at) == ("failed", None)
    assert [r.subject for r in await rows(committing_sessionmaker)] == [number, refused]

    clock.now = NOW + timedelta(minutes=5)
    await run(committing_sessionmaker, fake, clock)
    by_number = {r.subject: r for r in await rows(committing_sessionmaker)}
    assert by_number[number].state == "active"
    assert by_number[refused].state == "failed"
    assert fake.asked == [[number], [refused], [number]]


async def test_a_request_refused_as_such_is_not_retried(committing_sessionmaker, clock):
    await handoff_order(committing_sessionmaker)
    fake = FakeUsps(SubscriptionRefused("USPS refused the subscription (HTTP 400)"))

    await run(committing_sessionmaker, fake, clock)
    clock.now = NOW + timedelta(days=1)
    await run(committing_sessionmaker, fake, clock)

    [row] = await rows(committing_sessionmaker)
    assert (row.state, row.next_attempt_at, len(fake.asked)) == ("failed", None, 1)


async def test_a_rate_limited_subscription_pauses_the_carrier_for_polls_too(
    committing_sessionmaker, clock
):
    await handoff_order(committing_sessionmaker)
    limited = CarrierRateLimited("USPS rate-limited us", retry_after=timedelta(minutes=20))

    await run(committing_sessionmaker, FakeUsps(limited), clock)

    state = await usps_budget(committing_sessionmaker)
    assert state.paused_until == NOW + timedelta(minutes=20)
    [row] = await rows(committing_sessionmaker)
    assert (row.state, row.next_attempt_at) == ("failed", NOW + timedelta(minutes=5))


async def test_subscription_calls_are_counted_in_the_call_report(committing_sessionmaker, clock):
    await handoff_order(committing_sessionmaker)
    await handoff_order(committing_sessionmaker)
    fake = FakeUsps(CarrierUnavailable("USPS timed out", carrier="usps"))

    await run(committing_sessionmaker, fake, clock)

    async with committing_sessionmaker() as session:
        counted = (await session.execute(select(CarrierCallCount))).scalars().all()
        report = await load_call_report(session, since=NOW.date(), days=1)
        totals = await load_push_totals(session)
    # A failed call was still sent: both count, under the new legs' state.
    assert [(c.carrier, c.leg_status, c.subscription_calls, c.calls) for c in counted] == [
        ("usps", "new", 2, 0)
    ]
    assert totals["usps"].subscription_calls == 2
    lines: list[str] = []
    print_call_report(report, echo=lines.append)
    assert "total carrier calls: 2 (polls 0, subscription requests 2)" in lines
    assert any(line.split()[:4] == ["usps", "calls", "0", "subscriptions"] for line in lines)


async def test_a_long_lived_subscription_lapses_when_its_leg_stops_being_tracked(
    committing_sessionmaker, clock
):
    _, leg_id, _ = await handoff_order(committing_sessionmaker)
    await run(committing_sessionmaker, FakeUsps(), clock)
    async with committing_sessionmaker() as session:
        await session.execute(update(Leg).where(Leg.id == leg_id).values(active=False))
        await session.commit()
    fake = FakeUsps()

    await run(committing_sessionmaker, fake, clock)

    [row] = await rows(committing_sessionmaker)
    assert (row.state, fake.asked) == ("expired", [])
