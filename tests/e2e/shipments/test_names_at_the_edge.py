"""Names refuse characters that hide or reorder what an agent reads; order numbers keep to their
documented alphabet, and the routes that name an order take every order number it allows."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from app.shipments.models import Order
from tests.factories import make_alert, order_payload, shipment_payload, ups_number

RLO = "\u202e"  # right-to-left override: "FS-1001<RLO>gnp.exe" shows as "FS-1001exe.png"
ZWSP = "\u200b"


async def saved_alert(session) -> int:
    alert = make_alert(evidence={}, auto_resolved=False)
    session.add(alert)
    await session.commit()
    return alert.id


def with_value(field: str, value: str) -> tuple[dict, str]:
    """An order payload carrying `value` in `field`, and the field's path in the problem."""
    if field in ("order_number", "customer_postal_code"):
        return order_payload(**{field: value}), field
    if field == "last_mile.tracking_number":
        shipment = shipment_payload(last_mile={"carrier": "usps", "tracking_number": value})
        return order_payload(shipments=[shipment]), "shipments[0].last_mile.tracking_number"
    return order_payload(shipments=[shipment_payload(**{field: value})]), f"shipments[0].{field}"


@pytest.mark.parametrize(
    "field",
    [
        "order_number",
        "customer_postal_code",
        "tracking_number",
        "carrier",
        "service",
        "last_mile.tracking_number",
    ],
)
@pytest.mark.parametrize(
    ("character", "reason"),
    [
        (RLO, "contains a bidirectional control character (U+202E)"),
        ("\u2067", "contains a bidirectional control character (U+2067)"),
        (ZWSP, "contains a zero-width character (U+200B)"),
        ("\ufeff", "contains a zero-width character (U+FEFF)"),
        ("\x00", "contains control characters"),
    ],
)
async def test_a_name_with_a_hiding_character_is_a_422_naming_the_field(
    client, auth, session, field, character, reason
):
    body, path = with_value(field, f"12{character}34")

    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    assert response.status_code == 422, response.text
    assert {"field": path, "reason": reason} in response.json()["errors"]
    assert (await session.execute(select(func.count()).select_from(Order))).scalar_one() == 0


@pytest.mark.parametrize("path", ["/v1/orders/FS{}1", "/v1/lookup/FS{}1"])
@pytest.mark.parametrize("character", [RLO, ZWSP, "\u200e"])
async def test_a_route_parameter_with_a_hiding_character_is_a_422(client, auth, path, character):
    response = await client.get(path.format(quote(character)), headers=auth("agent"))

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_order_number_with_a_slash_is_refused_saying_what_to_send(client, auth):
    body = order_payload(order_number="SO-2026/001")

    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "order_number"
    assert "send SO-2026/001 as SO-2026-001" in error["reason"]


@pytest.mark.parametrize("number", ["#1001", "SO-2026-001", "PO 12345", "A.B_C:D+E"])
async def test_every_order_number_the_alphabet_allows_can_be_opened_patched_and_extended(
    client, auth, number
):
    created = await client.post(
        "/v1/orders", json=order_payload(order_number=number), headers=auth("ingest")
    )
    path = f"/v1/orders/{quote(number, safe='')}"

    read = await client.get(path, headers=auth("agent"))
    patched = await client.patch(path, json={"claimed_status": "delivered"}, headers=auth("ingest"))
    extended = await client.post(
        f"{path}/shipments", json=shipment_payload(), headers=auth("ingest")
    )

    assert created.status_code == 201, created.text
    assert (read.status_code, read.json()["order_number"]) == (200, number)
    assert (patched.status_code, patched.json()["order_number"]) == (200, number)
    assert (extended.status_code, len(extended.json()["shipments"])) == (201, 2)


async def test_a_team_name_with_a_bidi_override_is_refused(client, auth, session):
    alert_id = await saved_alert(session)
    response = await client.post(
        f"/v1/alerts/{alert_id}/assign", json={"team": f"ops{RLO}x"}, headers=auth("ops")
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "team", "reason": "contains a bidirectional control character (U+202E)"}
    ]


async def test_a_note_keeps_newlines_but_not_bidi_overrides(client, auth, session):
    alert_id = await saved_alert(session)
    url = f"/v1/alerts/{alert_id}/notes"

    kept = await client.post(
        url, json={"note": "Called.\nAsked for a refund."}, headers=auth("agent")
    )
    refused = await client.post(url, json={"note": f"ok {RLO}evil"}, headers=auth("agent"))

    assert kept.status_code == 200, kept.text
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "note"


async def test_a_tracking_number_padded_with_spaces_is_still_accepted(client, auth):
    number = ups_number()
    body = order_payload(shipments=[shipment_payload(tracking_number=f"  {number} ")])

    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    assert response.status_code == 201, response.text
    assert response.json()["shipments"][0]["legs"][0]["tracking_number"] == number
