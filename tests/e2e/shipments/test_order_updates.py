"""PATCH /v1/orders/{n}: every request the schema allows behaves as it says (a field sent
changes, null clears it, an absent one is kept), and the answer never reads the order back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.shipments.models import Order
from tests.factories import order_payload


@pytest.fixture
async def order_number(client, auth) -> str:
    body = order_payload()
    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))
    assert response.status_code == 201
    return str(body["order_number"])


async def stored(session, number: str) -> Order:
    await session.commit()  # see what the request committed
    stmt = (
        select(Order).where(Order.order_number == number).execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


async def test_an_empty_patch_answers_with_no_order_data_to_an_ingest_key(
    client, auth, order_number
):
    response = await client.patch(f"/v1/orders/{order_number}", json={}, headers=auth("ingest"))

    assert response.status_code == 200, response.text
    assert response.json() == {"order_number": order_number, "changed": [], "warnings": []}


@pytest.mark.parametrize(
    ("changes", "changed", "claimed", "promised"),
    [
        ({"claimed_status": None}, ["claimed_status"], None, "2026-12-23"),
        ({"promised_delivery_date": None}, ["promised_delivery_date"], "shipped", None),
        (
            {"claimed_status": None, "promised_delivery_date": None},
            ["claimed_status", "promised_delivery_date"],
            None,
            None,
        ),
        ({"claimed_status": "shipped"}, [], "shipped", "2026-12-23"),
        (
            {"claimed_status": "returned", "promised_delivery_date": "2026-12-24"},
            ["claimed_status", "promised_delivery_date"],
            "returned",
            "2026-12-24",
        ),
    ],
)
async def test_a_field_sent_changes_null_clears_and_an_absent_one_is_kept(
    client, auth, session, order_number, changes, changed, claimed, promised
):
    response = await client.patch(
        f"/v1/orders/{order_number}", json=changes, headers=auth("ingest")
    )

    assert response.status_code == 200, response.text
    assert response.json()["changed"] == changed
    order = await stored(session, order_number)
    assert order.claimed_status == claimed
    assert (order.promised_delivery_on.isoformat() if order.promised_delivery_on else None) == (
        promised
    )


async def test_clearing_the_claim_is_audited_with_before_and_after(
    client, auth, session, order_number
):
    await client.patch(
        f"/v1/orders/{order_number}", json={"claimed_status": None}, headers=auth("ingest")
    )

    await session.commit()
    details = (
        await session.execute(select(AuditEntry.detail).where(AuditEntry.action == "order.updated"))
    ).scalars()
    assert list(details) == [{"claimed_status": ["shipped", None]}]


async def test_patching_an_unknown_order_is_a_404_problem(client, auth):
    response = await client.patch("/v1/orders/NOPE-9", json={}, headers=auth("ingest"))

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("value", [0, "0", "2026-12-23T00:00:00Z", True])
async def test_a_promise_that_is_not_an_iso_date_text_is_a_422(client, auth, order_number, value):
    response = await client.patch(
        f"/v1/orders/{order_number}",
        json={"promised_delivery_date": value},
        headers=auth("ingest"),
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "promised_delivery_date"
