"""Label times outside their window are refused naming it; a 'no date' or far-off promise is
stored as no promise with a warning in the answer and the audit, and the label is still
tracked. Dates are ISO text only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.shipments.models import Leg, Order
from tests.factories import order_payload, shipment_payload, ups_number

YEAR_ONE = "0001-01-01T00:00:00Z"
WINDOW = "a label time must lie between 2024-12-17T15:00:00Z and 2026-12-17T15:10:00Z"
PLACEHOLDER = "9999-12-31 is a 'no date' placeholder; treated as no promise"


async def stored_order(session, number: str) -> Order:
    return (await session.execute(select(Order).where(Order.order_number == number))).scalar_one()


async def audit_details(session, action: str) -> list[dict]:
    stmt = select(AuditEntry.detail).where(AuditEntry.action == action).order_by(AuditEntry.id)
    return list((await session.execute(stmt)).scalars())


@pytest.mark.parametrize(
    "label_at", [YEAR_ONE, "0001-01-01T00:00:00+05:00", "1999-06-01T00:00:00Z"]
)
async def test_a_label_time_before_the_window_is_a_422_naming_it(client, auth, label_at):
    body = order_payload(shipments=[shipment_payload(label_created_at=label_at)])

    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["field"] == "shipments[0].label_created_at"
    assert error["reason"].startswith(f"is too old: {WINDOW}")


async def test_a_year_one_label_added_to_an_order_is_a_422_naming_the_window(client, auth):
    body = order_payload()
    await client.post("/v1/orders", json=body, headers=auth("ingest"))

    response = await client.post(
        f"/v1/orders/{body['order_number']}/shipments",
        json=shipment_payload(label_created_at=YEAR_ONE),
        headers=auth("ingest"),
    )

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "label_created_at"
    assert WINDOW in response.json()["detail"]


async def test_a_year_one_label_in_an_import_is_that_rows_error_and_the_rest_are_stored(
    client, auth, session
):
    text = (
        "order_number,tracking_number,carrier,label_created_at\n"
        f"EDGE-1,{ups_number()},ups,2026-12-16T10:00:00Z\n"
        f"EDGE-2,{ups_number()},ups,{YEAR_ONE}\n"
        f"EDGE-3,{ups_number()},ups,2026-12-16T11:00:00Z\n"
    )

    response = await client.post(
        "/v1/imports", content=text.encode(), headers={**auth("ingest"), "Content-Type": "text/csv"}
    )

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["stored"]) == (3, 2)
    (rejected,) = report["rejected"]
    assert (rejected["line"], rejected["field"]) == (3, "label_created_at")
    assert WINDOW in rejected["reason"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("promised_delivery_date", 0),
        ("promised_delivery_date", 1766000000),
        ("promised_delivery_date", "2026-12-23T00:00:00Z"),
        ("promised_delivery_date", "23/12/2026"),
        ("label_created_at", 0),
        ("label_created_at", 1766000000.5),
        ("label_created_at", "1766000000"),
    ],
)
async def test_dates_are_iso_text_only(client, auth, field, value):
    if field == "label_created_at":
        body = order_payload(shipments=[shipment_payload(label_created_at=value)])
        path = "shipments[0].label_created_at"
    else:
        body = order_payload(promised_delivery_date=value)
        path = field

    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == path
    assert response.json()["errors"][0]["reason"].startswith("must be an ISO 8601 text like")


@pytest.mark.parametrize(
    ("promised", "reason"),
    [
        ("9999-12-31", PLACEHOLDER),
        ("1900-01-01", "1900-01-01 is a 'no date' placeholder; treated as no promise"),
        ("1970-01-01", "1970-01-01 is a 'no date' placeholder; treated as no promise"),
        (
            "2031-01-01",
            "2031-01-01 is outside 2024-12-17..2027-12-17 (up to 365 days ahead); "
            "treated as no promise",
        ),
    ],
)
async def test_an_unusable_promise_is_stored_as_none_with_a_warning_and_the_label_is_tracked(
    client, auth, session, promised, reason
):
    body = order_payload(promised_delivery_date=promised)

    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))

    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["promised_delivery_date"] is None
    assert answer["warnings"] == [{"field": "promised_delivery_date", "reason": reason}]
    order = await stored_order(session, body["order_number"])
    assert order.promised_delivery_on is None
    assert await audit_details(session, "order.created") == [
        {"warnings": [{"field": "promised_delivery_date", "reason": reason}]}
    ]
    (leg,) = (await session.execute(select(Leg))).scalars()
    assert leg.active
    assert leg.next_poll_at is not None


async def test_a_usable_promise_gets_no_warning(client, auth):
    response = await client.post("/v1/orders", json=order_payload(), headers=auth("ingest"))

    assert response.status_code == 201
    assert response.json()["warnings"] == []
    assert response.json()["promised_delivery_date"] == "2026-12-23"


async def test_a_placeholder_sent_again_keeps_the_stored_promise_as_a_null_would(
    client, auth, session
):
    body = order_payload()
    await client.post("/v1/orders", json=body, headers=auth("ingest"))

    again = await client.post(
        "/v1/orders", json={**body, "promised_delivery_date": "9999-12-31"}, headers=auth("ingest")
    )

    assert again.status_code == 200
    assert again.json()["promised_delivery_date"] == "2026-12-23"
    assert again.json()["warnings"] == [{"field": "promised_delivery_date", "reason": PLACEHOLDER}]


async def test_a_placeholder_with_a_new_label_is_recorded_in_the_audit(client, auth, session):
    body = order_payload()
    await client.post("/v1/orders", json=body, headers=auth("ingest"))
    more = {
        **body,
        "promised_delivery_date": "9999-12-31",
        "shipments": [*body["shipments"], shipment_payload()],
    }

    response = await client.post("/v1/orders", json=more, headers=auth("ingest"))

    assert response.status_code == 200, response.text
    assert len(response.json()["shipments"]) == 2
    assert await audit_details(session, "order.updated") == [
        {"warnings": [{"field": "promised_delivery_date", "reason": PLACEHOLDER}]}
    ]


async def test_patch_with_a_placeholder_clears_the_promise_and_says_why(client, auth, session):
    body = order_payload()
    await client.post("/v1/orders", json=body, headers=auth("ingest"))

    response = await client.patch(
        f"/v1/orders/{body['order_number']}",
        json={"promised_delivery_date": "9999-12-31"},
        headers=auth("ingest"),
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "order_number": body["order_number"],
        "changed": ["promised_delivery_date"],
        "warnings": [{"field": "promised_delivery_date", "reason": PLACEHOLDER}],
    }
    assert (await stored_order(session, body["order_number"])).promised_delivery_on is None
    assert await audit_details(session, "order.updated") == [
        {
            "promised_delivery_date": ["2026-12-23", None],
            "warnings": [{"field": "promised_delivery_date", "reason": PLACEHOLDER}],
        }
    ]


async def test_an_import_row_with_a_placeholder_is_stored_and_its_warning_listed(
    client, auth, session
):
    text = (
        "order_number,tracking_number,carrier,label_created_at,promised_delivery_date\n"
        f"WARN-1,{ups_number()},ups,2026-12-16T10:00:00Z,2026-12-23\n"
        f"WARN-2,{ups_number()},ups,2026-12-16T10:00:00Z,9999-12-31\n"
    )

    response = await client.post(
        "/v1/imports", content=text.encode(), headers={**auth("ingest"), "Content-Type": "text/csv"}
    )

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["stored"], report["rejected"]) == (2, [])
    assert report["warnings"] == [
        {"line": 3, "field": "promised_delivery_date", "reason": PLACEHOLDER}
    ]
    assert (await stored_order(session, "WARN-2")).promised_delivery_on is None
