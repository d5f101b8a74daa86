"""A UPS scan pushed by Track Alert and polled from the Track API in other words is stored once;
other scans at the same minute and place stay apart. Through the worker's push inbox and the
poller, with real commits on a fresh database of each backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from random import Random

import pytest
from sqlalchemy import select, update

from app.shipments.models import Leg
from app.tracking import inbox
from app.tracking.cadence import CadenceTable
from app.tracking.judging import JudgingPolicy
from app.tracking.models import LegEvent
from app.tracking.poller import Poller, PollerSettings
from app.tracking.rate import CarrierLimits
from carriers.types import RateLimit, TrackingQuery
from carriers.ups.parse import parse_tracking
from tests.conftest import FixedClock
from tests.support.push_inbox import create_ups_leg, process_inbox
from tests.support.ups_answers import polled_activity, polled_answer, pushed_origin_scan

NUMBER = "1Z204W4R0308071865"
NOW = datetime(2024, 4, 24, 12, 0, tzinfo=UTC)  # a day after the pushed scan


class TrackApi:
    """UPS answering every poll with one Track API body, read by the real parser."""

    code = name = "ups"
    batch_size = 1
    default_rate_limit = RateLimit(requests_per_second=10)

    def __init__(self, body: str) -> None:
        self.body = body

    async def fetch_tracking(self, queries: list[TrackingQuery]):
        return [parse_tracking(self.body, tracking_number=q.tracking_number) for q in queries]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def leg_id(committing_sessionmaker) -> int:
    return await create_ups_leg(committing_sessionmaker, NUMBER, label_at=NOW - timedelta(days=3))


async def push(committing_sessionmaker, clock, body: str) -> None:
    """A Track Alert push stored in the inbox as the API stores it, then read by the worker."""
    async with committing_sessionmaker() as session:
        await inbox.store_push(
            session,
            carrier="ups",
            push_format=inbox.UPS_TRACK_ALERT,
            body=body,
            key=inbox.dedupe_key(body.encode()),
            now=clock.now,
        )
        await session.commit()
    assert await process_inbox(committing_sessionmaker, clock) == 1


async def poll(committing_sessionmaker, clock, body: str) -> int:
    """One poll of the leg, due now; returns how many events it stored."""
    async with committing_sessionmaker() as session:
        await session.execute(update(Leg).values(next_poll_at=clock.now))
        await session.commit()
    poller = Poller(
        committing_sessionmaker,
        clients={"ups": TrackApi(body)},
        limits={"ups": CarrierLimits(per_second=1000)},
        settings=PollerSettings(judging=JudgingPolicy(cadence=CadenceTable())),
        worker_id="test-worker",
        clock=clock,
        rng=Random(7),
    )
    (report,) = await poller.poll_due()
    assert report.legs == 1
    return report.events_stored


async def stored(committing_sessionmaker, leg_id: int) -> list[tuple[str, str, str]]:
    async with committing_sessionmaker() as session:
        rows = await session.execute(
            select(LegEvent.carrier_code, LegEvent.description, LegEvent.source)
            .where(LegEvent.leg_id == leg_id)
            .order_by(LegEvent.id)
        )
        return [tuple(row) for row in rows]


async def test_a_pushed_scan_polled_later_in_other_words_is_stored_once(
    committing_sessionmaker, clock, leg_id
):
    await push(committing_sessionmaker, clock, pushed_origin_scan(NUMBER))
    clock.now += timedelta(hours=1)

    stored_by_poll = await poll(
        committing_sessionmaker, clock, polled_answer(NUMBER, [polled_activity()])
    )

    assert stored_by_poll == 0
    assert await stored(committing_sessionmaker, leg_id) == [("OR", "On the Way", "webhook")]


async def test_a_polled_scan_pushed_later_in_other_words_is_stored_once(
    committing_sessionmaker, clock, leg_id
):
    body = polled_answer(NUMBER, [polled_activity()])
    assert await poll(committing_sessionmaker, clock, body) == 1
    clock.now += timedelta(hours=1)

    await push(committing_sessionmaker, clock, pushed_origin_scan(NUMBER))

    assert await stored(committing_sessionmaker, leg_id) == [("OR", "Origin Scan", "poll")]


async def test_two_ups_scans_at_one_minute_and_place_with_other_codes_are_stored_twice(
    committing_sessionmaker, clock, leg_id
):
    await push(committing_sessionmaker, clock, pushed_origin_scan(NUMBER))
    clock.now += timedelta(hours=1)
    # Worded alike on purpose: only the code tells these two scans apart.
    arrival = polled_activity(code="AR", description="On the Way")

    stored_by_poll = await poll(
        committing_sessionmaker, clock, polled_answer(NUMBER, [arrival, polled_activity()])
    )

    assert stored_by_poll == 1
    assert await stored(committing_sessionmaker, leg_id) == [
        ("OR", "On the Way", "webhook"),
        ("AR", "On the Way", "poll"),
    ]
