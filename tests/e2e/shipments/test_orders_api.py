from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.shipments.models import Leg, Order
from tests.factories import (
    LABEL_AT,
    dhl_number,
    economy_number,
    fedex_number,
    order_payload,
    shipment_payload,
    ups_number,
    usps_number,
)


async def count_rows(session, model) -> int:
    return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_creating_an_order_stores_it_with_its_leg_due_for_polling_at_once(
    client, auth, session, clock
):
    number = ups_number()
    body = order_payload(shipments=[shipment_payload(tracking_number=number)])

    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    assert response.status_code == 201, response.text
    order = response.json()
    assert order["order_number"] == body["order_number"]
    (leg,) = order["shipments"][0]["legs"]
    assert (leg["carrier"], leg["tracking_number"], leg["role"]) == ("ups", number, "only")
    assert leg["status"] is None
    assert leg["next_poll_at"] is not None
    stored = (await session.execute(select(Leg).where(Leg.tracking_number == number))).scalar_one()
    assert stored.next_poll_at == clock.now


async def test_repeating_the_same_order_changes_nothing_and_answers_the_same(client, auth, session):
    body = order_payload()
    first = await client.post("/v1/orders", json=body, headers=auth("ingest"))
    audit_after_first = await count_rows(session, AuditEntry)

    second = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json() == first.json()
    assert await count_rows(session, AuditEntry) == audit_after_first
    assert await count_rows(session, Leg) == 1


async def test_tracking_numbers_are_normalized_from_spaces_dashes_and_case(client, auth):
    number = ups_number()
    spaced = f"{number[:2].lower()} {number[2:8]}-{number[8:]}"

    response = await client.post(
        "/v1/orders",
        json=order_payload(shipments=[shipment_payload(tracking_number=spaced)]),
        headers=auth("ingest"),
    )

    assert response.status_code == 201, response.text
    assert response.json()["shipments"][0]["legs"][0]["tracking_number"] == number


async def test_the_carrier_is_detected_from_the_number_when_omitted(client, auth):
    number = usps_number()
    response = await client.post(
        "/v1/orders",
        json=order_payload(shipments=[shipment_payload(tracking_number=number, carrier=None)]),
        headers=auth("ingest"),
    )

    assert response.status_code == 201, response.text
    assert response.json()["shipments"][0]["legs"][0]["carrier"] == "usps"


