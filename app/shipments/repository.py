from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import Integer, String, and_, column, func, insert, select, values
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app import db
from app.db import UTCDateTime
from app.errors import NotFound
from app.shipments.models import Leg, Order, Shipment


@dataclass(frozen=True, slots=True)
class OrderFields:
    """A stored order's id and the fields a shop sends (what an ingest compares)."""

    id: int
    customer_email: str | None
    customer_postal_code: str | None
    promised_delivery_on: date | None
    claimed_status: str | None


class LabelLeg(NamedTuple):
    """One leg of a stored shipment, with the shipment's label."""

    order_id: int
    shipment_id: int
    label_created_at: datetime
    service: str | None
    sequence: int
    carrier: str
    tracking_number: str


class NumberUse(NamedTuple):
    """A number about to be stored on an order, and its reuse window. A new order has no id
    yet: NEW_ORDER, which no stored order has (ids start at 1), so every other use counts."""

    key: int
    carrier: str
    tracking_number: str
    window_start: datetime
    window_end: datetime
    order_id: int


NEW_ORDER = 0


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


async def list_legs_by_ids(session: AsyncSession, leg_ids: Sequence[int]) -> list[Leg]:
    if not leg_ids:
        return []
    return list((await session.execute(select(Leg).where(Leg.id.in_(leg_ids)))).scalars())


async def list_order_numbers(session: AsyncSession, order_ids: Sequence[int]) -> dict[int, str]:
    """Order id -> order number, for the ids that exist."""
    if not order_ids:
        return {}
    rows = await session.execute(
        select(Order.id, Order.order_number).where(Order.id.in_(order_ids))
    )
    return dict(rows.all())


# Set-wise reads and writes for storing many orders at once (shipments.bulk_ingest).


async def list_orders_by_number(
    session: AsyncSession, order_numbers: Sequence[str]
) -> dict[str, OrderFields]:
    """Order number -> the order's id and the fields a shop sends, for those that exist."""
    if not order_numbers:
        return {}
    stmt = select(
        Order.order_number,
        Order.id,
        Order.customer_email,
        Order.customer_postal_code,
        Order.promised_delivery_on,
        Order.claimed_status,
    ).where(Order.order_number.in_(order_numbers))
    return {
        row.order_number: OrderFields(
            id=row.id,
            customer_email=row.customer_email,
            customer_postal_code=row.customer_postal_code,
            promised_delivery_on=row.promised_delivery_on,
            claimed_status=row.claimed_status,
        )
        for row in await session.execute(stmt)
    }


async def list_labels_on_orders(
    session: AsyncSession, *, order_ids: Sequence[int], tracking_numbers: Sequence[str]
) -> list[LabelLeg]:
    """Every leg of each shipment of these orders that has a leg with one of these numbers."""
    if not order_ids or not tracking_numbers:
        return []
    matching = (
        select(Leg.shipment_id)
        .join(Shipment, Shipment.id == Leg.shipment_id)
        .where(Shipment.order_id.in_(order_ids), Leg.tracking_number.in_(tracking_numbers))
    )
    stmt = (
        select(
            Shipment.order_id,
            Shipment.id,
            Shipment.label_created_at,
            Shipment.service,
            Leg.sequence,
            Leg.carrier,
            Leg.tracking_number,
        )
        .join(Leg, Leg.shipment_id == Shipment.id)
        .where(Shipment.id.in_(matching))
    )
    return [LabelLeg(*row) for row in await session.execute(stmt)]


async def count_shipments_by_order(
    session: AsyncSession, order_ids: Sequence[int]
) -> dict[int, int]:
    if not order_ids:
        return {}
    stmt = (
        select(Shipment.order_id, func.count())
        .where(Shipment.order_id.in_(order_ids))
        .group_by(Shipment.order_id)
    )
    return {row[0]: row[1] for row in await session.execute(stmt)}


async def list_recent_uses_elsewhere(
    session: AsyncSession, candidates: Sequence[NumberUse]
) -> set[int]:
    """The keys of the candidates whose number another order uses inside the candidate's
    window: `find_recent_use_elsewhere` for many numbers in one statement."""
    if not candidates:
        return set()
    uses = values(
        column("key", Integer),
        column("carrier", String),
        column("tracking_number", String),
        column("window_start", UTCDateTime()),
        column("window_end", UTCDateTime()),
        column("order_id", Integer),
        name="uses",
    ).data([tuple(c) for c in candidates])
    stmt = (
        select(uses.c.key)
        .distinct()
        .join(
            Leg,
            and_(
                Leg.carrier == uses.c.carrier,
                Leg.tracking_number == uses.c.tracking_number,
                Leg.label_created_at > uses.c.window_start,
                Leg.label_created_at < uses.c.window_end,
            ),
        )
        .join(Shipment, Shipment.id == Leg.shipment_id)
        .where(Shipment.order_id != uses.c.order_id)
    )
    return set((await session.execute(stmt)).scalars())


async def insert_orders(session: AsyncSession, rows: Sequence[dict[str, object]]) -> dict[str, int]:
    """Inserts new orders; returns order number -> id."""
    if not rows:
        return {}
    stmt = insert(Order).returning(Order.order_number, Order.id)
    return {row[0]: row[1] for row in await session.execute(stmt, list(rows))}


async def insert_shipments(session: AsyncSession, rows: Sequence[dict[str, object]]) -> list[int]:
    """Inserts shipments; returns their ids in the order of `rows`."""
    if not rows:
        return []
    stmt = insert(Shipment).returning(Shipment.id, sort_by_parameter_order=True)
    return list((await session.execute(stmt, list(rows))).scalars())


async def insert_legs(session: AsyncSession, rows: Sequence[dict[str, object]]) -> list[int]:
    """Inserts legs; returns their ids in the order of `rows`."""
    if not rows:
        return []
    stmt = insert(Leg).returning(Leg.id, sort_by_parameter_order=True)
    return list((await session.execute(stmt, list(rows))).scalars())
