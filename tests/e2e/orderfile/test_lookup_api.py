from __future__ import annotations

from datetime import timedelta

from app.shipments.models import Leg
from app.tracking.models import LegEvent
from tests.factories import LABEL_AT, fedex_number, order_payload, shipment_payload, usps_number


async def create_handoff_order(client, auth):
    first, second = fedex_number(), usps_number()
    body = order_payload(
        order_number="FS-1001",
        shipments=[
            shipment_payload(
                tracking_number=first,
                carrier="fedex",
                last_mile={"carrier": "usps", "tracking_number": second},
            )
        ],
    )
    response = await client.post("/v1/orders", json=body, headers=auth("ingest"))
    assert response.status_code == 201, response.text
    return body, first, second


async def test_the_order_number_and_both_tracking_numbers_find_the_same_order(client, auth):
    _, first, second = await create_handoff_order(client, auth)

    answers = [
        await client.get(f"/v1/lookup/{number}", headers=auth("agent"))
        for number in ("FS-1001", first, second)
    ]

    assert [a.status_code for a in answers] == [200, 200, 200]
    orders = [a.json()["orders"] for a in answers]
    assert all(len(o) == 1 and o[0]["order_number"] == "FS-1001" for o in orders)
    legs = orders[2][0]["shipments"][0]["legs"]
    assert [leg["tracking_number"] for leg in legs] == [first, second]
    assert [a.json()["orders"][0]["matched_by"] for a in answers] == [
        ["order_number"],
        ["tracking_number"],
        ["tracking_number"],
    ]


async def test_a_number_typed_with_spaces_and_lower_case_is_found(client, auth):
    _, _, second = await create_handoff_order(client, auth)
    typed = " ".join(second[i : i + 4] for i in range(0, len(second), 4))

    response = await client.get(f"/v1/lookup/{typed}", headers=auth("agent"))

    assert response.status_code == 200
    assert response.json()["normalized"] == second
    assert (await client.get("/v1/lookup/fs 1001", headers=auth("agent"))).status_code == 200


async def test_an_unknown_number_is_404_saying_what_was_searched(client, auth):
    response = await client.get("/v1/lookup/zz-999 9", headers=auth("agent"))

    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "zz-999 9" in detail
    assert "ZZ9999" in detail


async def test_the_timeline_merges_both_legs_newest_first_with_local_times(client, auth, session):
    _, first, second = await create_handoff_order(client, auth)
    legs = {leg.tracking_number: leg for leg in (await session.execute(Leg.__table__.select()))}
    events = [
        (first, "OC", "label_created", LABEL_AT, -300),
        (first, "PU", "accepted", LABEL_AT + timedelta(hours=5), -360),
        (second, "GX", "label_created", LABEL_AT + timedelta(days=2), -480),
    ]
    for number, code, status, at, offset in events:
        session.add(
            LegEvent(
                leg_id=legs[number].id,
                status=status,
                carrier_code=code,
                description=f"{code} scan",
                location_city="Brooklyn Park",
                location_state="MN",
                occurred_at=at,
                utc_offset_minutes=offset,
                dedupe_key=f"{number}-{code}",
            )
        )
    await session.commit()

    response = await client.get("/v1/lookup/FS-1001", headers=auth("agent"))

    timeline = response.json()["orders"][0]["timeline"]
    assert [(e["tracking_number"], e["carrier_code"]) for e in timeline] == [
        (second, "GX"),
        (first, "PU"),
        (first, "OC"),
    ]
    assert timeline[1]["local_time"] == "2026-12-17T13:00:00-06:00"
    assert timeline[1]["location"] == "Brooklyn Park, MN"


async def test_the_lookup_says_what_opens_at_the_next_deadline_if_nothing_changes(
    client, auth, session
):
    from sqlalchemy import select

    from app.reconciliation import service
    from app.reconciliation.service import ReconciliationConfig
    from app.shipments.models import Order

    number = usps_number()
    body = order_payload(
        order_number="FS-3001",
        shipments=[shipment_payload(tracking_number=number, carrier="usps")],
    )
    assert (await client.post("/v1/orders", json=body, headers=auth("ingest"))).status_code == 201
    order = (
        await session.execute(select(Order).where(Order.order_number == "FS-3001"))
    ).scalar_one()
    await service.reconcile_orders(
        session,
        order_ids=[order.id],
        now=LABEL_AT + timedelta(hours=1),
        config=ReconciliationConfig(),
    )
    await session.commit()

    found = (await client.get(f"/v1/lookup/{number}", headers=auth("agent"))).json()["orders"][0]

    (upcoming,) = found["upcoming_alerts"]
    assert (upcoming["rule"], upcoming["severity"], upcoming["tracking_number"]) == (
        "never_inducted",
        "critical",
        number,
    )
    # Tuesday 22 December 2026, 00:00 New York: two full business days (18th, 21st) after the
    # label of Thursday the 17th.
    assert upcoming["due_at"] == "2026-12-22T05:00:00Z"
    assert "USPS" in upcoming["explanation"]
    assert found["open_alerts"] == []

    # News (here a change to the order) makes the plan void until the order is judged again.
    order.reconcile_due_at = LABEL_AT + timedelta(hours=2)
    await session.commit()
    found = (await client.get(f"/v1/lookup/{number}", headers=auth("agent"))).json()["orders"][0]
    assert found["upcoming_alerts"] == []
