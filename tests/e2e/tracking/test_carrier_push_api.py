"""The carriers' own pushes: each receiver refuses a bad or missing credential and stores
nothing, refuses an oversized body, stores a good push as received, and the worker records its
events with the carrier's polled parser: once each, never moving a leg backwards."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from app.settings import Settings
from app.shipments.models import Leg
from carriers.fedex.push import sign_push
from carriers.usps.push import sign_notification
from tests.factories import create_order, fedex_number
from tests.support.push_inbox import count_events, process_inbox, stored_pushes
from tests.unit.carriers.payloads import payload_bytes, payload_json

UPS_CREDENTIAL = "ups-credential-given-at-subscription"
USPS_SECRET = "0123456789abcdef0123456789abcdef"
FEDEX_TOKEN = "fedex-webhook-project-security-token"
UPS_NUMBER = "1Z204W4R0308071865"  # the number in UPSTrackAlert.yaml's examples


@pytest.fixture
def settings(database_url):
    return Settings(
        database_url=database_url,
        ups_push_credential=UPS_CREDENTIAL,
        usps_push_secret=USPS_SECRET,
        fedex_push_security_token=FEDEX_TOKEN,
        push_max_body_bytes=32 * 1024,
    )


@pytest.fixture
def clock(clock):
    clock.now = datetime(2024, 4, 24, 12, 0, tzinfo=UTC)  # the day after the spec's examples
    return clock


def ups_event(*, kind: str, code: str, local: str, gmt: str, number: str = UPS_NUMBER) -> bytes:
    """A Track Alert event in UPSTrackAlert.yaml's shape (empty strings for absent values)."""
    body = payload_json("ups", "push_origin_scan.json")
    body.update(
        trackingNumber=number,
        localActivityDate=local[:8],
        localActivityTime=local[8:],
        gmtActivityDate=gmt[:8],
        gmtActivityTime=gmt[8:],
        activityStatus={"type": kind, "code": code, "description": code, "descriptionCode": ""},
    )
    return json.dumps(body).encode()


PICKED_UP = {"kind": "I", "code": "OR", "local": "20240422212901", "gmt": "20240423012901"}
OUT_FOR_DELIVERY = {"kind": "I", "code": "OT", "local": "20240423091519", "gmt": "20240423131519"}
DELIVERED = {"kind": "D", "code": "FS", "local": "20240423095004", "gmt": "20240423135004"}


async def ups_leg(session, clock, number: str = UPS_NUMBER) -> int:
    _, (leg,) = await create_order(
        session,
        now=clock.now - timedelta(days=3),
        label_at=clock.now - timedelta(days=3),
        shipments=[{"tracking_number": number, "carrier": "ups", "label_created_at": ""}],
    )
    await session.commit()
    return leg.id


async def push_ups(client, body: bytes, credential: str | None = UPS_CREDENTIAL):
    headers = {"Content-Type": "application/json", "User-Agent": "UPSPubSubTrackingService"}
    if credential is not None:
        headers["credential"] = credential
    return await client.post("/v1/push/ups", content=body, headers=headers)


def usps_notification(payload: bytes, *, secret: str = USPS_SECRET) -> tuple[bytes, dict]:
    stamp = "2024-11-18T12:40:00Z"
    text = payload.decode()
    body = json.dumps(
        {
            "subscriptionId": "s-1",
            "subscriptionType": "TRACKING",
            "timestamp": stamp,
            "payload": text,
        }
    ).encode()
    signature = sign_notification(secret, timestamp=stamp, payload=text)
    return body, {"Content-Type": "application/json", "X-HMAC": signature}


@pytest.mark.parametrize("credential", [None, "", "wrong", UPS_CREDENTIAL + " "])
async def test_a_ups_push_without_the_subscription_credential_is_401_and_stores_nothing(
    client, session, credential
):
    response = await push_ups(client, ups_event(**PICKED_UP), credential=credential)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert await stored_pushes(session) == []


async def test_a_ups_push_is_stored_as_received_without_its_credential(client, session):
    body = ups_event(**PICKED_UP)

    response = await push_ups(client, body)

    assert response.status_code == 200, response.text
    [push] = await stored_pushes(session)
    assert (push.carrier, push.format, push.status, push.body) == (
        "ups",
        "ups_track_alert",
        "pending",
        body.decode(),
    )
    stored = [str(getattr(push, column.key)) for column in push.__table__.columns]
    assert not any(UPS_CREDENTIAL in value for value in stored)


async def test_a_push_over_the_limit_is_413_and_stores_nothing(client, session):
    body = json.loads(ups_event(**PICKED_UP))
    body["deliveryPhoto"] = "A" * 40_000  # an enhanced subscription's photo, over 32 KiB

    response = await push_ups(client, json.dumps(body).encode())

    assert response.status_code == 413
    assert await stored_pushes(session) == []


