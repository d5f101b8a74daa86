"""Stored orders, legs and events turned into the plain facts the rules read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Protocol

from app.reconciliation.facts import EventFacts, LegFacts, OrderFacts
from app.shipments.models import Leg, Order
from app.tracking.cadence import CadenceTable, max_poll_age
from carriers.types import TrackingStatus


def _status(value: str | None) -> TrackingStatus | None:
    if value is None:
        return None
    try:
        return TrackingStatus(value)
    except ValueError:
        return TrackingStatus.UNKNOWN


class StoredEvent(Protocol):
    """What the rules read of a stored scan: a LegEvent, or a row of the same columns."""

    id: int
    leg_id: int
    status: str
    occurred_at: datetime
    utc_offset_minutes: int
    carrier_code: str
    description: str
    location_city: str | None
    location_state: str | None
    location_country: str | None


def build_event_facts(event: StoredEvent) -> EventFacts:
    location = ", ".join(
        p for p in (event.location_city, event.location_state, event.location_country) if p
    )
    return EventFacts(
        status=_status(event.status) or TrackingStatus.UNKNOWN,
        # In the scan's own zone, as the carrier recorded it (scan_moment shows it so).
        occurred_at=event.occurred_at.astimezone(
            timezone(timedelta(minutes=event.utc_offset_minutes))
        ),
        carrier_code=event.carrier_code,
        description=event.description,
        location=location or None,
    )


def build_order_facts(
    order: Order, events_by_leg: Mapping[int, Sequence[StoredEvent]], cadence: CadenceTable
) -> OrderFacts:
    """`order` must have its shipments and legs loaded; events may be in any order."""
    legs: list[Leg] = [leg for s in order.shipments for leg in s.legs]
    next_leg = {leg.handoff_from_leg_id: leg.id for leg in legs if leg.handoff_from_leg_id}
    by_id = {leg.id: leg for leg in legs}
    handed_off_at = {
        leg.id: by_id[leg.handoff_from_leg_id].handed_off_at
        for leg in legs
        if leg.handoff_from_leg_id in by_id
    }
    facts = []
    for leg in sorted(legs, key=lambda leg: (leg.shipment_id, leg.sequence)):
        status = _status(leg.status)
        events = sorted(events_by_leg.get(leg.id, ()), key=lambda e: (e.occurred_at, e.id))
        facts.append(
            LegFacts(
                leg_id=leg.id,
                carrier=leg.carrier,
                service=leg.service,
                tracking_number=leg.tracking_number,
                sequence=leg.sequence,
                label_created_at=leg.label_created_at,
                events=tuple(build_event_facts(e) for e in events),
                current_status=status,
                tracking_started_at=leg.tracking_started_at,
                last_successful_poll_at=leg.last_successful_poll_at,
                max_poll_age=max_poll_age(status, cadence),
                handoff_to_leg_id=next_leg.get(leg.id),
                handed_off_at=handed_off_at.get(leg.id),
            )
        )
    return OrderFacts(
        order_number=order.order_number,
        claimed_status=order.claimed_status,
        promised_delivery_on=order.promised_delivery_on,
        legs=tuple(facts),
    )
