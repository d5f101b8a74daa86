from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app import db
from app.reconciliation.facts import CarrierHealth
from app.reconciliation.facts_builder import StoredEvent
from app.shipments.models import Leg, Order, Shipment
from app.tracking.models import CarrierState, LegEvent


async def claim_due_order_ids(session: AsyncSession, *, now: datetime, limit: int) -> list[int]:
    """Orders due for a look, locked with their legs (docs/locking.md); on PostgreSQL orders that
    another writer holds are skipped."""
    stmt = (
        select(Order.id)
        .where(Order.reconcile_due_at <= now)
        .order_by(Order.reconcile_due_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name != "postgresql":
        return list((await session.execute(stmt)).scalars())
    order_ids = list((await session.execute(db.lock_rows(stmt, skip_locked=True))).scalars())
    if order_ids:
        # Every writer locks orders before legs and legs in id order (pollers do too); the
        # sweep's own flushes would otherwise lock legs in whatever order the orders come.
        await session.execute(
            db.lock_rows(
                select(Leg.id)
                .join(Shipment, Shipment.id == Leg.shipment_id)
                .where(Shipment.order_id.in_(order_ids))
                .order_by(Leg.id),
                of=Leg,
            )
        )
    return order_ids


async def count_legs(session: AsyncSession, order_ids: Sequence[int]) -> dict[int, int]:
    """Order id -> how many legs it has."""
    rows = await session.execute(
        select(Shipment.order_id, func.count(Leg.id))
        .join(Leg, Leg.shipment_id == Shipment.id)
        .where(Shipment.order_id.in_(order_ids))
        .group_by(Shipment.order_id)
    )
    return dict(rows.all())


async def lock_waiting_orders(
    session: AsyncSession, order_ids: Sequence[int], *, now: datetime
) -> list[int]:
    """Of `order_ids`, those whose next look is still ahead, locked against a sweeper judging
    them meanwhile (PostgreSQL; SQLite's one writer needs no lock)."""
    stmt = (
        select(Order.id)
        .where(Order.id.in_(order_ids), Order.reconcile_due_at > now)
        .order_by(Order.id)
    )
    return list((await session.execute(db.lock_rows(stmt, skip_locked=True))).scalars())


async def list_orders_with_legs(session: AsyncSession, order_ids: Sequence[int]) -> list[Order]:
    stmt = (
        select(Order)
        .where(Order.id.in_(order_ids))
        .options(selectinload(Order.shipments).selectinload(Shipment.legs))
        .order_by(Order.id)
    )
    return list((await session.execute(stmt)).scalars())


async def list_events_for_legs(
    session: AsyncSession, leg_ids: Sequence[int]
) -> Sequence[StoredEvent]:
    """The scans the rules read, as plain rows (named like LegEvent's columns): a big order has
    thousands, and turning each into an ORM object held the event loop for tens of ms."""
    if not leg_ids:
        return []
    stmt = select(
        LegEvent.id,
        LegEvent.leg_id,
        LegEvent.status,
        LegEvent.occurred_at,
        LegEvent.utc_offset_minutes,
        LegEvent.carrier_code,
        LegEvent.description,
        LegEvent.location_city,
        LegEvent.location_state,
        LegEvent.location_country,
    ).where(LegEvent.leg_id.in_(leg_ids))
    rows: Sequence[StoredEvent] = (await session.execute(stmt)).all()
    return rows


async def iter_active_order_ids(session: AsyncSession, *, batch: int) -> AsyncIterator[list[int]]:
    last_id = 0
    while True:
        stmt = (
            select(Shipment.order_id)
            .join(Leg, Leg.shipment_id == Shipment.id)
            .where(Leg.active.is_(True), Shipment.order_id > last_id)
            .group_by(Shipment.order_id)
            .order_by(Shipment.order_id)
            .limit(batch)
        )
        ids = list((await session.execute(stmt)).scalars())
        if not ids:
            return
        yield ids
        last_id = ids[-1]


async def list_carrier_health(session: AsyncSession) -> list[tuple[CarrierHealth, str | None]]:
    """Each polled carrier's health, with the kind of its last error."""
    # In carrier order: two workers' outage checks then open and close alerts in the same order.
    rows = (await session.execute(select(CarrierState).order_by(CarrierState.carrier))).scalars()
    return [
        (
            CarrierHealth(
                carrier=state.carrier,
                last_success_at=state.last_success_at,
                failing_since=state.failing_since,
                last_error=state.last_error,
            ),
            state.last_error_kind,
        )
        for state in rows
    ]
