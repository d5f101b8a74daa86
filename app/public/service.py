"""Reading an order's status for its customer: by number and postal code, or by signed link."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import repository as alerts_repository
from app.kernel.calendar import BusinessCalendar
from app.public import repository
from app.public.access import postal_code_matches
from app.public.schemas import PublicLeg, PublicShipment, PublicStatus
from app.public.wording import (
    AlertView,
    LegView,
    ScanView,
    alert_message,
    describe_shipment,
    most_important_alert,
)
from app.shipments import repository as shipments_repository
from app.shipments.models import Order
from app.tracking import repository as tracking_repository
from carriers.numbers import normalize_tracking_number
from carriers.registry import carrier_name

DEFAULT_CALENDAR = BusinessCalendar()


async def find_status(
    session: AsyncSession,
    *,
    order_number: str,
    postal_code: str,
    now: datetime,
    calendar: BusinessCalendar = DEFAULT_CALENDAR,
) -> PublicStatus | None:
    """The customer's view, or None when the order does not exist or the postal code is wrong:
    both paths run the same query and the same constant-time comparison."""
    order = await repository.find_order_by_key(session, normalize_tracking_number(order_number))
    allowed = postal_code_matches(order.customer_postal_code if order else None, postal_code)
    if order is None or not allowed:
        return None
    return await build_status(session, order_id=order.id, now=now, calendar=calendar)


async def find_status_by_order_number(
    session: AsyncSession,
    *,
    order_number: str,
    now: datetime,
    calendar: BusinessCalendar = DEFAULT_CALENDAR,
) -> PublicStatus | None:
    """The customer's view for a signed link (already verified) or for the agent console."""
    order = await shipments_repository.find_order_by_number(session, order_number)
    if order is None:
        return None
    return await build_status(session, order_id=order.id, now=now, calendar=calendar)


async def build_status(
    session: AsyncSession, *, order_id: int, now: datetime, calendar: BusinessCalendar
) -> PublicStatus:
    """Only what the customer should see: state words, expected date, last scan place and day."""
    order = await shipments_repository.get_order_with_legs(session, order_id)
    legs = [leg for shipment in order.shipments for leg in shipment.legs]
    events = await tracking_repository.list_events_for_legs(session, [leg.id for leg in legs])
    alerts = [
        AlertView(
            rule=a.rule, leg_id=a.leg_id, opened_at=a.opened_at, story=a.evidence.get("story")
        )
        for a in await alerts_repository.list_unresolved_alerts_for_orders(session, [order.id])
    ]
    scans = [
        ScanView(
            leg_id=e.leg_id,
            status=e.status,
            occurred_at=e.occurred_at,
            utc_offset_minutes=e.utc_offset_minutes,
            city=e.location_city,
            region=e.location_state,
        )
        for e in events
    ]
    shipments = [
        _shipment(order, index, scans, alerts, now=now, calendar=calendar)
        for index in range(len(order.shipments))
    ]
    headline = most_important_alert(alerts)
    return PublicStatus(
        order_number=order.order_number,
        notice=alert_message(headline, now=now, calendar=calendar) if headline else None,
        shipments=shipments,
    )


def _shipment(
    order: Order,
    index: int,
    scans: list[ScanView],
    alerts: list[AlertView],
    *,
    now: datetime,
    calendar: BusinessCalendar,
) -> PublicShipment:
    shipment = order.shipments[index]
    leg_ids = {leg.id for leg in shipment.legs}
    words = describe_shipment(
        [
            LegView(
                leg.id,
                carrier_name(leg.carrier),
                leg.status,
                leg.estimated_delivery_at,
                label_created_at=leg.label_created_at,
                handed_off_at=leg.handed_off_at,
            )
            for leg in sorted(shipment.legs, key=lambda leg: leg.sequence)
        ],
        [s for s in scans if s.leg_id in leg_ids],
        # An alert about the order as a whole (no leg) concerns every shipment.
        [a for a in alerts if a.leg_id is None or a.leg_id in leg_ids],
        promised_on=order.promised_delivery_on,
        now=now,
        calendar=calendar,
    )
    return PublicShipment(
        state=words.state,
        headline=words.headline,
        carrier_name=words.carrier_name,
        expected_delivery_on=words.expected_delivery_on,
        last_scan_place=words.last_scan_place,
        last_scan_on=words.last_scan_on,
        last_scan_carrier=words.last_scan_carrier,
        journey=[
            PublicLeg(
                carrier_name=part.carrier_name,
                words=part.words,
                last_scan_place=part.last_scan_place,
                last_scan_on=part.last_scan_on,
            )
            for part in words.journey
        ],
    )
