from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.shipments.models import Order
from tests.factories import order_payload, shipment_payload


async def test_malformed_json_is_a_400_problem(client, auth):
    response = await client.post(
        "/v1/orders",
        content=b'{"order_number": "A1", ',
        headers={**auth("ingest"), "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Malformed JSON"
    assert problem["status"] == 400
    assert problem["errors"] == [{"field": "body", "reason": "not valid JSON"}]


async def test_a_wrong_type_is_422_naming_the_field(client, auth):
    body = order_payload(shipments="not a list")

    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    assert response.status_code == 422
    problem = response.json()
    assert {"type", "title", "status", "detail", "errors"} <= problem.keys()
    assert problem["errors"][0]["field"] == "shipments"


async def test_a_missing_field_is_reported_as_required(client, auth):
    body = order_payload(shipments=[{"tracking_number": "1Z999AA10123456784"}])

    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    assert response.status_code == 422
    assert {"field": "shipments[0].label_created_at", "reason": "is required"} in response.json()[
        "errors"
    ]


async def test_an_unknown_field_is_refused_rather_than_ignored(client, auth):
    body = order_payload(shipments=[shipment_payload(trackingnumber="x")])

    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    assert response.status_code == 422
    assert {"field": "shipments[0].trackingnumber", "reason": "is not a known field"} in (
        response.json()["errors"]
    )


async def test_a_label_time_without_an_offset_is_refused(client, auth):
    body = order_payload(shipments=[shipment_payload(label_created_at="2026-12-17T10:00:00")])

    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "shipments[0].label_created_at"


async def test_a_label_time_in_the_future_is_refused(client, auth):
    body = order_payload(shipments=[shipment_payload(label_created_at="2027-06-01T10:00:00Z")])

    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "shipments[0].label_created_at",
            "reason": "is in the future: a label time must lie between 2024-12-17T15:00:00Z and "
            "2026-12-17T15:10:00Z (up to 730 days ago)",
        }
    ]


async def test_a_ten_megabyte_body_is_refused_with_413_and_nothing_stored(client, auth, session):
    padding = "x" * (10 * 1024 * 1024)
    body = order_payload(customer_email=None, order_number="BIG-1")
    body["note"] = padding

    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    assert response.status_code == 413
    assert response.json()["status"] == 413
    assert (await session.execute(select(func.count()).select_from(Order))).scalar_one() == 0


async def test_a_streamed_body_over_the_limit_is_refused_with_413(client, auth):
    async def chunks():
        for _ in range(11):
            yield b"x" * (1024 * 1024)

    response = await client.post(
        "/v1/imports",
        content=chunks(),
        headers={**auth("ingest"), "Content-Type": "text/csv"},
    )

    assert response.status_code == 413


async def test_an_unknown_route_is_a_404_problem(client):
    response = await client.get("/v1/nothing-here")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_nul_character_in_a_body_is_422_not_a_database_error(client, auth):
    body = order_payload(order_number="A\u0000B")

    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "order_number",
        "reason": "contains control characters",
    }


@pytest.mark.parametrize("path", ["/v1/lookup/A%00B", "/v1/orders/A%00B", "/v1/alerts?team=a%00b"])
async def test_a_nul_character_in_a_path_or_query_is_422(client, auth, path):
    response = await client.get(path, headers=auth("agent"))

    assert response.status_code == 422


async def test_a_csv_that_breaks_mid_file_stores_nothing_and_names_the_line(client, auth, session):
    huge = "x" * 200_000
    text = (
        "order_number,tracking_number,label_created_at\n"
        f'OK-1,1Z999AA10123456784,2026-12-16T10:00:00Z\nBAD-1,"{huge}",2026-12-16T10:00:00Z\n'
    )

    response = await client.post(
        "/v1/imports",
        content=text.encode(),
        headers={**auth("ingest"), "Content-Type": "text/csv"},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "line 3"
    assert (await session.execute(select(func.count()).select_from(Order))).scalar_one() == 0
