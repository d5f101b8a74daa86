"""USPS Tracking API v3 answers turned into TrackingSnapshots. Pure: no I/O, no clock.

Event codes are USPS's (Publication 199, Appendix G-4 "USPS Domestic Tracking Scan Events",
referenced by the v3 OpenAPI `eventCode` field). Statuses come from the code, never from the
free-text `eventType`: "Picked Up by Shipping Partner, USPS Awaiting Item" reads like progress
but USPS itself does not have the parcel yet.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from carriers.answers import decode_answer, invalid_answer
from carriers.local_time import LocalTimeResolver, offset_between, parse_utc_offset
from carriers.types import Location, TrackingEvent, TrackingSnapshot, TrackingStatus

logger = logging.getLogger("carriers.usps")

CARRIER = "usps"
S = TrackingStatus

# USPS event code -> (our status, USPS's own wording). Codes whose meaning we could not confirm
# (PA passive acceptance, 17 picked up by agent, 19 eVS arrival) are left out on purpose: they
# come out as UNKNOWN and are logged, rather than guessed.
STATUS_CODES: Mapping[str, tuple[TrackingStatus, str]] = {
    "GX": (S.LABEL_CREATED, "Shipping Label Created, USPS Awaiting Item"),
    "MA": (S.LABEL_CREATED, "Pre-Shipment Info Sent to USPS, USPS Awaiting Item"),
    # A SCAN form (PS 5630) was scanned, not the parcel: one left off the pile keeps this forever.
    "TM": (S.LABEL_CREATED, "Shipment Received, Package Acceptance Pending"),
    # A consolidator (shipping partner) has the parcel; USPS does not have it yet.
    "80": (S.LABEL_CREATED, "Picked Up by Shipping Partner, USPS Awaiting Item"),
    "81": (S.LABEL_CREATED, "Arrived Shipping Partner Facility, USPS Awaiting Item"),
    "82": (S.LABEL_CREATED, "Departed Shipping Partner Facility, USPS Awaiting Item"),
    "03": (S.ACCEPTED, "USPS in possession of item"),
    "OA": (S.ACCEPTED, "Accepted at USPS Origin Facility"),
    "43": (S.ACCEPTED, "Picked Up"),
    "10": (S.IN_TRANSIT, "Arrived at USPS Regional Origin Facility"),
    "A1": (S.IN_TRANSIT, "Arrived at USPS Regional Facility"),
    "T1": (S.IN_TRANSIT, "Departed USPS Regional Facility"),
    "TL": (S.IN_TRANSIT, "In Transit to Next Facility"),
    "EF": (S.IN_TRANSIT, "Departed Sort Facility"),
    "SF": (S.IN_TRANSIT, "Departed Post Office"),
    "PC": (S.IN_TRANSIT, "Sorting Complete"),
    "07": (S.IN_TRANSIT, "Arrived at Post Office"),
    "06": (S.IN_TRANSIT, "Forwarded"),
    "41": (S.IN_TRANSIT, "Received at Opening Unit"),
    "42": (S.HANDED_OFF, "USPS Handoff to Shipping Partner"),
    "OF": (S.OUT_FOR_DELIVERY, "Out for Delivery"),
    "14": (S.AVAILABLE_FOR_PICKUP, "Arrival at Pickup Point"),
    "16": (S.AVAILABLE_FOR_PICKUP, "Available for Pickup"),
    "02": (S.DELIVERY_ATTEMPTED, "Notice Left"),
    "30": (S.DELIVERY_ATTEMPTED, "No Access to Delivery Location"),
    "51": (S.DELIVERY_ATTEMPTED, "Business Closed"),
    "52": (S.DELIVERY_ATTEMPTED, "Notice Left"),
    "53": (S.DELIVERY_ATTEMPTED, "Receptacle Blocked"),
    "54": (S.DELIVERY_ATTEMPTED, "Receptacle Full / Item Oversized"),
    "55": (S.DELIVERY_ATTEMPTED, "No Secure Location Available"),
    "56": (S.DELIVERY_ATTEMPTED, "No Authorized Recipient Available"),
    "01": (S.DELIVERED, "Delivered"),
    "04": (S.EXCEPTION, "Refused"),
    "05": (S.EXCEPTION, "Undeliverable as Addressed"),
    "08": (S.EXCEPTION, "Missent"),
    "11": (S.EXCEPTION, "Dead Letter"),
    "15": (S.EXCEPTION, "Mis-shipped"),
    "71": (S.EXCEPTION, "Rescheduled to Next Delivery Day"),
    "DX": (S.EXCEPTION, "Delivery Status Not Updated"),
    "09": (S.RETURNED_TO_SENDER, "Return to Sender"),
    "21": (S.RETURNED_TO_SENDER, "No Such Number"),
    "22": (S.RETURNED_TO_SENDER, "Insufficient Address"),
    "23": (S.RETURNED_TO_SENDER, "Moved, Left No Address"),
    "24": (S.RETURNED_TO_SENDER, "Forward Expired"),
    "25": (S.RETURNED_TO_SENDER, "Addressee Unknown"),
    "26": (S.RETURNED_TO_SENDER, "Vacant"),
    "27": (S.RETURNED_TO_SENDER, "Unclaimed"),
    "28": (S.RETURNED_TO_SENDER, "Deceased"),
    "29": (S.RETURNED_TO_SENDER, "Return to Sender - Other"),
    "31": (S.RETURNED_TO_SENDER, "Not Picked Up"),
    "44": (S.RETURNED_TO_SENDER, "Customer Recall"),
}

# Used only when an answer has no events at all; statusCategory can be empty or absent.
STATUS_CATEGORIES: Mapping[str, TrackingStatus] = {
    "pre-shipment": S.LABEL_CREATED,
    "accepted": S.ACCEPTED,
    "in transit": S.IN_TRANSIT,
    "out for delivery": S.OUT_FOR_DELIVERY,
    "available for pickup": S.AVAILABLE_FOR_PICKUP,
    "delivery attempt": S.DELIVERY_ATTEMPTED,
    "delivered": S.DELIVERED,
    "alert": S.EXCEPTION,
}

_MISSING_CODE = "missing"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Event(_Model):
    event_type: str | None = Field(None, alias="eventType")
    event_timestamp: str | None = Field(None, alias="eventTimestamp")
    gmt_timestamp: str | None = Field(None, alias="GMTTimestamp")
    gmt_offset: str | None = Field(None, alias="GMTOffset")
    event_city: str | None = Field(None, alias="eventCity")
    event_state: str | None = Field(None, alias="eventState")
    event_zip: str | None = Field(None, alias="eventZIP")
    event_country: str | None = Field(None, alias="eventCountry")
    event_code: str | None = Field(None, alias="eventCode")


class _Details(_Model):
    tracking_number: str = Field(alias="trackingNumber", min_length=1)
    mail_class: str | None = Field(None, alias="mailClass")
    status_category: str | None = Field(None, alias="statusCategory")
    expected_delivery: str | None = Field(None, alias="expectedDeliveryTimeStamp")
    tracking_events: list[_Event] = Field(default_factory=list, alias="trackingEvents")

    @field_validator("tracking_events", mode="before")
    @classmethod
    def _null_is_empty(cls, value: object) -> object:
        return [] if value is None else value


class _ErrorDetail(_Model):
    code: str | None = None
    title: str | None = None
    detail: str | None = None


class _Error(_Model):
    code: str | None = None
    message: str | None = None
    errors: list[_ErrorDetail] = Field(default_factory=list)


class _ErrorMessage(_Model):
    error: _Error


def parse_error_message(body: str | bytes) -> str | None:
    """Returns USPS's own error text from an ErrorMessage body; None if the body is not one."""
    try:
        error = _ErrorMessage.model_validate_json(body).error
    except ValidationError:
        return None
    parts = [error.message or ""]
    parts += [f"{e.code or ''} {e.detail or e.title or ''}".strip() for e in error.errors]
    text = "; ".join(p for p in parts if p)
    return text or (f"USPS error {error.code}" if error.code else None)


