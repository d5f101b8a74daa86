"""Reading an order's whole file: what we expect, what carriers scanned, what is open."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta, timezone

from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts import repository as alerts_repository
from app.alerts.models import Alert, PlannedAlert
from app.errors import NotFound
from app.orderfile import answer
from app.orderfile.rows import OrderFileReader
from app.orderfile.schemas import (
    OpenAlertRead,
    OrderDetailRead,
    TimelineEventRead,
    UpcomingAlertRead,
)
from app.shipments import repository
from app.shipments.models import Leg, Order
from app.shipments.schemas import LegRead, OrderRead, PartnerNumberRead, ShipmentRead
from app.tracking import repository as tracking_repository
from app.tracking.explain import describe_status
from app.tracking.models import LegEvent
from carriers.numbers import normalize_tracking_number
from carriers.registry import carrier_name


async def read_order(session: AsyncSession, *, order_id: int) -> OrderRead:
    order = await repository.get_order_with_legs(session, order_id)
    return build_order_read(order, await _partner_numbers_of(session, [order]))


async def read_order_by_number(session: AsyncSession, *, order_number: str) -> OrderRead:
    order = await repository.get_order_by_number(session, order_number)
    return await read_order(session, order_id=order.id)


async def lookup_number(reader: OrderFileReader, *, number: str) -> bytes:
    """Finds orders by order number, any leg's tracking number or a partner number a carrier
    named for a leg, newest first: the LookupRead answer as JSON."""
    key = normalize_tracking_number(number)
    files = await reader.by_key(key) if key else []
    if not files:
        raise NotFound(f"No order or tracking number matches '{number}' (searched as '{key}').")
    return answer.encode(answer.build_lookup(number, key, files))


async def _partner_numbers_of(
    session: AsyncSession, orders: Sequence[Order]
) -> dict[int, list[PartnerNumberRead]]:
    leg_ids = [leg.id for order in orders for shipment in order.shipments for leg in shipment.legs]
    by_leg: dict[int, list[PartnerNumberRead]] = {}
    for row in await tracking_repository.list_partner_numbers_for_legs(session, leg_ids):
        by_leg.setdefault(row.leg_id, []).append(
            PartnerNumberRead(
                number=row.number, partner_name=row.partner_name, first_seen_at=row.first_seen_at
            )
        )
    return by_leg


async def build_order_details(
    session: AsyncSession, orders: Sequence[Order], matched_by: dict[int, set[str]]
) -> list[OrderDetailRead]:
    legs = [leg for order in orders for shipment in order.shipments for leg in shipment.legs]
    events = await tracking_repository.list_events_for_legs(session, [leg.id for leg in legs])
    order_ids = [order.id for order in orders]
    alerts = await alerts_repository.list_unresolved_alerts_for_orders(session, order_ids)
    plans = await alerts_repository.list_current_plans_for_orders(session, order_ids)
    already_open = {(a.subject_key, a.rule) for a in alerts}
    legs_by_id = {leg.id: leg for leg in legs}
    partners = await _partner_numbers_of(session, orders)
    details = []
    for order in orders:
        order_leg_ids = {leg.id for s in order.shipments for leg in s.legs}
        details.append(
            OrderDetailRead(
                **build_order_read(order, partners).model_dump(),
                matched_by=sorted(matched_by.get(order.id, set())),
                timeline=[
                    _timeline_event(e, legs_by_id[e.leg_id])
                    for e in events
                    if e.leg_id in order_leg_ids
                ],
                open_alerts=[_alert_read(a) for a in alerts if a.order_id == order.id],
                upcoming_alerts=[
                    _upcoming_read(p)
                    for p in plans
                    if p.order_id == order.id and (p.subject_key, p.rule) not in already_open
                ],
            )
        )
    return details


def build_order_read(
    order: Order, partner_numbers: Mapping[int, list[PartnerNumberRead]] | None = None
) -> OrderRead:
    """The order as the API shows it; `partner_numbers` by leg id, none when not given."""
    partners = partner_numbers or {}
    legs_by_id = {leg.id: leg for s in order.shipments for leg in s.legs}
    next_leg = {
        leg.handoff_from_leg_id: leg for leg in legs_by_id.values() if leg.handoff_from_leg_id
    }
    return OrderRead(
        order_number=order.order_number,
        customer_email=order.customer_email,
        customer_postal_code=order.customer_postal_code,
        promised_delivery_date=order.promised_delivery_on,
        claimed_status=order.claimed_status,
        created_at=order.created_at,
        updated_at=order.updated_at,
        shipments=[
            ShipmentRead(
                id=s.id,
                service=s.service,
                label_created_at=s.label_created_at,
                legs=[
                    _leg_read(leg, legs_by_id, next_leg, partners.get(leg.id, [])) for leg in s.legs
                ],
            )
            for s in order.shipments
        ],
    )


def _leg_read(
    leg: Leg,
    legs_by_id: dict[int, Leg],
    next_leg: dict[int, Leg],
    partner_numbers: list[PartnerNumberRead],
) -> LegRead:
    following = next_leg.get(leg.id)
    previous = legs_by_id.get(leg.handoff_from_leg_id) if leg.handoff_from_leg_id else None
    role = "last_mile" if previous else "first_mile" if following else "only"
    name = carrier_name(leg.carrier)
    return LegRead(
        id=leg.id,
        sequence=leg.sequence,
        carrier=leg.carrier,
        carrier_name=name,
        tracking_number=leg.tracking_number,
        service=leg.service,
        source=leg.source,
        hands_off_to=following.tracking_number if following else None,
        handed_off_from=previous.tracking_number if previous else None,
        role=role,
        status=leg.status,
        status_explanation=describe_status(name, leg.status),
        last_event_at=leg.last_event_at,
        last_polled_at=leg.last_polled_at,
        last_successful_poll_at=leg.last_successful_poll_at,
        next_poll_at=leg.next_poll_at,
        active=leg.active,
        partner_numbers=partner_numbers,
    )


def _timeline_event(event: LegEvent, leg: Leg) -> TimelineEventRead:
    local = event.occurred_at.astimezone(timezone(timedelta(minutes=event.utc_offset_minutes)))
    location = ", ".join(
        p for p in (event.location_city, event.location_state, event.location_country) if p
    )
    return TimelineEventRead(
        occurred_at=event.occurred_at,
        local_time=local.isoformat(),
        carrier=leg.carrier,
        tracking_number=leg.tracking_number,
        status=event.status,
        carrier_code=event.carrier_code,
        description=event.description,
        location=location or None,
    )


def _upcoming_read(plan: PlannedAlert) -> UpcomingAlertRead:
    return UpcomingAlertRead(
        rule=plan.rule,
        severity=plan.severity,
        carrier=plan.carrier,
        tracking_number=plan.tracking_number,
        due_at=plan.due_at,
        explanation=plan.explanation,
        recommended_action=plan.recommended_action,
    )


def _alert_read(alert: Alert) -> OpenAlertRead:
    return OpenAlertRead(
        id=alert.id,
        rule=alert.rule,
        severity=alert.severity,
        status=alert.status,
        carrier=alert.carrier,
        tracking_number=alert.tracking_number,
        opened_at=alert.opened_at,
        explanation=alert.explanation,
        recommended_action=alert.recommended_action,
    )
