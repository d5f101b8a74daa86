"""Storing a checked label on its order: a new shipment with its legs, or the update of one the
order already has. Carriers recycle numbers, so a number used by another order within the reuse
window is a conflict."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import repository as audit_repository
from app.errors import Conflict
from app.shipments import dates, poll_schedule, repository
from app.shipments.context import IngestContext
from app.shipments.labels import CheckedNumber, CheckedShipment, join_field
from app.shipments.models import Leg, Order, Shipment


async def attach_shipment(
    session: AsyncSession,
    *,
    order: Order,
    shipment: CheckedShipment,
    field: str,
    context: IngestContext,
) -> bool:
    """Stores a label on the order unless it is already there; returns whether anything changed."""
    existing = await repository.find_leg_on_order(
        session,
        order_id=order.id,
        carrier=shipment.first.carrier,
        tracking_number=shipment.first.tracking_number,
    )
    if existing is not None:
        return await _update_shipment(
            session, order=order, leg=existing, shipment=shipment, field=field, context=context
        )
    await _refuse_recent_reuse(
        session,
        order=order,
        number=shipment.first,
        label_created_at=shipment.label_created_at,
        field=join_field(field, "tracking_number"),
        context=context,
    )
    if shipment.last_mile is not None:
        await _refuse_recent_reuse(
            session,
            order=order,
            number=shipment.last_mile,
            label_created_at=shipment.label_created_at,
            field=join_field(field, "last_mile.tracking_number"),
            context=context,
        )
    row = Shipment(**build_shipment_values(order_id=order.id, label=shipment, now=context.now))
    session.add(row)
    await session.flush()
    first = _new_leg(row, shipment.first, sequence=1, context=context)
    session.add(first)
    await session.flush()
    if shipment.last_mile is not None:
        session.add(_new_leg(row, shipment.last_mile, sequence=2, context=context, after=first))
    await audit_order(
        session, order, "shipment.created", shipment_created_detail(shipment), context
    )
    return True


def build_shipment_values(
    *, order_id: int, label: CheckedShipment, now: datetime
) -> dict[str, object]:
    return {
        "order_id": order_id,
        "service": label.service,
        "label_created_at": label.label_created_at,
        "created_at": now,
    }


def shipment_created_detail(shipment: CheckedShipment) -> dict[str, object]:
    return {
        "carrier": shipment.first.carrier,
        "tracking_number": shipment.first.tracking_number,
        "last_mile": _describe_number(shipment.last_mile),
    }


def _new_leg(
    shipment: Shipment,
    number: CheckedNumber,
    *,
    sequence: int,
    context: IngestContext,
    after: Leg | None = None,
) -> Leg:
    return Leg(
        **build_leg_values(
            shipment_id=shipment.id,
            service=shipment.service,
            label_created_at=shipment.label_created_at,
            number=number,
            sequence=sequence,
            handoff_from_leg_id=after.id if after else None,
            context=context,
        )
    )


def build_leg_values(
    *,
    shipment_id: int,
    service: str | None,
    label_created_at: datetime,
    number: CheckedNumber,
    sequence: int,
    handoff_from_leg_id: int | None,
    context: IngestContext,
) -> dict[str, object]:
    """A new leg's columns, as the shop tells it: the first, or a last mile after it."""
    first = handoff_from_leg_id is None
    return {
        "shipment_id": shipment_id,
        "sequence": sequence,
        "carrier": number.carrier,
        "tracking_number": number.tracking_number,
        "service": service if sequence == 1 else None,
        "source": "shop",
        "handoff_from_leg_id": handoff_from_leg_id,
        "label_created_at": label_created_at,
        "tracking_started_at": context.now,
        **poll_schedule.new_leg(
            now=context.now,
            alert_deadline_at=(
                _first_deadline(number.carrier, service, label_created_at, context)
                if first
                else None
            ),
        ),
        "consecutive_failures": 0,
        "created_at": context.now,
        "updated_at": context.now,
    }


