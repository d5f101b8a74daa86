"""Reading an order's status for its customer: by number and postal code, or by signed link.

The status is read through the order file's read path (app.orderfile.rows), as plain rows: the
customer's page is public and refreshed while people wait."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.calendar import BusinessCalendar
from app.orderfile.rows import ALR, EVT, LEG, ORD, SHP, OrderFile, OrderFileReader, Row
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
from carriers.numbers import normalize_tracking_number
from carriers.registry import carrier_name

DEFAULT_CALENDAR = BusinessCalendar()


async def find_status(
    reader: OrderFileReader,
    *,
    order_number: str,
    postal_code: str,
    now: datetime,
    calendar: BusinessCalendar = DEFAULT_CALENDAR,
) -> PublicStatus | None:
    """The customer's view, or None when the order does not exist or the postal code is wrong:
    both paths run the same query and the same constant-time comparison, and the order's file
    is read only after the code matched (so a wrong code costs no more than a wrong number)."""
    file = await reader.admitted(
        normalize_tracking_number(order_number),
        lambda stored: postal_code_matches(stored, postal_code),
    )
    return build_status(file, now=now, calendar=calendar) if file else None


async def find_status_by_order_number(
    session: AsyncSession,
    reader: OrderFileReader,
    *,
    order_number: str,
    now: datetime,
    calendar: BusinessCalendar = DEFAULT_CALENDAR,
) -> PublicStatus | None:
    """The customer's view for a signed link (already verified)."""
    order = await shipments_repository.find_order_by_number(session, order_number)
    if order is None:
        return None
    return await read_status(reader, order_id=order.id, now=now, calendar=calendar)


async def read_status(
    reader: OrderFileReader, *, order_id: int, now: datetime, calendar: BusinessCalendar
) -> PublicStatus | None:
    """The customer's view of the order with id `order_id`, None if it is gone."""
    file = await reader.by_id(order_id)
    return build_status(file, now=now, calendar=calendar) if file else None


def build_status(file: OrderFile, *, now: datetime, calendar: BusinessCalendar) -> PublicStatus:
    """Only what the customer should see: state words, expected date, last scan place and day."""
    alerts = [
        AlertView(
            rule=a[ALR["rule"]],
            leg_id=a[ALR["leg_id"]],
            opened_at=a[ALR["opened_at"]],
            story=a[ALR["story"]],
        )
        for a in file.alerts
    ]
    scans = [
        ScanView(
            leg_id=e[EVT["leg_id"]],
            status=e[EVT["status"]],
            occurred_at=e[EVT["occurred_at"]],
            utc_offset_minutes=e[EVT["utc_offset_minutes"]],
            city=e[EVT["location_city"]],
            region=e[EVT["location_state"]],
        )
        for e in file.events
    ]
    legs_by_shipment: dict[int, list[Row]] = {}
    for leg in file.legs:  # by shipment, then sequence
        legs_by_shipment.setdefault(leg[LEG["shipment_id"]], []).append(leg)
    promised_on = file.order[ORD["promised_delivery_on"]]
    shipments = [
        _shipment(
            legs_by_shipment.get(shipment[SHP["id"]], []),
            scans,
            alerts,
            promised_on=promised_on,
            now=now,
            calendar=calendar,
        )
        for shipment in file.shipments
    ]
    headline = most_important_alert(alerts)
    return PublicStatus(
        order_number=file.order[ORD["order_number"]],
        notice=alert_message(headline, now=now, calendar=calendar) if headline else None,
        shipments=shipments,
    )


def _shipment(
    legs: list[Row],
    scans: list[ScanView],
    alerts: list[AlertView],
    *,
    promised_on: date | None,
    now: datetime,
    calendar: BusinessCalendar,
) -> PublicShipment:
    leg_ids = {leg[LEG["id"]] for leg in legs}
    words = describe_shipment(
        [
            LegView(
                leg[LEG["id"]],
                carrier_name(leg[LEG["carrier"]]),
                leg[LEG["status"]],
                leg[LEG["estimated_delivery_at"]],
                label_created_at=leg[LEG["label_created_at"]],
                handed_off_at=leg[LEG["handed_off_at"]],
            )
            for leg in legs
        ],
        [s for s in scans if s.leg_id in leg_ids],
        # An alert about the order as a whole (no leg) concerns every shipment.
        [a for a in alerts if a.leg_id is None or a.leg_id in leg_ids],
        promised_on=promised_on,
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
