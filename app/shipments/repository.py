from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, func, select, text
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app import db
from app.db import Base
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


async def list_order_numbers(session: AsyncSession, order_ids: Sequence[int]) -> dict[int, str]:
    """Order id -> order number, for the ids that exist."""
    if not order_ids:
        return {}
    rows = await session.execute(
        select(Order.id, Order.order_number).where(Order.id.in_(order_ids))
    )
    return dict(rows.all())


# Set-wise reads and writes for storing many orders at once (shipments.bulk_ingest, PostgreSQL).
# Lists go as one array parameter (db.array_literal), not an IN of one parameter each: the
# statement's text stays the same whatever their length, so neither SQLAlchemy nor psycopg
# builds it again.


# Each number looked up on its own (a LATERAL subquery fenced by OFFSET 0 is an index lookup a
# number): right after a bulk import the statistics lag behind the rows just inserted, and a
# planner that believes a table small scans all of it.
_ORDER_IDS_BY_NUMBER = """
    SELECT hit.id FROM unnest(CAST(:numbers AS TEXT[])) AS n(number)
    CROSS JOIN LATERAL (SELECT id FROM orders WHERE order_number = n.number OFFSET 0) AS hit
"""
_ORDER_FIELDS = """
    order_number, id, customer_email, customer_postal_code, promised_delivery_on, claimed_status
"""
_ORDERS_BY_NUMBER = text(f"""
    SELECT {_ORDER_FIELDS} FROM orders WHERE id IN (SELECT * FROM ({_ORDER_IDS_BY_NUMBER}) AS ids)
""")
# Locked in id order (docs/locking.md), then read: what another writer changed before is seen.
_LOCK_ORDERS_BY_NUMBER = text(f"""
    SELECT {_ORDER_FIELDS} FROM orders WHERE id = ANY(CAST(:ids AS INTEGER[]))
    ORDER BY id FOR NO KEY UPDATE
""")


async def lock_orders_with_numbers(
    session: AsyncSession, order_numbers: Sequence[str]
) -> dict[str, OrderFields]:
    """`lock_orders_by_number` for many numbers (PostgreSQL): locks the orders that exist, in
    id order, and returns order number -> the order's id and fields."""
    if not order_numbers:
        return {}
    params = {"numbers": db.array_literal(order_numbers)}
    ids = sorted((await session.execute(text(_ORDER_IDS_BY_NUMBER), params)).scalars())
    if not ids:
        return {}
    locked = await session.execute(_LOCK_ORDERS_BY_NUMBER, {"ids": db.array_literal(ids)})
    return _order_fields(locked)


async def list_orders_by_number(
    session: AsyncSession, order_numbers: Sequence[str]
) -> dict[str, OrderFields]:
    """Order number -> the order's id and the fields a shop sends, for those that exist."""
    if not order_numbers:
        return {}
    params = {"numbers": db.array_literal(order_numbers)}
    return _order_fields(await session.execute(_ORDERS_BY_NUMBER, params))


def _order_fields(rows: Result[Any]) -> dict[str, OrderFields]:
    return {
        row.order_number: OrderFields(
            id=row.id,
            customer_email=row.customer_email,
            customer_postal_code=row.customer_postal_code,
            promised_delivery_on=row.promised_delivery_on,
            claimed_status=row.claimed_status,
        )
        for row in rows
    }


_LABELS_ON_ORDERS = text("""
    SELECT s.order_id, s.id, s.label_created_at, s.service, l.sequence, l.carrier,
        l.tracking_number
    FROM (
        SELECT DISTINCT hit.shipment_id FROM unnest(CAST(:numbers AS TEXT[])) AS n(number)
        CROSS JOIN LATERAL (
            SELECT shipment_id FROM legs WHERE tracking_number = n.number OFFSET 0
        ) AS hit
    ) AS matched
    CROSS JOIN LATERAL (
        SELECT * FROM shipments
        WHERE id = matched.shipment_id AND order_id = ANY(CAST(:order_ids AS INTEGER[]))
        OFFSET 0
    ) AS s
    CROSS JOIN LATERAL (SELECT * FROM legs WHERE shipment_id = s.id OFFSET 0) AS l
""")


