from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import ValidationError

from carriers.answers import decode_answer, excerpt, invalid_answer
from carriers.dhl import payloads
from carriers.errors import TrackingNotFound
from carriers.local_time import LocalTimeResolver, parse_timestamp
from carriers.protocol import TrackingResult
from carriers.types import (
    PHYSICAL_STATUSES,
    Handoff,
    Location,
    PartnerNumber,
    TrackingEvent,
    TrackingQuery,
    TrackingSnapshot,
    TrackingStatus,
)

CARRIER = "dhl"
logger = logging.getLogger("carriers.dhl")
S = TrackingStatus

# statusCode of shipments[].status and events[], as DHL's Shipment Tracking - Unified reference
# defines it (developer.dhl.com/api-reference/shipment-tracking, "supermodelIoLogisticsTracking
# ShipmentEvent"). Wording is DHL's.
STATUS_CODES: dict[str, tuple[TrackingStatus, str]] = {
    # Announced electronically, not yet handed to DHL. The peer maps this to in transit, which
    # hides every parcel that never arrives (CARRIER-NOTES).
    "pre-transit": (S.LABEL_CREATED, "pre-transit"),
    "transit": (S.IN_TRANSIT, "transit"),
    "delivered": (S.DELIVERED, "delivered"),
    # Refined to a return when the parcel is delivered back to its origin, see _refine_returns.
    "failure": (S.EXCEPTION, "failure"),
    "unknown": (S.UNKNOWN, "unknown"),  # DHL itself did not classify the event
}

# Finer meaning inside a coarse code, where DHL publishes a fixed short `status` label (DHL
# eCommerce Americas). Matched whole and only together with the code it comes with, never as
# words searched in free text.
STATUS_LABELS: dict[tuple[str, str], tuple[TrackingStatus, str]] = {
    ("unknown", "LABEL CREATED"): (S.LABEL_CREATED, "LABEL CREATED"),
    ("transit", "PACKAGE RECEIVED AT DHL ECOMMERCE DISTRIBUTION CENTER"): (
        S.ACCEPTED,
        "PACKAGE RECEIVED AT DHL ECOMMERCE DISTRIBUTION CENTER",
    ),
    # The last mile goes to USPS under the local tracking number (see _handoff).
    ("transit", "TENDERED TO DELIVERY SERVICE PROVIDER"): (
        S.HANDED_OFF,
        "TENDERED TO DELIVERY SERVICE PROVIDER",
    ),
    ("transit", "OUT FOR DELIVERY"): (S.OUT_FOR_DELIVERY, "OUT FOR DELIVERY"),
}

# details.references[].type carrying the last-mile carrier's own number.
LOCAL_TRACKING_NUMBER = "local-tracking-number"


def parse_problem(body: str | bytes) -> str:
    """Returns the human-readable reason of a DHL problem body, or a bounded excerpt of it."""
    try:
        problem = payloads.Problem.model_validate_json(body)
    except ValidationError:
        return excerpt(body)[:200]
    return problem.detail or problem.title or excerpt(body)[:200]


def parse_shipments(body: str | bytes, query: TrackingQuery) -> TrackingResult:
    """Returns the snapshot of the shipment asked for; TrackingNotFound when DHL lists none.

    Raises CarrierResponseInvalid when the body is not a DHL tracking answer.
    """
    answer = decode_answer(payloads.TrackingResponse, body, carrier=CARRIER, what="tracking answer")
    shipment = _pick_shipment(answer.shipments, query.service)
    if shipment is None:
        raise TrackingNotFound("DHL answered with no shipment", carrier=CARRIER)
    try:
        return _build_snapshot(query.tracking_number, shipment)
    except ValueError as exc:  # an unreadable time
        message = f"DHL answer has an unreadable time: {exc}"
        raise invalid_answer(message, body, carrier=CARRIER) from exc


def _pick_shipment(
    shipments: Sequence[payloads.Shipment], service: str | None
) -> payloads.Shipment | None:
    # One number can exist in several DHL divisions; the service asked for decides.
    if not shipments:
        return None
    matching = [shipment for shipment in shipments if service and shipment.service == service]
    return matching[0] if matching else shipments[0]


def _build_snapshot(number: str, shipment: payloads.Shipment) -> TrackingSnapshot:
    resolver = LocalTimeResolver(_stated_times(shipment))
    unknown: list[str] = []
    events = _parse_events(number, shipment.events or [], resolver, unknown)
    events = _refine_returns(events, shipment)
    if events:
        status = _current_status(events)
    elif shipment.status is not None:
        # No events yet (the peer crashes here): DHL's own current status is all there is.
        status = _event_status(number, shipment.status, unknown)
    else:
        status = S.LABEL_CREATED  # DHL knows the number and reports nothing physical
    handoff = _handoff(shipment)
    return TrackingSnapshot(
        carrier=CARRIER,
        tracking_number=number,
        status=status,
        events=tuple(events),
        service=shipment.service,
        estimated_delivery_at=_estimated_delivery(shipment, resolver),
        handoff=handoff,
        unknown_codes=tuple(dict.fromkeys(unknown)),
        partner_numbers=_partner_numbers(shipment, number, handoff),
    )


def _stated_times(shipment: payloads.Shipment) -> list[datetime]:
    # Only scan times lend their offset to a scan written without one. The delivery estimate is
    # left out on purpose: DHL drops it once the parcel is delivered, and a scan whose offset
    # came from it would move by hours between polls and be stored twice under a new dedupe_key.
    values = [event.timestamp for event in shipment.events or []]
    if shipment.status is not None:
        values.append(shipment.status.timestamp)
    moments: list[datetime] = []
    for value in values:
        try:
            moments.append(parse_timestamp(value))
        except ValueError:
            continue
    return moments


