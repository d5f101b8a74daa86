"""UPS Track Alert v2 over loopback, firstscan served by uvicorn: the worker subscribes a UPS leg
on v2's path with no destination; the mock carrier, given the webhook's URL, token URL and client
credentials as UPS's portal would hold them, gets a bearer token from firstscan's token endpoint
(refused with invalid_client for a wrong secret), keeps it until it expires and pushes with it.
Pushes with a forged or expired token are 401 and store nothing; the rest are stored and bring
the leg to the carrier's latest state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from app.main import create_app
from app.settings import Settings
from app.shipments.models import Leg
from app.tracking.jobs import subscribe_legs
from app.tracking.ups_push_auth import TOKEN_LIFETIME
from app.wiring import build_worker_context
from carriers.sandbox import Scenario, example_number, plan_timeline
from mock_carriers import MockCarrierServer
from mock_carriers.server import DEFAULT_CREDENTIALS, MockShipment
from tests.factories import create_order
from tests.support.live_app import serve_in_thread
from tests.support.mock_carrier import running_mock_carrier
from tests.support.push_inbox import process_inbox, stored_pushes

CLIENT_ID = "firstscan-ups-webhook"
CLIENT_SECRET = "ups-webhook-client-secret-0123456789abcdef"
LABEL_AT = datetime(2026, 1, 21, 20, 0, tzinfo=UTC)
NUMBER = example_number("ups", Scenario.NORMAL)


class MovableClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def seed(sessionmaker) -> int:
    async with sessionmaker() as session:
        _, (leg,) = await create_order(
            session,
            now=LABEL_AT,
            label_at=LABEL_AT,
            shipments=[{"tracking_number": NUMBER, "carrier": "ups", "label_created_at": ""}],
        )
        await session.commit()
    return leg.id


async def round_at(control: httpx.AsyncClient, clock: MovableClock, at: datetime) -> dict:
    clock.now = at
    return (await control.post("/_mock/push")).json()


async def test_the_mock_pushes_ups_v2_with_a_token_from_firstscan(
    committing_sessionmaker, empty_database_url
):
    leg_id = await seed(committing_sessionmaker)
    scans = plan_timeline("ups", NUMBER, label_created_at=LABEL_AT).scans
    assert len(scans) >= 6
    mock_clock = MovableClock(scans[0].at)
    mock = MockCarrierServer(
        clock=mock_clock, shipments=[MockShipment("ups", NUMBER, Scenario.NORMAL, LABEL_AT)]
    )
    push_settings = {"ups_push_client_id": CLIENT_ID, "ups_push_client_secret": CLIENT_SECRET}
    app_clock = MovableClock(scans[0].at)
    app_settings = Settings(database_url=empty_database_url, **push_settings)
    served = serve_in_thread(create_app(app_settings, clock=app_clock))
    with served as port, running_mock_carrier(mock) as base:
        listener = f"http://127.0.0.1:{port}"
        credentials = DEFAULT_CREDENTIALS["ups"]
        worker_settings = Settings(
            database_url=empty_database_url,
            carrier_mode="live",
            ups_base_url=f"{base}/ups",
            ups_client_id=credentials.client_id,
            ups_client_secret=credentials.client_secret,
            push_listener_base_url=listener,
            **push_settings,
        )
        async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=10) as control:
            # Registered in UPS's portal before subscribing (v2 names no destination), here
            # with a secret firstscan does not know.
            webhook = {
                "url": f"{listener}/v1/push/ups",
                "token_url": f"{listener}/v1/push/ups/token",
                "client_id": CLIENT_ID,
                "client_secret": "not-the-secret",
            }
            await control.post("/_mock/ups/webhook", json=webhook)
            async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
                context = build_worker_context(
                    worker_settings,
                    sessionmaker=committing_sessionmaker,
                    http=http,
                    clock=mock_clock,
                )
                assert await subscribe_legs(context) == {"ups": 1}
            held = (await control.get("/_mock/subscriptions")).json()
            wrong_secret = await round_at(control, mock_clock, scans[0].at)

            await control.post(
                "/_mock/ups/webhook", json={**webhook, "client_secret": CLIENT_SECRET}
            )
            good = await round_at(control, mock_clock, scans[2].at)

            await control.post("/_mock/push/faults", json={"bad_signature_rate": 1.0})
            forged = await round_at(control, mock_clock, scans[3].at)

            await control.post("/_mock/push/faults", json={})
            app_clock.now += TOKEN_LIFETIME + timedelta(seconds=1)  # the mock's token expires
            expired = await round_at(control, mock_clock, scans[4].at)
            renewed = await round_at(control, mock_clock, scans[-1].at)
            stats = (await control.get("/_mock/stats")).json()

    assert held[NUMBER]["version"] == "v2"
    ups_paths = stats["carriers"]["ups"]["by_path"]
    assert ups_paths["POST /ups/api/track/v2/subscription/standard/package"] == 1
    assert "POST /ups/api/track/v1/subscription/standard/package" not in ups_paths

    # The token endpoint refused the wrong secret: no token, no push posted.
    assert (wrong_secret["answers"], wrong_secret["tokens_fetched"], wrong_secret["posted"]) == (
        {"401": 1},
        0,
        0,
    )
    # One token for both pushes of the round: kept, not asked for again.
    assert (good["answers"], good["tokens_fetched"]) == ({"200": 2}, 1)
    assert (forged["answers"], forged["tokens_fetched"]) == ({"401": 1}, 0)
    assert (expired["answers"], expired["tokens_fetched"]) == ({"401": 1}, 0)
    # Refused, the mock asked for a new token, as UPS would.
    rest = len(scans) - 5
    assert (renewed["answers"], renewed["tokens_fetched"]) == ({"200": rest}, 1)

    async with committing_sessionmaker() as session:
        assert len(await stored_pushes(session)) == 2 + rest
    assert await process_inbox(committing_sessionmaker, mock_clock) == 2 + rest
    async with committing_sessionmaker() as session:
        leg = (await session.execute(select(Leg).where(Leg.id == leg_id))).scalar_one()
    assert leg.status == scans[-1].status.value