async def list_labels_on_orders(
    session: AsyncSession, *, order_ids: Sequence[int], tracking_numbers: Sequence[str]
) -> list[LabelLeg]:
    """Every leg of each shipment of these orders that has a leg with one of these numbers."""
    if not order_ids or not tracking_numbers:
        return []
    params = {
        "numbers": db.array_literal(tracking_numbers),
        "order_ids": db.array_literal(order_ids),
    }
    return [LabelLeg(*row) for row in await session.execute(_LABELS_ON_ORDERS, params)]


_SHIPMENT_COUNTS = text("""
    SELECT o.id, (SELECT count(*) FROM shipments WHERE order_id = o.id)
    FROM unnest(CAST(:order_ids AS INTEGER[])) AS o(id)
""")


async def count_shipments_by_order(
    session: AsyncSession, order_ids: Sequence[int]
) -> dict[int, int]:
    """Order id -> its number of shipments (PostgreSQL)."""
    if not order_ids:
        return {}
    params = {"order_ids": db.array_literal(order_ids)}
    return {row[0]: row[1] for row in await session.execute(_SHIPMENT_COUNTS, params)}


# The candidates as arrays, one a column: the statement's text does not grow with their number.
# Each is probed on its own (LATERAL ... LIMIT 1: an index lookup), whatever the statistics say:
# right after a bulk import they lag behind the legs just inserted, and a planner that believes
# legs small sorts all of them for a merge join.
_RECENT_USES_ELSEWHERE = text(
    """
    SELECT u.key
    FROM unnest(
        CAST(:keys AS INTEGER[]), CAST(:carriers AS TEXT[]), CAST(:numbers AS TEXT[]),
        CAST(:starts AS TIMESTAMPTZ[]), CAST(:ends AS TIMESTAMPTZ[]), CAST(:order_ids AS INTEGER[])
    ) AS u(key, carrier, tracking_number, window_start, window_end, order_id)
    CROSS JOIN LATERAL (
        SELECT 1 FROM legs JOIN shipments ON shipments.id = legs.shipment_id
        WHERE legs.carrier = u.carrier AND legs.tracking_number = u.tracking_number
            AND legs.label_created_at > u.window_start AND legs.label_created_at < u.window_end
            AND shipments.order_id <> u.order_id
        LIMIT 1
    ) AS used
    """
)


async def list_recent_uses_elsewhere(
    session: AsyncSession, candidates: Sequence[NumberUse]
) -> set[int]:
    """The keys of the candidates whose number another order uses inside the candidate's
    window: `find_recent_use_elsewhere` for many numbers in one statement (PostgreSQL)."""
    if not candidates:
        return set()
    names = ("keys", "carriers", "numbers", "starts", "ends", "order_ids")
    columns = zip(*candidates, strict=True)
    params = {name: db.array_literal(column) for name, column in zip(names, columns, strict=True)}
    return set((await session.execute(_RECENT_USES_ELSEWHERE, params)).scalars())


async def insert_orders(session: AsyncSession, rows: Sequence[dict[str, object]]) -> dict[str, int]:
    """Inserts new orders (PostgreSQL); returns order number -> id."""
    ids = await db.insert_arrays(session, _table(Order), rows, returning_ids=True)
    return {str(row["order_number"]): id_ for row, id_ in zip(rows, ids, strict=True)}


async def insert_shipments(session: AsyncSession, rows: Sequence[dict[str, object]]) -> list[int]:
    """Inserts shipments (PostgreSQL); returns their ids in the order of `rows`."""
    return await db.insert_arrays(session, _table(Shipment), rows, returning_ids=True)


async def insert_legs(session: AsyncSession, rows: Sequence[dict[str, object]]) -> list[int]:
    """Inserts legs (PostgreSQL); returns their ids in the order of `rows`."""
    return await db.insert_arrays(session, _table(Leg), rows, returning_ids=True)


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)
