"""FIRSTSCAN_MAX_SHIPMENTS_PER_ORDER: no request or import row takes an order past it (what is
stored plus what is new); sending labels the order already has is not growth."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.settings import Settings
from app.shipments.models import Shipment
from tests.factories import order_payload, shipment_payload, ups_number

LIMIT_WORDS = "an order may have at most 2 (FIRSTSCAN_MAX_SHIPMENTS_PER_ORDER)"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, max_shipments_per_order=2)


async def shipments_stored(session) -> int:
    await session.commit()
    return (await session.execute(select(func.count()).select_from(Shipment))).scalar_one()


async def test_an_order_sent_with_more_shipments_than_allowed_is_a_422_naming_the_limit(
    client, auth, session
):
    body = order_payload(shipments=[shipment_payload() for _ in range(3)])

    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "shipments", "reason": f"has 3 shipments; {LIMIT_WORDS}"}
    ]
    assert await shipments_stored(session) == 0


async def test_a_label_added_to_a_full_order_is_a_422_and_resending_its_labels_is_not(
    client, auth, session
):
    body = order_payload(shipments=[shipment_payload(), shipment_payload()])
    first = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    again = await client.post("/v1/orders", json=body, headers=auth("ingest"))
    known = await client.post(
        f"/v1/orders/{body['order_number']}/shipments",
        json=body["shipments"][1],
        headers=auth("ingest"),
    )
    third = await client.post(
        f"/v1/orders/{body['order_number']}/shipments",
        json=shipment_payload(),
        headers=auth("ingest"),
    )

    assert (first.status_code, again.status_code, known.status_code) == (201, 200, 200)
    assert third.status_code == 422
    assert third.json()["errors"] == [
        {
            "field": "body",
            "reason": f"would give order {body['order_number']} 3 shipments "
            f"(2 stored, 1 new); {LIMIT_WORDS}",
        }
    ]
    assert await shipments_stored(session) == 2


async def test_an_upsert_counts_only_the_labels_the_order_does_not_have(client, auth, session):
    body = order_payload(shipments=[shipment_payload()])
    known = body["shipments"][0]
    await client.post("/v1/orders", json=body, headers=auth("ingest"))

    second = await client.post(
        "/v1/orders",
        json={**body, "shipments": [known, shipment_payload()]},
        headers=auth("ingest"),
    )
    third = await client.post(
        "/v1/orders",
        json={**body, "shipments": [known, shipment_payload()]},
        headers=auth("ingest"),
    )

    assert second.status_code == 200, second.text
    assert third.status_code == 422
    assert third.json()["errors"][0]["reason"] == (
        f"would give order {body['order_number']} 3 shipments (2 stored, 1 new); {LIMIT_WORDS}"
    )
    assert await shipments_stored(session) == 2


async def test_an_import_row_past_the_limit_is_that_rows_error(client, auth, session):
    text = "order_number,tracking_number,carrier,label_created_at\n" + "".join(
        f"FULL-1,{ups_number()},ups,2026-12-16T10:00:00Z\n" for _ in range(3)
    )

    response = await client.post(
        "/v1/imports", content=text.encode(), headers={**auth("ingest"), "Content-Type": "text/csv"}
    )

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["stored"], len(report["rejected"])) == (2, 1)
    assert report["rejected"][0]["line"] == 4
    assert LIMIT_WORDS in report["rejected"][0]["reason"]
    assert await shipments_stored(session) == 2
