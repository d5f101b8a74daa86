from __future__ import annotations

from tests.e2e.console.conftest import sign_in
from tests.factories import dhl_number, order_payload, shipment_payload
from tests.support.dhl_partner import PARTNER_NUMBER, poll_dhl_once
from tests.unit.carriers.dhl.payloads import load_text


async def polled_dhl_order(client, auth, sessionmaker, clock, answer: str) -> None:
    body = order_payload(
        order_number="FS-5001",
        shipments=[shipment_payload(tracking_number=dhl_number(), carrier="dhl")],
    )
    assert (await client.post("/v1/orders", json=body, headers=auth("ingest"))).status_code == 201
    report = await poll_dhl_once(sessionmaker, clock, answer)
    assert (report.legs, report.set_aside) == (1, 0)


async def test_search_by_the_partner_number_opens_the_order(
    client, auth, api_keys, sessionmaker, clock
):
    await polled_dhl_order(
        client, auth, sessionmaker, clock, load_text("ecommerce_international.json")
    )
    await sign_in(client, api_keys["agent"])

    response = await client.get("/console/search", params={"q": "h01pqa 0010 751022"})

    assert response.headers["location"] == "/console/orders/FS-5001"


async def test_the_order_page_says_the_parcel_went_to_an_untracked_local_partner(
    client, auth, api_keys, sessionmaker, clock
):
    await polled_dhl_order(
        client, auth, sessionmaker, clock, load_text("ecommerce_international.json")
    )
    await sign_in(client, api_keys["agent"])

    page = (await client.get("/console/orders/FS-5001")).text

    assert (
        f'handed to the local postal partner as <span class="number">{PARTNER_NUMBER}</span>'
        ' <span class="muted">(not tracked by firstscan)</span>'
    ) in page


async def test_the_order_page_names_the_partner_when_dhl_does(
    client, auth, api_keys, sessionmaker, clock
):
    answer = load_text("ecommerce_international.json").replace(
        '"details": {', '"details": {"carrier": {"organizationName": "Royal Mail"}, ', 1
    )
    await polled_dhl_order(client, auth, sessionmaker, clock, answer)
    await sign_in(client, api_keys["agent"])

    page = (await client.get("/console/orders/FS-5001")).text

    assert (
        "handed to <strong>Royal Mail</strong>, the local postal partner, as "
        f'<span class="number">{PARTNER_NUMBER}</span>'
    ) in page
