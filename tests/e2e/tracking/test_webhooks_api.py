from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.main import create_app
from app.settings import Settings
from app.shipments.models import Leg, Order
from app.tracking.models import CarrierPush, LegEvent, WebhookDelivery
from app.tracking.webhooks import sign_delivery
from tests.factories import create_order, ups_number
from tests.support.push_inbox import count_events, process_inbox, stored_pushes

SECRET = "test-webhook-secret"


@pytest.fixture
def settings(database_url):
    return Settings(database_url=database_url, webhook_secret=SECRET)


def push_body(number: str, *, at: datetime, status: str = "accepted", code: str = "PU") -> bytes:
    return json.dumps(
        {
            "tracking_number": number,
            "events": [
                {
                    "status": status,
                    "code": code,
                    "description": "Picked up",
                    "occurred_at": at.isoformat(),
                    "location": {"city": "Memphis", "state": "TN", "country": "US"},
                }
            ],
        }
    ).encode()


def signed_headers(
    body: bytes, *, now: datetime, delivery: str, secret: str = SECRET, carrier: str = "ups"
):
    stamp = int(now.timestamp())
    signature = sign_delivery(
        secret, timestamp=stamp, delivery_id=delivery, carrier=carrier, body=body
    )
    return {
        "Content-Type": "application/json",
        "X-Firstscan-Timestamp": str(stamp),
        "X-Firstscan-Signature": signature,
        "X-Firstscan-Delivery": delivery,
    }


async def tracked_leg(session, clock):
    number = ups_number()
    order_id, (leg,) = await create_order(
        session,
        now=clock.now - timedelta(hours=3),
        label_at=clock.now - timedelta(hours=3),
        shipments=[{"tracking_number": number, "carrier": "ups", "label_created_at": ""}],
    )
    await session.commit()
    return order_id, leg.id, number


async def test_a_signed_push_is_stored_as_received_and_nothing_else_yet(client, session, clock):
    _, leg_id, number = await tracked_leg(session, clock)
    body = push_body(number, at=clock.now - timedelta(minutes=30))

    response = await client.post(
        "/v1/webhooks/ups", content=body, headers=signed_headers(body, now=clock.now, delivery="d1")
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": True, "duplicate": False}
    [push] = await stored_pushes(session)
    assert (push.carrier, push.format, push.status, push.body) == (
        "ups",
        "firstscan",
        "pending",
        body.decode(),
    )
    assert await count_events(session) == 0
    leg = await session.get(Leg, leg_id, populate_existing=True)
    assert leg.status is None


async def test_a_signed_push_stores_its_events_and_moves_the_leg(
    client, session, sessionmaker, clock
):
    order_id, leg_id, number = await tracked_leg(session, clock)
    body = push_body(number.lower(), at=clock.now - timedelta(minutes=30))

    response = await client.post(
        "/v1/webhooks/ups", content=body, headers=signed_headers(body, now=clock.now, delivery="d1")
    )

    assert response.status_code == 200, response.text
    assert await process_inbox(sessionmaker, clock) == 1
    [push] = await stored_pushes(session)
    assert (push.status, push.numbers, push.unknown_numbers, push.events_stored) == (
        "processed",
        1,
        0,
        1,
    )
    leg = await session.get(Leg, leg_id, populate_existing=True)
    assert (leg.status, leg.accepted_at) == ("accepted", clock.now - timedelta(minutes=30))
    assert leg.last_successful_poll_at == clock.now
    sources = (await session.execute(select(LegEvent.source))).scalars().all()
    assert sources == ["webhook"]
    order = await session.get(Order, order_id, populate_existing=True)
    assert order.reconcile_due_at == clock.now


async def test_a_replayed_delivery_is_refused_and_stores_nothing(client, session, clock):
    _, _, number = await tracked_leg(session, clock)
    body = push_body(number, at=clock.now - timedelta(minutes=30))
    headers = signed_headers(body, now=clock.now, delivery="same-id")
    await client.post("/v1/webhooks/ups", content=body, headers=headers)

    replay = await client.post("/v1/webhooks/ups", content=body, headers=headers)

    assert replay.status_code == 409
    assert len(await stored_pushes(session)) == 1


async def test_the_same_scan_pushed_twice_under_new_ids_is_stored_once(
    client, session, sessionmaker, clock
):
    _, _, number = await tracked_leg(session, clock)
    body = push_body(number, at=clock.now - timedelta(minutes=30))
    for delivery in ("a", "b"):
        response = await client.post(
            "/v1/webhooks/ups",
            content=body,
            headers=signed_headers(body, now=clock.now, delivery=delivery),
        )
        assert response.status_code == 200

    assert await process_inbox(sessionmaker, clock) == 2
    assert await count_events(session) == 1


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("secret", "signature does not match"),
        ("body", "signature does not match"),
        ("stale", "stale"),
        ("missing", "missing"),
    ],
)
async def test_a_bad_or_stale_signature_is_401(client, session, clock, tamper, reason):
    _, _, number = await tracked_leg(session, clock)
    body = push_body(number, at=clock.now)
    sent_at = clock.now - timedelta(minutes=10) if tamper == "stale" else clock.now
    headers = signed_headers(
        body, now=sent_at, delivery="x", secret="wrong" if tamper == "secret" else SECRET
    )
    if tamper == "missing":
        del headers["X-Firstscan-Signature"]
    sent = body.replace(b"Picked up", b"Delivered") if tamper == "body" else body

    response = await client.post("/v1/webhooks/ups", content=sent, headers=headers)

    assert response.status_code == 401
    assert reason in response.json()["detail"]
    assert await stored_pushes(session) == []