async def test_an_ambiguous_number_without_a_carrier_is_422_naming_the_candidates(
    client, auth, session
):
    response = await client.post(
        "/v1/orders",
        json=order_payload(
            shipments=[shipment_payload(tracking_number=economy_number(), carrier=None)]
        ),
        headers=auth("ingest"),
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "shipments[0].carrier"
    assert "usps" in problem["errors"][0]["reason"]
    assert "fedex" in problem["errors"][0]["reason"]
    assert "name the carrier" in problem["errors"][0]["reason"]
    assert await count_rows(session, Order) == 0


async def test_an_unrecognised_number_is_422_asking_for_the_carrier(client, auth):
    response = await client.post(
        "/v1/orders",
        json=order_payload(shipments=[shipment_payload(tracking_number="HELLO123", carrier=None)]),
        headers=auth("ingest"),
    )

    assert response.status_code == 422
    assert "not a recognised tracking number" in response.json()["errors"][0]["reason"]


async def test_a_bad_check_digit_is_422_naming_the_field(client, auth, session):
    number = ups_number()
    broken = number[:-1] + str((int(number[-1]) + 1) % 10)

    response = await client.post(
        "/v1/orders",
        json=order_payload(shipments=[shipment_payload(tracking_number=broken)]),
        headers=auth("ingest"),
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["type"].endswith("/invalid-input")
    assert problem["errors"] == [
        {"field": "shipments[0].tracking_number", "reason": "bad check digit for a UPS 1Z number"}
    ]
    assert await count_rows(session, Order) == 0


async def test_an_unknown_carrier_is_422_listing_the_known_ones(client, auth):
    response = await client.post(
        "/v1/orders",
        json=order_payload(shipments=[shipment_payload(carrier="pigeon")]),
        headers=auth("ingest"),
    )

    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "shipments[0].carrier"
    assert "pigeon" in error["reason"]
    assert "usps" in error["reason"]


async def test_one_bad_shipment_stores_nothing_of_the_order(client, auth, session):
    body = order_payload(
        shipments=[shipment_payload(), shipment_payload(tracking_number="1Z0000", carrier="ups")]
    )

    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "shipments[1].tracking_number"
    assert await count_rows(session, Order) == 0
    assert await count_rows(session, Leg) == 0


async def test_the_same_number_on_another_recent_order_is_409_naming_that_order(
    client, auth, session, clock
):
    clock.now = LABEL_AT + timedelta(days=100)
    number = fedex_number()
    first = order_payload(shipments=[shipment_payload(tracking_number=number, carrier="fedex")])
    await client.post("/v1/orders", json=first, headers=auth("ingest"))
    later = (LABEL_AT + timedelta(days=89)).isoformat()
    second = order_payload(
        shipments=[
            shipment_payload(tracking_number=number, carrier="fedex", label_created_at=later)
        ]
    )

    response = await client.post("/v1/orders", json=second, headers=auth("ingest"))

    assert response.status_code == 409
    problem = response.json()
    assert problem["conflicting_order_number"] == first["order_number"]
    assert first["order_number"] in problem["detail"]
    assert problem["errors"][0]["field"] == "shipments[0].tracking_number"
    assert await count_rows(session, Order) == 1


async def test_a_recycled_number_older_than_the_window_is_accepted_and_shown_newest_first(
    client, auth, clock
):
    number = fedex_number()
    old_label = LABEL_AT - timedelta(days=120)
    old = order_payload(
        shipments=[
            shipment_payload(
                tracking_number=number, carrier="fedex", label_created_at=old_label.isoformat()
            )
        ]
    )
    new = order_payload(shipments=[shipment_payload(tracking_number=number, carrier="fedex")])
    assert (await client.post("/v1/orders", json=old, headers=auth("ingest"))).status_code == 201

    response = await client.post("/v1/orders", json=new, headers=auth("ingest"))

    assert response.status_code == 201, response.text
    lookup = await client.get(f"/v1/lookup/{number}", headers=auth("agent"))
    assert [o["order_number"] for o in lookup.json()["orders"]] == [
        new["order_number"],
        old["order_number"],
    ]


async def test_a_last_mile_number_becomes_a_second_leg_handed_off_from_the_first(client, auth):
    first, second = fedex_number(), usps_number()
    body = order_payload(
        shipments=[
            shipment_payload(
                tracking_number=first,
                carrier="fedex",
                service="ground_economy",
                last_mile={"carrier": "usps", "tracking_number": second},
            )
        ]
    )

    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    assert response.status_code == 201, response.text
    legs = response.json()["shipments"][0]["legs"]
    assert [(leg["carrier"], leg["tracking_number"], leg["role"]) for leg in legs] == [
        ("fedex", first, "first_mile"),
        ("usps", second, "last_mile"),
    ]
    assert legs[0]["hands_off_to"] == second
    assert legs[1]["handed_off_from"] == first


async def test_a_label_can_be_added_to_an_existing_order_once(client, auth):
    body = order_payload()
    await client.post("/v1/orders", json=body, headers=auth("ingest"))
    label = shipment_payload(tracking_number=dhl_number(), carrier="dhl")
    path = f"/v1/orders/{body['order_number']}/shipments"

    added = await client.post(path, json=label, headers=auth("ingest"))
    again = await client.post(path, json=label, headers=auth("ingest"))

    assert added.status_code == 201, added.text
    assert len(added.json()["shipments"]) == 2
    assert again.status_code == 200
    assert again.json() == added.json()


async def test_adding_a_label_to_an_unknown_order_is_404(client, auth):
    response = await client.post(
        "/v1/orders/NOPE-1/shipments", json=shipment_payload(), headers=auth("ingest")
    )

    assert response.status_code == 404
    assert "NOPE-1" in response.json()["detail"]


async def test_patch_updates_our_claims_and_leaves_other_fields(client, auth, session):
    body = order_payload()
    await client.post("/v1/orders", json=body, headers=auth("ingest"))

    response = await client.patch(
        f"/v1/orders/{body['order_number']}",
        json={"claimed_status": "delivered"},
        headers=auth("ingest"),
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "order_number": body["order_number"],
        "changed": ["claimed_status"],
        "warnings": [],
    }
    order = (await client.get(f"/v1/orders/{body['order_number']}", headers=auth("agent"))).json()
    assert order["claimed_status"] == "delivered"
    assert order["promised_delivery_date"] == body["promised_delivery_date"]
    actions = (await session.execute(select(AuditEntry.action))).scalars().all()
    assert "order.updated" in actions


async def test_patch_with_an_unknown_claimed_status_is_422(client, auth):
    body = order_payload()
    await client.post("/v1/orders", json=body, headers=auth("ingest"))

    response = await client.patch(
        f"/v1/orders/{body['order_number']}",
        json={"claimed_status": "teleported"},
        headers=auth("ingest"),
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "claimed_status"


@pytest.mark.parametrize("number", ["470800204932", "GMDBD8E9CCE94842E495B7"])
async def test_real_dhl_numbers_without_a_check_digit_ingest_with_the_carrier_named(
    client, auth, number
):
    named = await client.post(
        "/v1/orders",
        json=order_payload(shipments=[shipment_payload(tracking_number=number, carrier="dhl")]),
        headers=auth("ingest"),
    )
    guessed = await client.post(
        "/v1/orders",
        json=order_payload(shipments=[shipment_payload(tracking_number=number, carrier=None)]),
        headers=auth("ingest"),
    )

    assert named.status_code == 201, named.text
    assert named.json()["shipments"][0]["legs"][0]["carrier"] == "dhl"
    assert guessed.status_code == 422


async def test_an_ingest_key_never_reads_a_customers_contact_details_back(client, auth):
    created = order_payload(customer_email="jamie.rivera@example.com", customer_postal_code="97211")
    first = await client.post("/v1/orders", json=created, headers=auth("ingest"))
    # Another system posts the bare number: it must not learn who the customer is.
    probe = await client.post(
        "/v1/orders", json={"order_number": created["order_number"]}, headers=auth("ingest")
    )
    full = await client.get(f"/v1/orders/{created['order_number']}", headers=auth("agent"))

    assert first.status_code == 201
    assert probe.status_code == 200
    for answer in (first.json(), probe.json()):
        assert answer["customer_email"] == "ja***@example.com"
        assert answer["customer_postal_code"] == "97***"
    assert full.json()["customer_email"] == "jamie.rivera@example.com"  # agents read it whole
