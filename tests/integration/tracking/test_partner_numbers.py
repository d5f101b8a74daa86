from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from random import Random

import httpx
import pytest
import respx
from sqlalchemy import select

from app.shipments.models import Leg
from app.tracking.cadence import CadenceTable
from app.tracking.judging import JudgingPolicy
from app.tracking.models import LegPartnerNumber
from app.tracking.poller import Poller, PollerSettings
from app.tracking.rate import CarrierLimits
from carriers.dhl import DhlClient
from tests.factories import create_order, dhl_number
from tests.unit.carriers.dhl.payloads import load_text

LABEL_AT = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
TRACK_URL = "https://api-eu.dhl.com/track/shipments"
PARTNER_NUMBER = "H01PQA0010751022"  # ecommerce_international.json: a parcel to Sheffield, GB


@pytest.fixture
async def session(committing_sessionmaker):
    """Reads what the worker committed (overrides the rolled-back test session)."""
    async with committing_sessionmaker() as session:
        yield session


@pytest.fixture
def dhl_api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True) as router:
        yield router


@pytest.fixture
async def dhl() -> AsyncIterator[DhlClient]:
    async with httpx.AsyncClient() as http:
        yield DhlClient(http, api_key="demo-key")


def make_poller(sessionmaker, clock, dhl: DhlClient) -> Poller:
    async def no_sleep(_: float) -> None:
        return None

    return Poller(
        sessionmaker,
        clients={"dhl": dhl},
        limits={"dhl": CarrierLimits(per_second=1000)},
        settings=PollerSettings(judging=JudgingPolicy(cadence=CadenceTable())),
        worker_id="test-worker",
        clock=clock,
        sleep=no_sleep,
        rng=Random(7),
    )


async def dhl_order(sessionmaker) -> tuple[int, str]:
    number = dhl_number()
    async with sessionmaker() as session:
        _, (leg,) = await create_order(
            session,
            now=LABEL_AT,
            label_at=LABEL_AT,
            shipments=[{"tracking_number": number, "carrier": "dhl", "label_created_at": ""}],
        )
        await session.commit()
    return leg.id, number


async def test_a_partner_number_polled_twice_is_stored_once_and_never_polled(
    committing_sessionmaker, session, clock, dhl_api, dhl
):
    leg_id, number = await dhl_order(committing_sessionmaker)
    route = dhl_api.get(TRACK_URL).mock(
        return_value=httpx.Response(200, text=load_text("ecommerce_international.json"))
    )
    poller = make_poller(committing_sessionmaker, clock, dhl)
    clock.now = first_poll = LABEL_AT + timedelta(days=2)
    await poller.poll_due()
    clock.now = LABEL_AT + timedelta(days=3)
    await session.execute(Leg.__table__.update().values(next_poll_at=clock.now))
    await session.commit()

    (report,) = await poller.poll_due()

    assert (report.legs, report.set_aside) == (1, 0)
    leg = await session.get(Leg, leg_id, populate_existing=True)
    assert leg.last_successful_poll_at == clock.now  # the second poll was recorded too
    rows = (await session.execute(select(LegPartnerNumber))).scalars().all()
    assert [(r.leg_id, r.number, r.lookup_key, r.partner_name) for r in rows] == [
        (leg_id, PARTNER_NUMBER, PARTNER_NUMBER, None)
    ]
    assert rows[0].first_seen_at == first_poll
    legs = (await session.execute(select(Leg.carrier, Leg.tracking_number))).all()
    assert legs == [("dhl", number)]  # no leg for the partner: nothing polls it
    assert [call.request.url.params["trackingNumber"] for call in route.calls] == [number, number]


async def test_an_unusable_partner_number_is_skipped_and_the_poll_still_recorded(
    committing_sessionmaker, session, clock, dhl_api, dhl
):
    leg_id, _ = await dhl_order(committing_sessionmaker)
    answer = load_text("ecommerce_international.json").replace(PARTNER_NUMBER, "H01" + "9" * 70)
    dhl_api.get(TRACK_URL).mock(return_value=httpx.Response(200, text=answer))
    clock.now = LABEL_AT + timedelta(days=2)

    (report,) = await make_poller(committing_sessionmaker, clock, dhl).poll_due()

    assert (report.legs, report.set_aside) == (1, 0)
    assert (await session.execute(select(LegPartnerNumber))).first() is None
    leg = await session.get(Leg, leg_id, populate_existing=True)
    assert leg.last_successful_poll_at == clock.now