async def test_a_ups_push_moves_the_leg_through_the_track_api_tables(
    client, session, sessionmaker, clock
):
    leg_id = await ups_leg(session, clock)

    await push_ups(client, ups_event(**PICKED_UP))
    assert await process_inbox(sessionmaker, clock) == 1

    leg = await session.get(Leg, leg_id, populate_existing=True)
    assert leg.status == "accepted"  # OR, the origin scan, as in a polled answer
    assert leg.accepted_at == datetime(2024, 4, 23, 1, 29, 1, tzinfo=UTC)


async def test_the_same_ups_push_twice_is_stored_once_and_recorded_once(
    client, session, sessionmaker, clock
):
    await ups_leg(session, clock)
    body = ups_event(**PICKED_UP)

    first, again = await push_ups(client, body), await push_ups(client, body)

    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    assert await process_inbox(sessionmaker, clock) == 1
    assert len(await stored_pushes(session)) == 1
    assert await count_events(session) == 1


async def test_pushes_out_of_order_never_move_the_leg_backwards(
    client, session, sessionmaker, clock
):
    leg_id = await ups_leg(session, clock)
    for event in (PICKED_UP, DELIVERED):
        await push_ups(client, ups_event(**event))
    await process_inbox(sessionmaker, clock)

    await push_ups(client, ups_event(**OUT_FOR_DELIVERY))  # sent before the delivery, came after
    assert await process_inbox(sessionmaker, clock) == 1

    leg = await session.get(Leg, leg_id, populate_existing=True)
    assert leg.status == "delivered"
    assert leg.delivered_at == datetime(2024, 4, 23, 13, 50, 4, tzinfo=UTC)
    assert leg.last_event_at == leg.delivered_at
    assert await count_events(session) == 3  # the late scan is kept as history


async def test_a_ups_push_for_a_number_we_do_not_track_is_accepted_and_counted(
    client, session, sessionmaker, clock
):
    response = await push_ups(client, ups_event(**PICKED_UP))

    assert response.status_code == 200
    assert await process_inbox(sessionmaker, clock) == 1
    [push] = await stored_pushes(session)
    assert (push.status, push.numbers, push.unknown_numbers, push.events_stored) == (
        "processed",
        1,
        1,
        0,
    )


async def test_an_unreadable_ups_push_fails_with_its_reason_and_the_rest_go_on(
    client, session, sessionmaker, clock
):
    await ups_leg(session, clock)
    broken = json.loads(ups_event(**PICKED_UP))
    broken["localActivityDate"] = "2024-04-22"  # not YYYYMMDD
    await push_ups(client, json.dumps(broken).encode())
    await push_ups(client, ups_event(**DELIVERED))

    assert await process_inbox(sessionmaker, clock) == 1

    failed, processed = await stored_pushes(session)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "unreadable push" in failed.last_error
    assert processed.status == "processed"


@pytest.mark.parametrize("tamper", ["missing", "secret", "body"])
async def test_a_usps_notification_without_its_signature_is_401_and_stores_nothing(
    client, session, tamper
):
    body, headers = usps_notification(
        payload_bytes("usps", "accepted.json"),
        secret="another-secret" if tamper == "secret" else USPS_SECRET,
    )
    if tamper == "missing":
        del headers["X-HMAC"]
    if tamper == "body":
        body = body.replace(b"RICHMOND", b"NORFOLK")

    response = await client.post("/v1/push/usps", content=body, headers=headers)

    assert response.status_code == 401
    assert await stored_pushes(session) == []


async def test_a_signed_usps_notification_is_recorded_with_the_polled_parser(
    client, session, sessionmaker, clock
):
    number = "9405500000000000000047"  # the number in the recorded answer
    _, (leg,) = await create_order(
        session,
        now=datetime(2024, 11, 15, tzinfo=UTC),
        label_at=datetime(2024, 11, 15, tzinfo=UTC),
        shipments=[{"tracking_number": number, "carrier": "usps", "label_created_at": ""}],
    )
    await session.commit()
    body, headers = usps_notification(payload_bytes("usps", "accepted.json"))

    response = await client.post("/v1/push/usps", content=body, headers=headers)

    assert response.status_code == 200, response.text
    assert await process_inbox(sessionmaker, clock) == 1
    leg = await session.get(Leg, leg.id, populate_existing=True)
    assert leg.status == "accepted"