def _parse_events(
    number: str,
    raw_events: Sequence[payloads.Event],
    resolver: LocalTimeResolver,
    unknown: list[str],
) -> list[TrackingEvent]:
    events: list[TrackingEvent] = []
    for raw in reversed(raw_events):  # DHL lists newest first
        events.append(
            TrackingEvent(
                status=_event_status(number, raw, unknown),
                occurred_at=resolver.resolve(parse_timestamp(raw.timestamp)),
                carrier_code=(raw.status_code or "").strip().lower(),
                description=(raw.description or raw.status or raw.status_code or "").strip(),
                location=_location(raw.location),
            )
        )
    events.sort(key=lambda event: event.occurred_at)  # stable: equal times keep DHL's order
    return events


def _event_status(number: str, event: payloads.Event, unknown: list[str]) -> TrackingStatus:
    code = (event.status_code or "").strip().lower()
    label = " ".join((event.status or "").split()).upper()
    if (code, label) in STATUS_LABELS:
        return STATUS_LABELS[(code, label)][0]
    if code in STATUS_CODES and code != "unknown":
        return STATUS_CODES[code][0]
    # DHL's own "unknown" keeps its label so the label can join STATUS_LABELS once understood.
    recorded = f"unknown:{label}" if code == "unknown" else code or "(missing)"
    unknown.append(recorded)
    logger.warning("DHL status %r (number %s) is not in the status tables", recorded, number)
    return S.UNKNOWN


def _refine_returns(
    events: list[TrackingEvent], shipment: payloads.Shipment
) -> list[TrackingEvent]:
    # DHL has no "returned" code: after a failure the parcel travels back and DHL reports
    # "delivered" when the sender gets it. Delivered at the origin postal code after a failure
    # (origin and destination differ) is a return, not a delivery to the recipient.
    origin = _postal_code(shipment.origin)
    if origin is None or origin == _postal_code(shipment.destination):
        return events
    refined: list[TrackingEvent] = []
    failed = False
    for event in events:
        failed = failed or event.carrier_code == "failure"
        at_origin = event.location is not None and _normal(event.location.postal_code) == origin
        if failed and event.status is S.DELIVERED and at_origin:
            event = dataclasses.replace(event, status=S.RETURNED_TO_SENDER)
        refined.append(event)
    return refined


def _current_status(events: Sequence[TrackingEvent]) -> TrackingStatus:
    # DHL's status object repeats the newest event. A pre-transit event DHL eCommerce stamps
    # after the parcel was received ("awaiting shipment") never undoes a physical scan.
    physical = any(event.status in PHYSICAL_STATUSES for event in events)
    for event in reversed(events):
        if not (physical and event.status is S.LABEL_CREATED):
            return event.status
    return events[-1].status


def _estimated_delivery(
    shipment: payloads.Shipment, resolver: LocalTimeResolver
) -> datetime | None:
    frame = shipment.estimated_delivery_time_frame
    through = frame.estimated_through if frame is not None else None
    for value in (shipment.estimated_time_of_delivery, through):
        if value:
            return resolver.resolve(parse_timestamp(value)).astimezone(UTC)
    return None


def _handoff(shipment: payloads.Shipment) -> Handoff | None:
    # DHL eCommerce Americas hands US parcels to USPS for the last mile and lists the USPS
    # number as the "local-tracking-number" reference. Elsewhere that reference belongs to
    # another postal partner (Royal Mail, Canada Post...) that firstscan does not track: it
    # becomes a partner number (_partner_numbers), searchable but never polled.
    destination = shipment.destination.address if shipment.destination else None
    if shipment.service != "ecommerce" or destination is None:
        return None
    if (destination.country_code or "").upper() != "US":
        return None
    local = _local_numbers(shipment)
    return Handoff(carrier="usps", tracking_number=local[0]) if local else None


def _partner_numbers(
    shipment: payloads.Shipment, number: str, handoff: Handoff | None
) -> tuple[PartnerNumber, ...]:
    # The reference itself carries only a number and a type. The one place the Unified API
    # names another company is details.carrier (an Organization); where it names someone other
    # than DHL, that is the partner. Unnamed otherwise: the country alone does not say who.
    taken = {number.upper()} | ({handoff.tracking_number.upper()} if handoff else set())
    carrier = shipment.details.carrier if shipment.details else None
    name = " ".join((carrier.organization_name or "").split()) if carrier else ""
    partner = name if name and not name.upper().startswith("DHL") else None
    return tuple(
        PartnerNumber(number=local, partner_name=partner)
        for local in _local_numbers(shipment)
        if local.upper() not in taken
    )


def _local_numbers(shipment: payloads.Shipment) -> list[str]:
    """The "local-tracking-number" references, as DHL wrote them, each once, in DHL's order."""
    references = shipment.details.references if shipment.details else None
    listed = references if isinstance(references, list) else [references] if references else []
    numbers = (
        (reference.number or "").strip()
        for reference in listed
        if reference.type == LOCAL_TRACKING_NUMBER
    )
    return list(dict.fromkeys(local for local in numbers if local))


def _location(place: payloads.Place | None) -> Location | None:
    if place is None or place.address is None:
        return None
    address = place.address
    location = Location(
        city=address.address_locality or None,
        postal_code=address.postal_code or None,
        country=address.country_code or None,
    )
    return None if location == Location() else location


def _postal_code(place: payloads.Place | None) -> str | None:
    return _normal(place.address.postal_code) if place and place.address else None


def _normal(postal_code: str | None) -> str | None:
    normal = (postal_code or "").replace(" ", "").upper()
    return normal or None
