"""A consolidator's USPS number (a hand-off leg) subscribed one by one through the mock USPS
Subscriptions - Tracking endpoint over real HTTP, then pushed: the mock posts each scan as an
X-HMAC-signed notification to firstscan served by uvicorn on loopback, and the worker's inbox
job brings the leg to the carrier's latest state. The first leg, and USPS legs that are not
hand-offs, are never subscribed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from pydantic import SecretStr
from sqlalchemy import insert, select

from app.main import create_app
from app.settings import Settings
from app.shipments.models import Leg
from app.tracking.jobs import subscribe_legs
from app.tracking.models import CarrierSubscription
from app.wiring import build_worker_context
from carriers.sandbox import Scenario, example_number, plan_timeline
from mock_carriers import MockCarrierServer
from mock_carriers.server import DEFAULT_CREDENTIALS, MockShipment
from tests.conftest import FixedClock
from tests.factories import create_order, fedex_number
from tests.support.live_app import serve_in_thread
from tests.support.mock_carrier import running_mock_carrier
from tests.support.push_inbox import process_inbox, stored_pushes

SECRET = "usps-subscription-secret-32chars"
LABEL_AT = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
HANDOFF = example_number("usps", Scenario.NORMAL, 3)
OWN_USPS = example_number("usps", Scenario.NORMAL, 4)


async def seed(sessionmaker) -> int:
    """A FedEx leg handed off to the USPS number HANDOFF, and a shop's own USPS label."""
    async with sessionmaker() as session:
        _, (first,) = await create_order(
            session,
            now=LABEL_AT,
            label_at=LABEL_AT,
            shipments=[{"tracking_number": fedex_number(), "carrier": "fedex"}],
        )
        await create_order(
            session,
            now=LABEL_AT,
            label_at=LABEL_AT,
            shipments=[{"tracking_number": OWN_USPS, "carrier": "usps"}],
        )
        leg = {
            "shipment_id": first.shipment_id, "sequence": 2, "carrier": "usps",
            "tracking_number": HANDOFF, "source": "carrier", "handoff_from_leg_id": first.id,
            "label_created_at": LABEL_AT, "tracking_started_at": LABEL_AT, "active": True,
            "next_poll_at": LABEL_AT + timedelta(days=30), "consecutive_failures": 0,
            "created_at": LABEL_AT, "updated_at": LABEL_AT,
        }  # fmt: skip
        leg_id = (await session.execute(insert(Leg).values(leg).returning(Leg.id))).scalar_one()
        await session.commit()
    return leg_id


async def test_a_subscribed_usps_handoff_number_is_pushed_over_loopback(
    committing_sessionmaker, empty_database_url
):
    leg_id = await seed(committing_sessionmaker)
    scans = plan_timeline("usps", HANDOFF, label_created_at=LABEL_AT).scans
    clock = FixedClock(scans[-1].at + timedelta(minutes=1))
    mock = MockCarrierServer(
        clock=clock, shipments=[MockShipment("usps", HANDOFF, Scenario.NORMAL, LABEL_AT)]
    )
    app_settings = Settings(database_url=empty_database_url, usps_push_secret=SecretStr(SECRET))
    with serve_in_thread(create_app(app_settings)) as port, running_mock_carrier(mock) as base:
        credentials = DEFAULT_CREDENTIALS["usps"]
        settings = Settings(
            database_url=empty_database_url,
            carrier_mode="live",
            usps_base_url=f"{base}/usps",
            usps_client_id=credentials.client_id,
            usps_client_secret=credentials.client_secret,
            push_listener_base_url=f"http://127.0.0.1:{port}",
            usps_push_secret=SecretStr(SECRET),
            usps_push_handoff_numbers=True,
        )
        async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
            context = build_worker_context(
                settings, sessionmaker=committing_sessionmaker, http=http, clock=clock
            )
            assert await subscribe_legs(context) == {"usps": 1}
            assert await subscribe_legs(context) == {"usps": 0}  # nothing more is due
        async with httpx.AsyncClient(base_url=base, trust_env=False) as control:
            held = (await control.get("/_mock/subscriptions")).json()
            pushed = (await control.post("/_mock/push")).json()
            stats = (await control.get("/_mock/stats")).json()

    assert set(held) == {HANDOFF}
    assert (held[HANDOFF]["carrier"], held[HANDOFF]["url"]) == (
        "usps",
        f"http://127.0.0.1:{port}/v1/push/usps",
    )
    usps_paths = stats["carriers"]["usps"]["by_path"]
    assert usps_paths["POST /usps/subscriptions-tracking/v3/subscriptions"] == 1
    assert pushed["answers"] == {"200": len(scans)}  # every scan, signed as USPS signs

    async with committing_sessionmaker() as session:
        [row] = (await session.execute(select(CarrierSubscription))).scalars().all()
        assert (row.leg_id, row.state, row.carrier_reference) == (
            leg_id,
            "active",
            held[HANDOFF]["id"],
        )
        assert len(await stored_pushes(session)) == len(scans)
    assert await process_inbox(committing_sessionmaker, clock) == len(scans)
    async with committing_sessionmaker() as session:
        leg = (await session.execute(select(Leg).where(Leg.id == leg_id))).scalar_one()
    assert leg.status == scans[-1].status.value