async def _update_shipment(
    session: AsyncSession,
    *,
    order: Order,
    leg: Leg,
    shipment: CheckedShipment,
    field: str,
    context: IngestContext,
) -> bool:
    row = await repository.get_shipment_with_legs(session, leg.shipment_id)
    diff: dict[str, object] = {}
    if row.label_created_at != shipment.label_created_at:
        diff["label_created_at"] = [
            iso_value(row.label_created_at),
            iso_value(shipment.label_created_at),
        ]
        row.label_created_at = shipment.label_created_at
        for each in row.legs:
            if each.source == "shop":
                each.label_created_at = shipment.label_created_at
    if shipment.service is not None and row.service != shipment.service:
        diff["service"] = [row.service, shipment.service]
        row.service = shipment.service
        row.legs[0].service = shipment.service
    if shipment.last_mile is not None:
        diff.update(
            await _attach_last_mile(
                session,
                order=order,
                row=row,
                number=shipment.last_mile,
                field=field,
                context=context,
            )
        )
    if diff:
        await audit_order(session, order, "shipment.updated", diff, context)
    return bool(diff)


async def _attach_last_mile(
    session: AsyncSession,
    *,
    order: Order,
    row: Shipment,
    number: CheckedNumber,
    field: str,
    context: IngestContext,
) -> dict[str, object]:
    current = [leg for leg in row.legs if leg.sequence > 1]
    if any(
        leg.carrier == number.carrier and leg.tracking_number == number.tracking_number
        for leg in current
    ):
        return {}
    if current:
        known = current[-1]
        raise Conflict(
            f"This shipment already hands off to {known.carrier} {known.tracking_number}; "
            f"it cannot also hand off to {number.carrier} {number.tracking_number}.",
            extra={
                "errors": [
                    {
                        "field": join_field(field, "last_mile.tracking_number"),
                        "reason": "conflicts with the known last-mile number",
                    }
                ]
            },
        )
    await _refuse_recent_reuse(
        session,
        order=order,
        number=number,
        label_created_at=row.label_created_at,
        field=join_field(field, "last_mile.tracking_number"),
        context=context,
    )
    session.add(_new_leg(row, number, sequence=2, context=context, after=row.legs[0]))
    return {"last_mile": _describe_number(number)}


async def _refuse_recent_reuse(
    session: AsyncSession,
    *,
    order: Order,
    number: CheckedNumber,
    label_created_at: datetime,
    field: str,
    context: IngestContext,
) -> None:
    """Carriers recycle numbers after months; inside the window the same number is a conflict."""
    clash = await repository.find_recent_use_elsewhere(
        session,
        carrier=number.carrier,
        tracking_number=number.tracking_number,
        order_id=order.id,
        window_start=dates.shift(label_created_at, -context.reuse_window),
        window_end=dates.shift(label_created_at, context.reuse_window),
    )
    if clash is None:
        return
    other_order, other_label_at = clash
    days = context.reuse_window.days
    raise Conflict(
        f"{number.carrier} tracking number {number.tracking_number} is already on order "
        f"{other_order} (label created {other_label_at.date().isoformat()}); a number can be "
        f"reused only for labels more than {days} days apart.",
        extra={
            "conflicting_order_number": other_order,
            "errors": [{"field": field, "reason": f"already used by order {other_order}"}],
        },
    )


async def audit_order(
    session: AsyncSession,
    order: Order,
    action: str,
    detail: dict[str, object],
    context: IngestContext,
) -> None:
    await audit_repository.record(
        session,
        actor=context.actor,
        action=action,
        entity_type="order",
        entity_id=order.order_number,
        order_id=order.id,
        detail=detail,
    )


def _describe_number(number: CheckedNumber | None) -> str | None:
    return f"{number.carrier} {number.tracking_number}" if number else None


def iso_value(value: object) -> object:
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if callable(isoformat) else value


def _first_deadline(
    carrier: str, service: str | None, label_created_at: datetime, context: IngestContext
) -> datetime | None:
    # A last-mile leg waits for the hand-off, which no label tells: it has no deadline yet.
    estimate = context.first_alert_deadline
    return estimate(carrier, service, label_created_at) if estimate else None