def _wall_time(text: str | None) -> datetime | None:
    """Reads a USPS local time. Assumption: `eventTimestamp` and `expectedDeliveryTimeStamp` are
    the wall clock at the scan or delivery place even when suffixed "Z" (USPS's README example
    shows "07:31:00Z" for a 7:31 am Richmond, VA acceptance), so any suffix is dropped."""
    if not text:
        return None
    return datetime.fromisoformat(text.strip()).replace(tzinfo=None)


def _gmt_time(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.strip())
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _event_offset(event: _Event) -> timedelta | None:
    """Returns the event's UTC offset: GMTOffset if given, else implied by GMTTimestamp."""
    offset = parse_utc_offset(event.gmt_offset)
    local, gmt = _wall_time(event.event_timestamp), _gmt_time(event.gmt_timestamp)
    if offset is None and local is not None and gmt is not None:
        offset = offset_between(local, gmt.replace(tzinfo=None))
    return offset


def _stated_time(event: _Event) -> datetime | None:
    """Returns the event's local time with its offset, when the event states or implies one."""
    offset, local = _event_offset(event), _wall_time(event.event_timestamp)
    return local.replace(tzinfo=timezone(offset)) if local and offset is not None else None


def _occurred_at(event: _Event, resolver: LocalTimeResolver) -> datetime:
    local, gmt = _wall_time(event.event_timestamp), _gmt_time(event.gmt_timestamp)
    offset = _event_offset(event)
    if offset is None and not resolver.stated:
        # Nothing in the answer gives an offset: GMT time if any, else the wall time read as UTC.
        logger.warning("usps: event without any UTC offset; reading its time as UTC")
    wall = local or (gmt.replace(tzinfo=None) if gmt else None)
    if wall is None:
        raise ValueError("event has neither eventTimestamp nor GMTTimestamp")
    zone = timezone(offset) if offset is not None else resolver.zone_near(wall)
    return local.replace(tzinfo=zone) if local else wall.replace(tzinfo=UTC).astimezone(zone)


