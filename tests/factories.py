"""Plain builders for test data: valid tracking numbers of each carrier and request payloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from app.alerts import items
from app.alerts.models import Alert, AlertNotification
from carriers.numbers import build_valid_number

_serials = count(1)


def ups_number(serial: int | None = None) -> str:
    return build_valid_number("ups_1z", f"1Z999AA10{serial or next(_serials):08d}")


def usps_number(serial: int | None = None) -> str:
    return build_valid_number("usps_impb", f"9400{serial or next(_serials):017d}")


def fedex_number(serial: int | None = None) -> str:
    return build_valid_number("fedex_express_12", f"7{serial or next(_serials):010d}")


def dhl_number(serial: int | None = None) -> str:
    return build_valid_number("dhl_express", f"1{serial or next(_serials):08d}")


def economy_number(serial: int | None = None) -> str:
    """A FedEx Ground Economy number; it is also a valid USPS IMpb, so it is ambiguous."""
    return build_valid_number("fedex_ground_economy", f"92{serial or next(_serials):019d}")


LABEL_AT = datetime(2026, 12, 17, 14, 0, tzinfo=UTC)


def shipment_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "tracking_number": ups_number(),
        "carrier": "ups",
        "label_created_at": LABEL_AT.isoformat(),
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def order_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "order_number": f"ORD-{next(_serials):06d}",
        "customer_email": "jamie@example.com",
        "customer_postal_code": "97211",
        "promised_delivery_date": "2026-12-23",
        "claimed_status": "shipped",
        "shipments": [shipment_payload()],
    }
    payload.update(overrides)
    return payload


async def create_order(session, *, now: datetime, label_at: datetime | None = None, **overrides):
    """Stores an order through the ingest service and returns (order id, its legs by sequence)."""
    from sqlalchemy import select

    from app.shipments import service
    from app.shipments.models import Leg, Shipment
    from app.shipments.schemas import OrderCreate

    payload = order_payload(**overrides)
    if label_at is not None:
        for shipment in payload["shipments"]:
            shipment["label_created_at"] = label_at.isoformat()
    outcome = await service.ingest_order(
        session,
        order_in=OrderCreate.model_validate(payload),
        context=service.IngestContext(actor="tests", now=now, reuse_window=timedelta(days=90)),
    )
    legs = (
        await session.execute(
            select(Leg)
            .join(Shipment, Shipment.id == Leg.shipment_id)
            .where(Shipment.order_id == outcome.order_id)
            .order_by(Leg.shipment_id, Leg.sequence)
        )
    ).scalars()
    return outcome.order_id, list(legs)


def make_event(
    leg,
    *,
    status: str,
    at: datetime,
    code: str = "X",
    description: str = "scan",
):
    from app.tracking.models import LegEvent

    return LegEvent(
        leg_id=leg.id,
        status=status,
        carrier_code=code,
        description=description,
        location_city="Memphis",
        location_state="TN",
        occurred_at=at,
        utc_offset_minutes=-360,
        dedupe_key=f"{leg.id}-{code}-{at.isoformat()}",
    )


OPENED_AT = datetime(2026, 12, 17, 14, 30, tzinfo=UTC)


def alert_payload(**overrides: Any) -> dict[str, Any]:
    """An ops notification payload as the alert service writes it into the outbox."""
    payload: dict[str, Any] = {
        "alert_id": 42,
        "event": "opened",
        "rule": "never_inducted",
        "severity": "critical",
        "title": "Label announced 30 h ago, UPS has no scan",
        "explanation": "The label was created on Dec 16 at 08:00 but UPS reports no scan since.",
        "recommended_action": "Ask the warehouse whether the parcel left; re-ship if it did not.",
        "order_number": "ORD-000123",
        "carrier": "ups",
        "carrier_name": "UPS",
        "tracking_number": "1Z999AA10123456784",
        "team": "ops",
        "opened_at": OPENED_AT.isoformat(),
        "url": "http://console.example.test/console/alerts/42",
    }
    payload.update(overrides)
    return payload


def make_alert(**overrides: Any) -> Alert:
    """An unsaved open alert about a leg of its own."""
    fields: dict[str, Any] = {
        "rule": "never_inducted",
        "severity": "critical",
        "status": "open",
        "subject_key": f"leg:{next(_serials)}",
        "carrier": "ups",
        "tracking_number": ups_number(),
        "team": "ops",
        "explanation": alert_payload()["explanation"],
        "recommended_action": alert_payload()["recommended_action"],
        "opened_at": OPENED_AT,
        "last_seen_at": OPENED_AT,
        "updated_at": OPENED_AT,
    }
    fields.update(overrides)
    return Alert(**fields)


async def save_alert(session: Any, alert: Alert) -> Alert:
    """Adds a made alert and works it in a work item, as opening does (not committed)."""
    session.add(alert)
    await session.flush()
    await items.attach(session, [items.Finding.of(alert)], now=alert.opened_at)
    return alert


def make_notification(alert: Alert, **overrides: Any) -> AlertNotification:
    """An unsaved pending webhook notification about a saved `alert`, due at OPENED_AT."""
    channel = overrides.get("channel", "webhook")
    destination = overrides.get("destination", "webhook:0000000000000000")
    fields: dict[str, Any] = {
        "alert_id": alert.id,
        "event": "opened",
        "channel": channel,
        "destination": destination,
        "idempotency_key": f"firstscan-alert-{alert.id}-opened-{channel}-{next(_serials)}",
        "payload": alert_payload(alert_id=alert.id, tracking_number=alert.tracking_number),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": OPENED_AT,
        "created_at": OPENED_AT,
    }
    fields.update(overrides)
    return AlertNotification(**fields)


async def create_handoff_story(session, *, now: datetime, order_number: str = "FS-2001"):
    """The seed story, stored: a FedEx leg handed to USPS, USPS never scanned, a handoff_gap
    alert open on the USPS leg. Returns (order id, first leg, last-mile leg, alert); committed."""
    first, second = fedex_number(), usps_number()
    order_id, (fedex_leg, usps_leg) = await create_order(
        session,
        now=now,
        label_at=now - timedelta(days=6),
        order_number=order_number,
        customer_email="jamie.rivera@example.com",
        customer_postal_code="97211",
        shipments=[
            shipment_payload(
                tracking_number=first,
                carrier="fedex",
                service="ground_economy",
                last_mile={"carrier": "usps", "tracking_number": second},
            )
        ],
    )
    fedex_leg.status, usps_leg.status = "handed_off", "label_created"
    session.add_all(
        [
            make_event(fedex_leg, status="accepted", at=now - timedelta(days=5), code="PU"),
            make_event(fedex_leg, status="handed_off", at=now - timedelta(days=4), code="HO"),
            make_event(usps_leg, status="label_created", at=now - timedelta(days=4), code="GX"),
        ]
    )
    alert = make_alert(
        rule="handoff_gap",
        subject_key=f"leg:{usps_leg.id}",
        leg_id=usps_leg.id,
        order_id=order_id,
        carrier="usps",
        tracking_number=usps_leg.tracking_number,
        explanation="FedEx handed the parcel to USPS 4 days ago; USPS has never scanned it.",
        recommended_action="Open a trace with USPS; reship if it is not found today.",
        opened_at=now - timedelta(days=1),
        last_seen_at=now,
        updated_at=now,
        evidence={},
        auto_resolved=False,
    )
    await save_alert(session, alert)
    await session.commit()
    return order_id, fedex_leg, usps_leg, alert