async def test_a_push_with_a_bad_field_is_422_naming_it(client, session, clock):
    body = json.dumps({"tracking_number": "X", "events": [{"status": "teleported"}]}).encode()

    response = await client.post(
        "/v1/webhooks/ups", content=body, headers=signed_headers(body, now=clock.now, delivery="q")
    )

    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert "events[0].status" in fields
    assert "events[0].code" in fields


async def test_a_push_for_an_unknown_number_is_accepted_and_counted(
    client, session, sessionmaker, clock
):
    body = push_body(ups_number(), at=clock.now)

    response = await client.post(
        "/v1/webhooks/ups", content=body, headers=signed_headers(body, now=clock.now, delivery="u")
    )

    assert response.status_code == 200
    assert await process_inbox(sessionmaker, clock) == 1
    [push] = await stored_pushes(session)
    assert (push.status, push.numbers, push.unknown_numbers) == ("processed", 1, 1)
    assert await count_events(session) == 0


async def test_without_a_secret_webhooks_are_refused(engine, sessionmaker, database_url, clock):
    import httpx

    app = create_app(
        Settings(database_url=database_url), engine=engine, sessionmaker=sessionmaker, clock=clock
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        response = await client.post("/v1/webhooks/ups", content=b"{}")

    assert response.status_code == 503


async def test_metrics_are_served_in_prometheus_format(client):
    response = await client.get("/metrics")

    assert response.status_code == 200
    assert "firstscan_due_lag_seconds" in response.text
    assert 'firstscan_set_aside{member_type="order"} 0.0' in response.text
    # Counters only workers increment are served by the workers, never as a misleading 0 here.
    assert "firstscan_polls_total" not in response.text
    assert "firstscan_lease_takeovers_total" not in response.text


@pytest.mark.parametrize(
    "change",
    [
        {"timestamp": 1_797_465_601},
        {"delivery_id": "d2"},
        {"carrier": "fedex"},
        {"body": b"{}\n"},
        {"delivery_id": "d1\nups", "carrier": ""},  # moving a separator changes it too
    ],
)
def test_signatures_cover_timestamp_delivery_id_carrier_and_body(change):
    delivery = {"timestamp": 1_797_465_600, "delivery_id": "d1", "carrier": "ups", "body": b"{}"}

    assert sign_delivery("s", **delivery) != sign_delivery("s", **{**delivery, **change})


async def test_a_captured_push_replayed_under_a_new_delivery_id_is_refused(client, session, clock):
    _, _, number = await tracked_leg(session, clock)
    body = push_body(number, at=clock.now - timedelta(minutes=30))
    captured = signed_headers(body, now=clock.now, delivery="original")

    replay = await client.post(
        "/v1/webhooks/ups", content=body, headers={**captured, "X-Firstscan-Delivery": "fresh"}
    )

    assert replay.status_code == 401
    assert "signature does not match" in replay.json()["detail"]
    assert await session.scalar(select(func.count()).select_from(CarrierPush)) == 0
    assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


async def test_a_captured_push_replayed_to_another_carrier_is_refused(client, session, clock):
    _, _, number = await tracked_leg(session, clock)
    body = push_body(number, at=clock.now - timedelta(minutes=30))
    captured = signed_headers(body, now=clock.now, delivery="original", carrier="ups")

    replay = await client.post("/v1/webhooks/fedex", content=body, headers=captured)

    assert replay.status_code == 401
    assert "signature does not match" in replay.json()["detail"]
    assert await session.scalar(select(func.count()).select_from(CarrierPush)) == 0
    assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


async def test_a_push_without_a_delivery_id_is_401(client, session, clock):
    _, _, number = await tracked_leg(session, clock)
    body = push_body(number, at=clock.now)
    headers = signed_headers(body, now=clock.now, delivery="")
    del headers["X-Firstscan-Delivery"]

    response = await client.post("/v1/webhooks/ups", content=body, headers=headers)

    assert response.status_code == 401
    assert "X-Firstscan-Delivery" in response.json()["detail"]