def _location(event: _Event) -> Location | None:
    parts = (event.event_city, event.event_state, event.event_zip, event.event_country)
    if not any(p and p.strip() for p in parts):
        return None
    return Location(*(p.strip() if p and p.strip() else None for p in parts))


def _status_of(event: _Event) -> tuple[TrackingStatus, str]:
    code = (event.event_code or "").strip().upper()
    status, wording = STATUS_CODES.get(code, (S.UNKNOWN, ""))
    return status, (event.event_type or "").strip() or wording or f"USPS event {code}"


def _clean_service(mail_class: str | None) -> str | None:
    # mailClass comes with HTML markup, e.g. "Priority Mail<SUP>&reg;</SUP>".
    if not mail_class:
        return None
    return html.unescape(re.sub(r"<[^>]+>", "", mail_class)).strip() or None


def _events(details: _Details) -> list[TrackingEvent]:
    raw = details.tracking_events
    resolver = LocalTimeResolver(t for t in map(_stated_time, raw) if t is not None)
    events = []
    for event in raw:
        status, description = _status_of(event)
        occurred_at = _occurred_at(event, resolver)
        events.append(
            TrackingEvent(
                status, occurred_at, event.event_code or "", description, _location(event)
            )
        )
    # USPS lists newest first; sort by instant, keeping USPS's order for equal times.
    events.reverse()
    return sorted(events, key=lambda e: e.occurred_at)


def _unknown_codes(details: _Details) -> tuple[str, ...]:
    unknown: list[str] = []
    for event in details.tracking_events:
        code = (event.event_code or "").strip().upper() or _MISSING_CODE
        if code not in STATUS_CODES and code not in unknown:
            unknown.append(code)
            logger.warning("usps: unknown event code %r (%s)", code, event.event_type)
    return tuple(unknown)


def _estimated_delivery(details: _Details) -> datetime | None:
    """Reads expectedDeliveryTimeStamp, which can come without an offset: a wall time at the
    destination, so it takes the newest event's offset (the one nearest the destination)."""
    text = details.expected_delivery
    if not text:
        return None
    stated = datetime.fromisoformat(text.strip())
    if stated.utcoffset():  # an explicit non-zero offset is believed; "Z" is not (see _wall_time)
        return stated
    offsets = [_event_offset(e) for e in details.tracking_events]
    offset = next((o for o in offsets if o is not None), timedelta(0))
    return stated.replace(tzinfo=timezone(offset))


def _status_without_events(details: _Details) -> TrackingStatus:
    category = (details.status_category or "").strip().lower()
    return STATUS_CATEGORIES.get(category, S.UNKNOWN)


def parse_tracking(body: str | bytes, *, tracking_number: str) -> TrackingSnapshot:
    """Returns what USPS says about one number, events oldest first.

    Raises CarrierResponseInvalid when the body is not a USPS tracking answer (not JSON, cut
    off, or missing `trackingNumber`). The snapshot's status is the newest event's; an unknown
    code gives UNKNOWN and is listed in `unknown_codes`, never guessed.
    """
    details = decode_answer(_Details, body, carrier=CARRIER, what="tracking answer")
    try:
        events = _events(details)
        estimated_delivery_at = _estimated_delivery(details)
    except ValueError as exc:
        message = f"not a USPS tracking answer: unreadable time ({exc})"
        raise invalid_answer(message, body, carrier=CARRIER) from exc
    status = events[-1].status if events else _status_without_events(details)
    return TrackingSnapshot(
        carrier=CARRIER,
        tracking_number=tracking_number,
        status=status,
        events=tuple(events),
        service=_clean_service(details.mail_class),
        estimated_delivery_at=estimated_delivery_at,
        unknown_codes=_unknown_codes(details),
    )
