from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app import db
from app.errors import NotFound
from app.shipments.models import Leg, Order, Shipment


async def find_order_by_number(
    session: AsyncSession, order_number: str, *, lock: bool = False
) -> Order | None:
    """The order, or None; with `lock`, locked for a change and read afresh."""
    stmt = select(Order).where(Order.order_number == order_number)
    if lock:
        stmt = db.lock_rows(stmt).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_order_by_number(
    session: AsyncSession, order_number: str, *, lock: bool = False
) -> Order:
    order = await find_order_by_number(session, order_number, lock=lock)
    if order is None:
        raise NotFound(f"No order with number '{order_number}'.")
    return order


async def lock_orders_by_number(session: AsyncSession, order_numbers: Sequence[str]) -> None:
    """Locks the orders that exist among `order_numbers`, in id order (docs/locking.md)."""
    if order_numbers:
        stmt = select(Order.id).where(Order.order_number.in_(set(order_numbers)))
        await session.execute(db.lock_rows(stmt.order_by(Order.id)))


async def get_order_with_legs(session: AsyncSession, order_id: int) -> Order:
    stmt = (
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.shipments).selectinload(Shipment.legs))
    )
    order = (await session.execute(stmt)).scalar_one_or_none()
    if order is None:
        raise NotFound(f"No order with id {order_id}.")
    return order


async def list_orders_with_legs(session: AsyncSession, order_ids: Sequence[int]) -> list[Order]:
    stmt = (
        select(Order)
        .where(Order.id.in_(order_ids))
        .options(selectinload(Order.shipments).selectinload(Shipment.legs))
    )
    return list((await session.execute(stmt)).scalars())


async def find_leg_on_order(
    session: AsyncSession, *, order_id: int, carrier: str, tracking_number: str
) -> Leg | None:
    stmt = (
        select(Leg)
        .join(Shipment, Shipment.id == Leg.shipment_id)
        .where(
            Shipment.order_id == order_id,
            Leg.carrier == carrier,
            Leg.tracking_number == tracking_number,
        )
        .order_by(Leg.sequence)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_shipments(session: AsyncSession, *, order_id: int) -> int:
    stmt = select(func.count()).select_from(Shipment).where(Shipment.order_id == order_id)
    return int((await session.execute(stmt)).scalar_one())


async def get_shipment_with_legs(session: AsyncSession, shipment_id: int) -> Shipment:
    stmt = select(Shipment).where(Shipment.id == shipment_id).options(selectinload(Shipment.legs))
    return (await session.execute(stmt)).scalar_one()


async def find_recent_use_elsewhere(
    session: AsyncSession,
    *,
    carrier: str,
    tracking_number: str,
    order_id: int | None,
    window_start: datetime,
    window_end: datetime,
) -> tuple[str, datetime] | None:
    """The order number and label time of another order using this number inside the window."""
    stmt = (
        select(Order.order_number, Leg.label_created_at)
        .join(Shipment, Shipment.order_id == Order.id)
        .join(Leg, Leg.shipment_id == Shipment.id)
        .where(
            Leg.carrier == carrier,
            Leg.tracking_number == tracking_number,
            Leg.label_created_at > window_start,
            Leg.label_created_at < window_end,
        )
        .order_by(Leg.label_created_at.desc())
        .limit(1)
    )
    if order_id is not None:
        stmt = stmt.where(Order.id != order_id)
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row else None


async def list_orders_matching(
    session: AsyncSession, *, lookup_key: str, limit: int
) -> list[tuple[int, str, datetime]]:
    """(order id, what matched, recency) for every order whose number or leg number is the key."""
    by_order = select(Order.id, Order.created_at).where(Order.order_key == lookup_key)
    by_leg = (
        select(Shipment.order_id, Leg.label_created_at)
        .join(Leg, Leg.shipment_id == Shipment.id)
        .where(Leg.tracking_number == lookup_key)
    )
    matches: list[tuple[int, str, datetime]] = [
        (row[0], "order_number", row[1]) for row in await session.execute(by_order.limit(limit))
    ]
    matches += [
        (row[0], "tracking_number", row[1]) for row in await session.execute(by_leg.limit(limit))
    ]
    return matches


async def list_order_numbers(session: AsyncSession, order_ids: Sequence[int]) -> dict[int, str]:
    """Order id -> order number, for the ids that exist."""
    if not order_ids:
        return {}
    rows = await session.execute(
        select(Order.id, Order.order_number).where(Order.id.in_(order_ids))
    )
    return dict(rows.all())
