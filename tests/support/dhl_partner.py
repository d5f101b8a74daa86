"""One poll of DHL through the real client and parser, answered with a recorded-style payload:
for tests that need what a poll stores (a partner number) before they read it back."""

from __future__ import annotations

from random import Random

import httpx
import respx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.tracking.cadence import CadenceTable
from app.tracking.judging import JudgingPolicy
from app.tracking.poller import CarrierPollReport, Poller, PollerSettings
from app.tracking.rate import CarrierLimits
from carriers.dhl import DhlClient

TRACK_URL = "https://api-eu.dhl.com/track/shipments"
# In tests/data/carriers/dhl/ecommerce_international.json: a parcel to Sheffield, GB.
PARTNER_NUMBER = "H01PQA0010751022"


async def poll_dhl_once(
    sessionmaker: async_sessionmaker[AsyncSession], clock, answer: str
) -> CarrierPollReport:
    """Polls every due DHL leg once; DHL answers `answer` to each request."""

    async def no_sleep(_: float) -> None:
        return None

    with respx.mock(assert_all_called=True) as dhl_api:
        dhl_api.get(TRACK_URL).mock(return_value=httpx.Response(200, text=answer))
        async with httpx.AsyncClient() as http:
            poller = Poller(
                sessionmaker,
                clients={"dhl": DhlClient(http, api_key="demo-key")},
                limits={"dhl": CarrierLimits(per_second=1000)},
                # One pipeline: the e2e tests' sessions share one connection.
                settings=PollerSettings(judging=JudgingPolicy(cadence=CadenceTable()), pipelines=1),
                worker_id="test-worker",
                clock=clock,
                sleep=no_sleep,
                rng=Random(7),
            )
            (report,) = await poller.poll_due()
    return report