@pytest.mark.parametrize("tamper", ["missing", "token", "body"])
async def test_a_fedex_push_without_its_signature_is_401_and_stores_nothing(
    client, session, tamper
):
    body = payload_bytes("fedex", "track_in_transit.json")
    signature = sign_push("other-token" if tamper == "token" else FEDEX_TOKEN, body)
    headers = {"Content-Type": "application/json", "fdx-signature": signature}
    if tamper == "missing":
        del headers["fdx-signature"]

    response = await client.post(
        "/v1/push/fedex", content=body + (b" " if tamper == "body" else b""), headers=headers
    )

    assert response.status_code == 401
    assert await stored_pushes(session) == []


async def test_a_signed_fedex_push_is_recorded_for_each_number_we_track(
    client, session, sessionmaker, clock
):
    clock.now = datetime(2024, 9, 6, 12, 0, tzinfo=UTC)  # after the recorded answer's scans
    number = fedex_number()
    _, (leg,) = await create_order(
        session,
        now=datetime(2024, 9, 1, tzinfo=UTC),
        label_at=datetime(2024, 9, 1, tzinfo=UTC),
        shipments=[{"tracking_number": number, "carrier": "fedex", "label_created_at": ""}],
    )
    await session.commit()
    body = payload_bytes("fedex", "track_multiple_numbers.json").replace(
        b"111111111111", number.encode()
    )

    response = await client.post(
        "/v1/push/fedex", content=body, headers={"fdx-signature": sign_push(FEDEX_TOKEN, body)}
    )

    assert response.status_code == 200, response.text
    assert await process_inbox(sessionmaker, clock) == 1
    [push] = await stored_pushes(session)
    # Three numbers: one ours, one FedEx cannot give (left out), one we do not track.
    assert (push.status, push.numbers, push.unknown_numbers) == ("processed", 2, 1)
    leg = await session.get(Leg, leg.id, populate_existing=True)
    assert leg.status == "accepted"


@pytest.mark.parametrize("path", ["/v1/push/ups", "/v1/push/usps", "/v1/push/fedex"])
async def test_a_receiver_without_its_secret_is_503_and_stores_nothing(
    engine, sessionmaker, database_url, clock, session, path
):
    import httpx

    from app.main import create_app

    app = create_app(
        Settings(database_url=database_url), engine=engine, sessionmaker=sessionmaker, clock=clock
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        response = await client.post(path, content=b"{}", headers={"credential": "x"})

    assert response.status_code == 503
    assert await stored_pushes(session) == []


async def test_refused_and_stored_pushes_are_counted_on_the_api_metrics(client):
    async def counted(outcome: str) -> float:
        text = (await client.get("/metrics")).text
        series = f'firstscan_pushes_received_total{{carrier="ups",outcome="{outcome}"}} '
        line = next((x for x in text.splitlines() if x.startswith(series)), series + "0")
        return float(line.split()[-1])

    before = {o: await counted(o) for o in ("refused", "stored")}
    await push_ups(client, ups_event(**PICKED_UP), credential="wrong")
    await push_ups(client, ups_event(**DELIVERED))

    assert {o: await counted(o) - before[o] for o in before} == {"refused": 1, "stored": 1}


async def test_the_inbox_by_status_is_read_into_the_api_metrics(client, sessionmaker, clock):
    await push_ups(client, ups_event(**PICKED_UP))
    await push_ups(client, ups_event(**DELIVERED))
    before = (await client.get("/metrics")).text
    await process_inbox(sessionmaker, clock)
    after = (await client.get("/metrics")).text

    assert 'firstscan_push_inbox{status="pending"} 2.0' in before
    assert 'firstscan_push_inbox{status="pending"} 0.0' in after
    assert 'firstscan_push_inbox{status="processed"} 2.0' in after


async def test_pushes_read_are_counted_per_carrier_on_the_api_metrics(client, sessionmaker, clock):
    await push_ups(client, ups_event(**PICKED_UP))
    await push_ups(client, ups_event(**DELIVERED))
    before = (await client.get("/metrics")).text
    await process_inbox(sessionmaker, clock)
    after = (await client.get("/metrics")).text

    assert 'firstscan_carrier_pushes_read{carrier="ups"}' not in before
    assert 'firstscan_carrier_pushes_read{carrier="ups"} 2.0' in after
    # A push saves no poll by itself: polls are saved when a pushed leg is polled less often.
    assert 'firstscan_carrier_polls_saved{carrier="ups"} 0.0' in after


@pytest.mark.parametrize(
    "body", [b"\xff\xfe not utf-8", b"not json", b"[1, 2]", b"[" * 5000 + b"]" * 5000]
)
async def test_an_authenticated_push_that_is_not_a_json_object_is_422_and_stores_nothing(
    client, session, body
):
    response = await push_ups(client, body)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"
    assert await stored_pushes(session) == []
