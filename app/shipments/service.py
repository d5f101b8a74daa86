from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app import db
from app.audit import repository as audit_repository
from app.errors import Conflict, FieldError, InvalidInput
from app.shipments import labels, repository
from app.shipments.labels import CheckedNumber, CheckedShipment
from app.shipments.models import Leg, Order, Shipment
from app.shipments.schemas import OrderCreate, OrderUpdate, ShipmentCreate


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    order_id: int
    created: bool  # the order did not exist before
    changed: bool  # anything at all was stored or updated


@dataclass(frozen=True, slots=True)
class IngestContext:
    actor: str
    now: datetime
    reuse_window: timedelta


async def ingest_order(
    session: AsyncSession, *, order_in: OrderCreate, context: IngestContext
) -> IngestOutcome:
    """Creates or updates an order and its labels; a repeat of the same request changes nothing."""
    checked = _checked_or_raise(order_in.shipments, field="shipments", now=context.now)
    await lock_for_ingest(session, [order_in], now=context.now)
    order = await repository.find_order_by_number(session, order_in.order_number)
    created = order is None
    if order is None:
        order = await _create_order(session, order_in=order_in, context=context)
        changed = True
    else:
        changed = await _update_order_fields(
            session, order=order, order_in=order_in, context=context
        )
    for index, shipment in enumerate(checked):
        changed |= await _attach_shipment(
            session, order=order, shipment=shipment, field=f"shipments[{index}]", context=context
        )
    if changed:
        order.reconcile_due_at = context.now
    await session.flush()
    return IngestOutcome(order_id=order.id, created=created, changed=changed)


async def add_shipment(
    session: AsyncSession, *, order_number: str, shipment_in: ShipmentCreate, context: IngestContext
) -> IngestOutcome:
    """Adds one label to an existing order; the same label twice is stored once."""
    order = await repository.get_order_by_number(session, order_number)
    (checked,) = _checked_or_raise([shipment_in], field="shipment", now=context.now)
    await db.lock_for_update(session, _lock_keys([checked]))
    order = await repository.get_order_by_number(session, order_number, lock=True)
    changed = await _attach_shipment(
        session, order=order, shipment=checked, field="shipment", context=context
    )
    if changed:
        order.reconcile_due_at = context.now
    await session.flush()
    return IngestOutcome(order_id=order.id, created=False, changed=changed)


async def update_order(
    session: AsyncSession, *, order_number: str, changes: OrderUpdate, context: IngestContext
) -> int:
    """Updates our side's claims; fields absent from the request are left as they are."""
    if "claimed_status" in changes.model_fields_set and changes.claimed_status is None:
        raise InvalidInput([FieldError("claimed_status", "cannot be null")])
    order = await repository.get_order_by_number(session, order_number, lock=True)
    diff: dict[str, object] = {}
    if changes.claimed_status is not None and changes.claimed_status != order.claimed_status:
        diff["claimed_status"] = [order.claimed_status, changes.claimed_status.value]
        order.claimed_status = changes.claimed_status.value
    if (
        "promised_delivery_date" in changes.model_fields_set
        and changes.promised_delivery_date != order.promised_delivery_on
    ):
        diff["promised_delivery_date"] = [
            _iso(order.promised_delivery_on),
            _iso(changes.promised_delivery_date),
        ]
        order.promised_delivery_on = changes.promised_delivery_date
    if diff:
        order.updated_at = context.now
        order.reconcile_due_at = context.now
        await _audit_order(session, order, "order.updated", diff, context)
    await session.flush()
    return order.id


async def lock_for_ingest(
    session: AsyncSession, orders_in: Sequence[OrderCreate], *, now: datetime
) -> None:
    """Takes every lock that ingesting `orders_in` needs, in the order every writer takes them
    (docs/locking.md): the advisory keys of their numbers and labels, then the orders that
    exist, in id order. An import takes a whole chunk's at once, before its first row."""
    keys = []
    for order_in in orders_in:
        checked = labels.check_shipments(order_in.shipments, field="shipments", now=now)
        keys += [f"order:{order_in.order_number}"]
        keys += _lock_keys([s for s in checked if isinstance(s, CheckedShipment)])
    await db.lock_for_update(session, keys)
    await repository.lock_orders_by_number(session, [o.order_number for o in orders_in])


