"""One leg whose answer cannot be read or recorded is set aside; every other leg is polled."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.quarantine.models import QuarantinedMember
from app.quarantine.policy import FIRST_RETRY, retry_delay
from app.shipments.models import Leg
from app.tracking import recording
from app.tracking.models import CarrierState, LegEvent
from carriers.http import fetch_in_batches
from carriers.sandbox import SandboxCarrier
from carriers.types import TrackingEvent, TrackingStatus
from tests.integration.tracking.test_poller import LABEL_AT, make_poller, session, ups_order

__all__ = ["session"]  # the committing session fixture of the poller tests


class ParserBugCarrier(SandboxCarrier):
    """The sandbox, except that reading the answer for one number raises (a parser bug)."""

    def __init__(self, poison: str, *, clock) -> None:
        super().__init__("ups", clock=clock)
        self.poison = poison

    async def fetch_tracking(self, queries):
        async def fetch_batch(batch):
            if batch[0].tracking_number == self.poison:
                raise KeyError("activity")
            return await SandboxCarrier.fetch_tracking(self, batch)

        return await fetch_in_batches(queries, fetch_batch, carrier="ups", batch_size=1)


class FarFutureCarrier(SandboxCarrier):
    """The sandbox, with one extra scan stamped 9999-12-31 (a carrier's "no date")."""

    async def fetch_tracking(self, queries):
        far = TrackingEvent(
            TrackingStatus.IN_TRANSIT, datetime(9999, 12, 31, 23, 59, tzinfo=UTC), "X", "bogus"
        )
        return [replace(s, events=(*s.events, far)) for s in await super().fetch_tracking(queries)]


async def quarantine(session) -> list[QuarantinedMember]:
    stmt = select(QuarantinedMember).execution_options(populate_existing=True)
    return list((await session.execute(stmt)).scalars())


async def five_ups_legs(sessionmaker) -> list[tuple[int, str]]:
    legs = []
    for index in range(5):
        _, leg_id, number = await ups_order(sessionmaker, "normal", index)
        legs.append((leg_id, number))
    return legs


async def test_a_parser_that_raises_for_one_number_sets_only_that_leg_aside(
    committing_sessionmaker, session, clock
):
    legs = await five_ups_legs(committing_sessionmaker)
    (poison_id, poison_number), healthy = legs[2], legs[:2] + legs[3:]
    clock.now = LABEL_AT + timedelta(days=2)
    client = ParserBugCarrier(poison_number, clock=clock)

    (report,) = await make_poller(committing_sessionmaker, clock, {"ups": client}).poll_due()

    assert (report.legs, report.set_aside) == (5, 1)
    for leg_id, _ in healthy:
        leg = await session.get(Leg, leg_id, populate_existing=True)
        assert leg.last_successful_poll_at == clock.now
    poisoned = await session.get(Leg, poison_id, populate_existing=True)
    assert (poisoned.status, poisoned.last_successful_poll_at, poisoned.lease_owner) == (
        None,
        None,
        None,
    )
    assert poisoned.next_poll_at == clock.now + FIRST_RETRY
    assert poisoned.last_poll_error.startswith("adapter_fault: adapter raised KeyError")
    (entry,) = await quarantine(session)
    assert (entry.member_type, entry.member_id, entry.job) == ("leg", poison_id, "polling")
    # Our bug is not the carrier's outage: its health and breaker are untouched.
    state = await session.get(CarrierState, "ups", populate_existing=True)
    assert (state.failing_since, state.breaker_state) == (None, "closed")


async def test_a_set_aside_leg_waits_longer_each_time_and_is_released_once_it_reads(
    committing_sessionmaker, session, clock
):
    poison_id, poison_number = (await five_ups_legs(committing_sessionmaker))[1]
    clock.now = LABEL_AT + timedelta(days=2)
    buggy = make_poller(
        committing_sessionmaker, clock, {"ups": ParserBugCarrier(poison_number, clock=clock)}
    )
    await buggy.poll_due()
    clock.now += FIRST_RETRY
    await buggy.poll_due()
    (entry,) = await quarantine(session)
    poisoned = await session.get(Leg, poison_id, populate_existing=True)
    assert entry.failures == 2
    assert poisoned.next_poll_at == clock.now + retry_delay(2)
    await session.commit()  # SQLite: a reader holds the one write lock until it ends

    clock.now = poisoned.next_poll_at
    fixed = make_poller(committing_sessionmaker, clock, {"ups": SandboxCarrier("ups", clock=clock)})
    await fixed.poll_due()

    assert await quarantine(session) == []
    poisoned = await session.get(Leg, poison_id, populate_existing=True)
    assert poisoned.last_successful_poll_at == clock.now


async def test_a_leg_that_cannot_be_recorded_is_set_aside_and_the_rest_are_stored(
    committing_sessionmaker, session, clock, monkeypatch
):
    legs = await five_ups_legs(committing_sessionmaker)
    poison_id = legs[0][0]
    real = recording._event_row

    def failing_for_one(leg_id, event, **kwargs):
        if leg_id == poison_id:
            raise ValueError("cannot store this event")
        return real(leg_id, event, **kwargs)

    monkeypatch.setattr(recording, "_event_row", failing_for_one)
    clock.now = LABEL_AT + timedelta(days=2)

    (report,) = await make_poller(
        committing_sessionmaker, clock, {"ups": SandboxCarrier("ups", clock=clock)}
    ).poll_due()

    assert report.set_aside == 1
    assert report.events_stored > 0
    stored_legs = set((await session.execute(select(LegEvent.leg_id).distinct())).scalars().all())
    assert stored_legs == {leg_id for leg_id, _ in legs[1:]}
    (entry,) = await quarantine(session)
    assert (entry.member_id, entry.error) == (poison_id, "ValueError: cannot store this event")
    poisoned = await session.get(Leg, poison_id, populate_existing=True)
    assert (poisoned.lease_owner, poisoned.status) == (None, None)


async def test_a_scan_stamped_year_9999_is_dropped_and_the_others_stored(
    committing_sessionmaker, session, clock
):
    _, leg_id, _ = await ups_order(committing_sessionmaker, "normal")
    clock.now = LABEL_AT + timedelta(days=2)
    plain = SandboxCarrier("ups", clock=clock)
    expected = len((await plain.fetch_tracking(await _queries(session, leg_id)))[0].events)
    await session.commit()  # SQLite: a reader holds the one write lock until it ends

    (report,) = await make_poller(
        committing_sessionmaker, clock, {"ups": FarFutureCarrier("ups", clock=clock)}
    ).poll_due()

    assert report.events_stored == expected > 0
    newest = await session.scalar(select(func.max(LegEvent.occurred_at)))
    assert newest <= clock.now
    leg = await session.get(Leg, leg_id, populate_existing=True)
    assert leg.last_event_at <= clock.now
    assert await quarantine(session) == []


async def _queries(session, leg_id):
    from carriers.types import TrackingQuery

    leg = await session.get(Leg, leg_id)
    return [TrackingQuery(leg.tracking_number, leg.service, leg.label_created_at)]
