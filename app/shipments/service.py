from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app import db
from app.errors import FieldError, InvalidInput
from app.shipments import attaching, dates, judging_schedule, labels, repository
from app.shipments.context import IngestContext
from app.shipments.labels import CheckedShipment
from app.shipments.models import Order
from app.shipments.schemas import OrderCreate, OrderUpdate, ShipmentCreate
from carriers import numbers

# IngestContext is part of this module's surface: callers build it as service.IngestContext.
__all__ = [
    "IngestContext",
    "IngestOutcome",
    "PreparedOrder",
    "UpdateOutcome",
    "add_shipment",
    "build_order_values",
    "incoming_order_fields",
    "ingest_order",
    "lock_for_ingest",
    "lock_prepared",
    "prepare_order",
    "update_order",
    "warning_detail",
]

_WithPromise = TypeVar("_WithPromise", OrderCreate, OrderUpdate)


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    order_id: int
    created: bool  # the order did not exist before
    changed: bool  # anything at all was stored or updated
    warnings: tuple[FieldError, ...] = ()  # what was not stored as sent, and why


@dataclass(frozen=True, slots=True)
class PreparedOrder:
    """An order as it is stored: its labels checked, an unusable promise dropped (and why)."""

    order_in: OrderCreate
    checked: list[CheckedShipment]
    warnings: tuple[FieldError, ...]

    def lock_keys(self) -> list[str]:
        return [f"order:{self.order_in.order_number}", *_lock_keys(self.checked)]


@dataclass(frozen=True, slots=True)
class UpdateOutcome:
    order_number: str
    changed: tuple[str, ...]  # the API fields whose stored value changed
    warnings: tuple[FieldError, ...]


async def ingest_order(
    session: AsyncSession, *, order_in: OrderCreate, context: IngestContext
) -> IngestOutcome:
    """Creates or updates an order and its labels; a repeat of the same request changes nothing."""
    prepared = prepare_order(order_in, context=context)
    order_in, checked, warnings = prepared.order_in, prepared.checked, prepared.warnings
    await lock_prepared(session, [prepared])
    order = await repository.find_order_by_number(session, order_in.order_number)
    if order is not None:
        await _refuse_growth_past_limit(
            session, order=order, shipments=checked, field="shipments", context=context
        )
    created = order is None
    audited = created
    if order is None:
        order = await _create_order(session, order_in=order_in, warnings=warnings, context=context)
        changed = True
    else:
        changed = audited = await _update_order_fields(
            session, order=order, order_in=order_in, warnings=warnings, context=context
        )
    for index, shipment in enumerate(checked):
        changed |= await attaching.attach_shipment(
            session, order=order, shipment=shipment, field=f"shipments[{index}]", context=context
        )
    if warnings and changed and not audited:
        # A label was added but no field changed: the warning still belongs in the audit.
        await attaching.audit_order(
            session, order, "order.updated", warning_detail(warnings), context
        )
    if changed:
        judging_schedule.judge_now(order, now=context.now)
    await session.flush()
    return IngestOutcome(order_id=order.id, created=created, changed=changed, warnings=warnings)


async def add_shipment(
    session: AsyncSession, *, order_number: str, shipment_in: ShipmentCreate, context: IngestContext
) -> IngestOutcome:
    """Adds one label to an existing order; the same label twice is stored once."""
    order = await repository.get_order_by_number(session, order_number)
    checked = labels.check_shipment(shipment_in, field="", now=context.now, windows=context.windows)
    if isinstance(checked, list):
        raise InvalidInput(checked)
    # The order's key too: two labels added at once must not both pass the count below.
    await db.lock_for_update(session, [f"order:{order.order_number}", *_lock_keys([checked])])
    order = await repository.get_order_by_number(session, order_number, lock=True)
    await _refuse_growth_past_limit(
        session, order=order, shipments=[checked], field="body", context=context
    )
    changed = await attaching.attach_shipment(
        session, order=order, shipment=checked, field="", context=context
    )
    if changed:
        judging_schedule.judge_now(order, now=context.now)
    await session.flush()
    return IngestOutcome(order_id=order.id, created=False, changed=changed)


async def update_order(
    session: AsyncSession, *, order_number: str, changes: OrderUpdate, context: IngestContext
) -> UpdateOutcome:
    """Updates our side's claims: a field sent changes (null clears it), one absent is kept."""
    order = await repository.get_order_by_number(session, order_number, lock=True)
    sent = changes.model_fields_set
    changes, warnings = _without_unusable_promise(changes, context=context)
    diff: dict[str, object] = {}
    if "claimed_status" in sent:
        claimed = changes.claimed_status.value if changes.claimed_status else None
        if claimed != order.claimed_status:
            diff["claimed_status"] = [order.claimed_status, claimed]
            order.claimed_status = claimed
    if "promised_delivery_date" in sent and (
        changes.promised_delivery_date != order.promised_delivery_on
    ):
        diff["promised_delivery_date"] = [
            attaching.iso_value(order.promised_delivery_on),
            attaching.iso_value(changes.promised_delivery_date),
        ]
        order.promised_delivery_on = changes.promised_delivery_date
    if diff:
        order.updated_at = context.now
        judging_schedule.judge_now(order, now=context.now)
        detail = {**diff, **warning_detail(warnings)}
        await attaching.audit_order(session, order, "order.updated", detail, context)
    await session.flush()
    return UpdateOutcome(order_number=order.order_number, changed=tuple(diff), warnings=warnings)


def prepare_order(order_in: OrderCreate, *, context: IngestContext) -> PreparedOrder:
    """What `ingest_order` checks before it touches the database; InvalidInput if it fails."""
    _refuse_more_than_allowed(len(order_in.shipments), field="shipments", context=context)
    checked = _checked_or_raise(order_in.shipments, field="shipments", context=context)
    order_in, warnings = _without_unusable_promise(order_in, context=context)
    return PreparedOrder(order_in, checked, warnings)


