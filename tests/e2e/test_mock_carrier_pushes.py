"""The mock carrier pushes USPS notifications over real HTTP to firstscan served by uvicorn on
loopback, with faults: badly signed pushes are refused and store nothing, doubled and reordered
pushes are stored once each, and the worker's inbox job brings the leg to the carrier's latest
state, never backwards, each scan stored once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from app.main import create_app
from app.settings import Settings
from app.shipments.models import Leg
from carriers.sandbox import Scenario, example_number, plan_timeline
from mock_carriers import MockCarrierServer
from mock_carriers.server import MockShipment
from tests.factories import create_order
from tests.support.live_app import serve_in_thread
from tests.support.mock_carrier import running_mock_carrier
from tests.support.push_inbox import count_events, process_inbox, stored_pushes

SECRET = "usps-subscription-secret"
LABEL_AT = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
NUMBER = example_number("usps", Scenario.NORMAL)


class MovableClock:
    """The mock carrier's clock, moved by the test (read from the server's thread)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def leg_id(committing_sessionmaker) -> int:
    async with committing_sessionmaker() as session:
        _, (leg,) = await create_order(
            session,
            now=LABEL_AT,
            label_at=LABEL_AT,
            shipments=[{"tracking_number": NUMBER, "carrier": "usps", "label_created_at": ""}],
        )
        await session.commit()
    return leg.id


async def test_faulty_pushes_over_loopback_end_in_the_latest_state_stored_once(
    committing_sessionmaker, empty_database_url, leg_id
):
    timeline = plan_timeline("usps", NUMBER, label_created_at=LABEL_AT)
    scans = timeline.scans
    assert len(scans) >= 4
    clock = MovableClock(scans[1].at)
    mock = MockCarrierServer(
        clock=clock, shipments=[MockShipment("usps", NUMBER, Scenario.NORMAL, LABEL_AT)]
    )
    settings = Settings(database_url=empty_database_url, usps_push_secret=SecretStr(SECRET))
    with serve_in_thread(create_app(settings)) as port, running_mock_carrier(mock) as base:
        async with httpx.AsyncClient(base_url=base, trust_env=False) as control:
            target = {
                "carrier": "usps",
                "url": f"http://127.0.0.1:{port}/v1/push/usps",
                "secret": SECRET,
                "numbers": [NUMBER],
            }
            assert (await control.post("/_mock/push/targets", json=target)).status_code == 200

            # The first two scans go out signed with the wrong secret: refused, nothing kept.
            await control.post("/_mock/push/faults", json={"bad_signature_rate": 1.0})
            refused = (await control.post("/_mock/push")).json()
            assert refused["answers"] == {"401": 2}
            async with committing_sessionmaker() as session:
                assert await stored_pushes(session) == []

            # The rest, each posted twice, newest first.
            clock.now = scans[-1].at + timedelta(minutes=1)
            faults = {"duplicate_rate": 1.0, "reorder": True}
            await control.post("/_mock/push/faults", json=faults)
            pushed = (await control.post("/_mock/push")).json()
    later = len(scans) - 2
    assert pushed["posted"] == 2 * later
    assert sum(pushed["answers"].values()) == 2 * later
    assert set(pushed["answers"]) <= {"200", "202"}

    async with committing_sessionmaker() as session:
        assert len(await stored_pushes(session)) == later  # each distinct push once

    processed = await process_inbox(committing_sessionmaker, MovableClock(clock.now))
    assert processed == later
    async with committing_sessionmaker() as session:
        leg = (await session.execute(select(Leg).where(Leg.id == leg_id))).scalar_one()
        # The newest notification was processed first; the older ones moved nothing back.
        assert leg.status == scans[-1].status.value
        # Each notification carries the scans up to its own, the refused two included.
        assert await count_events(session) == len(scans)
