from __future__ import annotations

from tests.factories import dhl_number, order_payload, shipment_payload
from tests.support.dhl_partner import PARTNER_NUMBER, poll_dhl_once
from tests.unit.carriers.dhl.payloads import load_text


async def dhl_order_polled(client, auth, sessionmaker, clock, order_number: str) -> str:
    number = dhl_number()
    body = order_payload(
        order_number=order_number,
        shipments=[shipment_payload(tracking_number=number, carrier="dhl")],
    )
    assert (await client.post("/v1/orders", json=body, headers=auth("ingest"))).status_code == 201
    report = await poll_dhl_once(sessionmaker, clock, load_text("ecommerce_international.json"))
    assert (report.legs, report.set_aside) == (1, 0)
    return number


async def test_the_partner_number_typed_any_way_finds_the_order(client, auth, sessionmaker, clock):
    await dhl_order_polled(client, auth, sessionmaker, clock, "FS-4001")

    response = await client.get("/v1/lookup/h01pqa 0010-751022", headers=auth("agent"))

    assert response.status_code == 200, response.text
    assert response.json()["normalized"] == PARTNER_NUMBER
    (order,) = response.json()["orders"]
    assert order["order_number"] == "FS-4001"
    assert order["matched_by"] == ["partner_number"]
    (leg,) = order["shipments"][0]["legs"]
    assert leg["carrier"] == "dhl"
    assert [(p["number"], p["partner_name"]) for p in leg["partner_numbers"]] == [
        (PARTNER_NUMBER, None)
    ]
    assert leg["partner_numbers"][0]["first_seen_at"] == clock.now.isoformat().replace(
        "+00:00", "Z"
    )


async def test_the_leg_shows_its_partner_number_when_found_by_the_dhl_number(
    client, auth, sessionmaker, clock
):
    number = await dhl_order_polled(client, auth, sessionmaker, clock, "FS-4002")

    response = await client.get(f"/v1/lookup/{number}", headers=auth("agent"))

    (order,) = response.json()["orders"]
    assert order["matched_by"] == ["tracking_number"]
    (leg,) = order["shipments"][0]["legs"]
    assert [p["number"] for p in leg["partner_numbers"]] == [PARTNER_NUMBER]


async def test_a_number_one_character_off_the_partner_number_finds_nothing(
    client, auth, sessionmaker, clock
):
    await dhl_order_polled(client, auth, sessionmaker, clock, "FS-4003")

    response = await client.get("/v1/lookup/H01PQA0010751023", headers=auth("agent"))

    assert response.status_code == 404