async def lock_for_ingest(
    session: AsyncSession, orders_in: Sequence[OrderCreate], *, context: IngestContext
) -> None:
    """Takes every lock that ingesting `orders_in` needs, in the order every writer takes them
    (docs/locking.md): the advisory keys of their numbers and labels, then the orders that
    exist, in id order. An import takes a whole chunk's at once, before its first row."""
    keys = []
    for order_in in orders_in:
        checked = labels.check_shipments(
            order_in.shipments, field="shipments", now=context.now, windows=context.windows
        )
        keys += [f"order:{order_in.order_number}"]
        keys += _lock_keys([s for s in checked if isinstance(s, CheckedShipment)])
    await db.lock_for_update(session, keys)
    await repository.lock_orders_by_number(session, [o.order_number for o in orders_in])


async def lock_prepared(session: AsyncSession, prepared: Sequence[PreparedOrder]) -> None:
    """`lock_for_ingest` for orders already prepared (their labels checked once)."""
    await db.lock_for_update(session, [key for each in prepared for key in each.lock_keys()])
    await repository.lock_orders_by_number(session, [p.order_in.order_number for p in prepared])


def _without_unusable_promise(
    request: _WithPromise, *, context: IngestContext
) -> tuple[_WithPromise, tuple[FieldError, ...]]:
    """The request with a placeholder or out-of-window promise replaced by none, and why."""
    warning = dates.judge_promise(
        request.promised_delivery_date,
        field="promised_delivery_date",
        now=context.now,
        windows=context.windows,
    )
    if warning is None:
        return request, ()
    return request.model_copy(update={"promised_delivery_date": None}), (warning,)


def _refuse_more_than_allowed(count: int, *, field: str, context: IngestContext) -> None:
    limit = context.max_shipments_per_order
    if count > limit:
        raise InvalidInput(
            [FieldError(field, f"has {count} shipments; {_limit_words(limit)}")],
        )


async def _refuse_growth_past_limit(
    session: AsyncSession,
    *,
    order: Order,
    shipments: list[CheckedShipment],
    field: str,
    context: IngestContext,
) -> None:
    """Counts what is stored plus what is new; a label already on the order is not growth."""
    new = 0
    for shipment in shipments:
        known = await repository.find_leg_on_order(
            session,
            order_id=order.id,
            carrier=shipment.first.carrier,
            tracking_number=shipment.first.tracking_number,
        )
        new += known is None
    if not new:
        return
    stored = await repository.count_shipments(session, order_id=order.id)
    limit = context.max_shipments_per_order
    if stored + new > limit:
        reason = (
            f"would give order {order.order_number} {stored + new} shipments "
            f"({stored} stored, {new} new); {_limit_words(limit)}"
        )
        raise InvalidInput([FieldError(field, reason)])


def _limit_words(limit: int) -> str:
    return f"an order may have at most {limit} (FIRSTSCAN_MAX_SHIPMENTS_PER_ORDER)"


def _checked_or_raise(
    shipments: list[ShipmentCreate], *, field: str, context: IngestContext
) -> list[CheckedShipment]:
    result = labels.check_shipments(
        shipments, field=field, now=context.now, windows=context.windows
    )
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
    session: AsyncSession,
    *,
    order_in: OrderCreate,
    warnings: tuple[FieldError, ...],
    context: IngestContext,
) -> Order:
    order = Order(**build_order_values(order_in, now=context.now))
    session.add(order)
    await session.flush()
    await attaching.audit_order(session, order, "order.created", warning_detail(warnings), context)
    return order


def build_order_values(order_in: OrderCreate, *, now: datetime) -> dict[str, object]:
    """A new order's columns (but its next judgement: the caller asks judging_schedule)."""
    return {
        "order_number": order_in.order_number,
        "order_key": numbers.normalize_tracking_number(order_in.order_number),
        "customer_email": order_in.customer_email,
        "customer_postal_code": order_in.customer_postal_code,
        "promised_delivery_on": order_in.promised_delivery_date,
        "claimed_status": order_in.claimed_status.value if order_in.claimed_status else None,
        "created_at": now,
        "updated_at": now,
    }


async def _update_order_fields(
    session: AsyncSession,
    *,
    order: Order,
    order_in: OrderCreate,
    warnings: tuple[FieldError, ...],
    context: IngestContext,
) -> bool:
    """Applies the fields the request carries; absent fields keep their stored value."""
    diff: dict[str, object] = {}
    for name, value in incoming_order_fields(order_in).items():
        if getattr(order, name) != value:
            diff[name] = [attaching.iso_value(getattr(order, name)), attaching.iso_value(value)]
            setattr(order, name, value)
    if diff:
        order.updated_at = context.now
        detail = {**diff, **warning_detail(warnings)}
        await attaching.audit_order(session, order, "order.updated", detail, context)
    return bool(diff)


def incoming_order_fields(order_in: OrderCreate) -> dict[str, object]:
    """The order's columns the request sets; a field it leaves out keeps its stored value."""
    incoming = {
        "customer_email": order_in.customer_email,
        "customer_postal_code": order_in.customer_postal_code,
        "promised_delivery_on": order_in.promised_delivery_date,
        "claimed_status": order_in.claimed_status.value if order_in.claimed_status else None,
    }
    return {name: value for name, value in incoming.items() if value is not None}


def warning_detail(warnings: tuple[FieldError, ...]) -> dict[str, object]:
    return {"warnings": [w.as_dict() for w in warnings]} if warnings else {}