def _checked_or_raise(
    shipments: list[ShipmentCreate], *, field: str, now: datetime
) -> list[CheckedShipment]:
    result = labels.check_shipments(shipments, field=field, now=now)
    if result and isinstance(result[0], FieldError):
        raise InvalidInput([e for e in result if isinstance(e, FieldError)])
    return [s for s in result if isinstance(s, CheckedShipment)]


def _lock_keys(shipments: list[CheckedShipment]) -> list[str]:
    return [
        f"number:{n.carrier}:{n.tracking_number}"
        for s in shipments
        for n in (s.first, s.last_mile)
        if n is not None
    ]


async def _create_order(
    session: AsyncSession, *, order_in: OrderCreate, context: IngestContext
) -> Order:
    order = Order(
        order_number=order_in.order_number,
        order_key=labels.build_lookup_key(order_in.order_number),
        customer_email=order_in.customer_email,
        customer_postal_code=order_in.customer_postal_code,
        promised_delivery_on=order_in.promised_delivery_date,
        claimed_status=order_in.claimed_status.value if order_in.claimed_status else None,
        created_at=context.now,
        updated_at=context.now,
    )
    session.add(order)
    await session.flush()
    await _audit_order(session, order, "order.created", {}, context)
    return order


async def _update_order_fields(
    session: AsyncSession, *, order: Order, order_in: OrderCreate, context: IngestContext
) -> bool:
    """Applies the fields the request carries; absent fields keep their stored value."""
    incoming = {
        "customer_email": order_in.customer_email,
        "customer_postal_code": order_in.customer_postal_code,
        "promised_delivery_on": order_in.promised_delivery_date,
        "claimed_status": order_in.claimed_status.value if order_in.claimed_status else None,
    }
    diff: dict[str, object] = {}
    for name, value in incoming.items():
        if value is not None and getattr(order, name) != value:
            diff[name] = [_iso(getattr(order, name)), _iso(value)]
            setattr(order, name, value)
    if diff:
        order.updated_at = context.now
        await _audit_order(session, order, "order.updated", diff, context)
    return bool(diff)


async def _attach_shipment(
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
        field=f"{field}.tracking_number",
        context=context,
    )
    if shipment.last_mile is not None:
        await _refuse_recent_reuse(
            session,
            order=order,
            number=shipment.last_mile,
            label_created_at=shipment.label_created_at,
            field=f"{field}.last_mile.tracking_number",
            context=context,
        )
    row = Shipment(
        order_id=order.id,
        service=shipment.service,
        label_created_at=shipment.label_created_at,
        created_at=context.now,
    )
    session.add(row)
    await session.flush()
    first = _new_leg(row, shipment.first, sequence=1, context=context)
    session.add(first)
    await session.flush()
    if shipment.last_mile is not None:
        session.add(_new_leg(row, shipment.last_mile, sequence=2, context=context, after=first))
    await _audit_order(
        session,
        order,
        "shipment.created",
        {
            "carrier": shipment.first.carrier,
            "tracking_number": shipment.first.tracking_number,
            "last_mile": _describe_number(shipment.last_mile),
        },
        context,
    )
    return True


def _new_leg(
    shipment: Shipment,
    number: CheckedNumber,
    *,
    sequence: int,
    context: IngestContext,
    after: Leg | None = None,
) -> Leg:
    return Leg(
        shipment_id=shipment.id,
        sequence=sequence,
        carrier=number.carrier,
        tracking_number=number.tracking_number,
        service=shipment.service if sequence == 1 else None,
        source="shop",
        handoff_from_leg_id=after.id if after else None,
        label_created_at=shipment.label_created_at,
        tracking_started_at=context.now,
        active=True,
        next_poll_at=context.now,  # a new leg is due at once
        consecutive_failures=0,
        created_at=context.now,
        updated_at=context.now,
    )


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
        diff["label_created_at"] = [_iso(row.label_created_at), _iso(shipment.label_created_at)]
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
        await _audit_order(session, order, "shipment.updated", diff, context)
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
                        "field": f"{field}.last_mile.tracking_number",
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
        field=f"{field}.last_mile.tracking_number",
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
        window_start=label_created_at - context.reuse_window,
        window_end=label_created_at + context.reuse_window,
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


async def _audit_order(
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


def _iso(value: object) -> object:
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if callable(isoformat) else value
