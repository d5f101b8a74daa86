"""Leases on due legs: any number of workers share the work, none polls a leg twice for the
same due time, and a dead worker's legs come back when its lease runs out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import db
from app.shipments import poll_schedule
from app.shipments.models import Leg, Order, Shipment
from app.tracking import subscriptions
from app.tracking.progress import LegProgress


@dataclass(frozen=True, slots=True)
class LegClaim:
    id: int
    shipment_id: int
    order_id: int
    carrier: str
    tracking_number: str
    service: str | None
    label_created_at: datetime
    alert_deadline_at: datetime | None
    consecutive_failures: int
    last_poll_day: date | None
    progress: LegProgress
    taken_over_from: str | None  # a previous owner whose lease ran out
    pushed: bool = False  # polled only to confirm after this poll (is_pushed, cadence.py)
    covered_since: datetime | None = None  # subscriptions.covered_since
    subscription_state: str | None = None  # its own per-number subscription's, if it has one
    handoff: bool = False  # a hand-off number (handoff_from_leg_id): another account's label


_CLAIM_COLUMNS = (
    Leg.id,
    Leg.shipment_id,
    Shipment.order_id,
    Leg.carrier,
    Leg.tracking_number,
    Leg.service,
    Leg.label_created_at,
    Leg.alert_deadline_at,
    Leg.consecutive_failures,
    Leg.last_poll_day,
    Leg.lease_owner,
    Leg.status,
    Leg.status_changed_at,
    Leg.last_event_at,
    Leg.accepted_at,
    Leg.handed_off_at,
    Leg.delivered_at,
    Leg.estimated_delivery_at,
    subscriptions.is_pushed().label("pushed"),
    subscriptions.covered_since().label("covered_since"),
    subscriptions.own_subscription_state().label("subscription_state"),
    Leg.handoff_from_leg_id.is_not(None).label("handoff"),
)


async def claim_due_legs(
    session: AsyncSession,
    *,
    carrier: str,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    limit: int,
) -> list[LegClaim]:
    """Leases up to `limit` due legs of `carrier`, nearest alert deadline first."""
    stmt = (
        select(*_CLAIM_COLUMNS)
        .join(Shipment, Shipment.id == Leg.shipment_id)
        .where(
            # `Leg.active`, not `IS true`: only this form matches the partial index's WHERE.
            Leg.active,
            Leg.carrier == carrier,
            Leg.next_poll_at <= now,
            (Leg.lease_until.is_(None)) | (Leg.lease_until < now),
        )
        .order_by(Leg.alert_deadline_at.asc().nulls_last(), Leg.next_poll_at, Leg.id)
        .limit(limit)
    )
    rows = (await session.execute(db.lock_rows(stmt, of=Leg, skip_locked=True))).all()
    if not rows:
        return []
    await session.execute(
        update(Leg)
        .where(Leg.id.in_([row.id for row in rows]))
        .values(lease_owner=worker_id, lease_until=now + lease)
    )
    return [_claim(row) for row in rows]


def _claim(row: object) -> LegClaim:
    r = row._mapping  # type: ignore[attr-defined]
    return LegClaim(
        id=r["id"],
        shipment_id=r["shipment_id"],
        order_id=r["order_id"],
        carrier=r["carrier"],
        tracking_number=r["tracking_number"],
        service=r["service"],
        label_created_at=r["label_created_at"],
        alert_deadline_at=r["alert_deadline_at"],
        consecutive_failures=r["consecutive_failures"],
        last_poll_day=r["last_poll_day"],
        taken_over_from=r["lease_owner"],
        pushed=bool(r["pushed"]),
        covered_since=r["covered_since"],
        subscription_state=r["subscription_state"],
        handoff=bool(r["handoff"]),
        progress=LegProgress(
            status=r["status"],
            status_changed_at=r["status_changed_at"],
            last_event_at=r["last_event_at"],
            accepted_at=r["accepted_at"],
            handed_off_at=r["handed_off_at"],
            delivered_at=r["delivered_at"],
            estimated_delivery_at=r["estimated_delivery_at"],
        ),
    )


async def lock_newest_leg(
    session: AsyncSession, *, carrier: str, tracking_number: str
) -> LegClaim | None:
    """The newest leg with this number (carriers recycle numbers), locked for an update.

    Locks the leg's order first, then the leg: the order every writer takes (docs/locking.md)."""
    found = await _newest_leg(session, carrier=carrier, tracking_number=tracking_number, lock=False)
    if found is None or session.get_bind().dialect.name != "postgresql":
        return found
    await session.execute(db.lock_rows(select(Order.id).where(Order.id == found.order_id)))
    return await _newest_leg(session, carrier=carrier, tracking_number=tracking_number, lock=True)


async def find_newest_leg(
    session: AsyncSession, *, carrier: str, tracking_number: str
) -> LegClaim | None:
    """The newest leg with this number, not locked (to learn its order before locking)."""
    return await _newest_leg(session, carrier=carrier, tracking_number=tracking_number, lock=False)


async def _newest_leg(
    session: AsyncSession, *, carrier: str, tracking_number: str, lock: bool
) -> LegClaim | None:
    stmt = (
        select(*_CLAIM_COLUMNS)
        .join(Shipment, Shipment.id == Leg.shipment_id)
        .where(Leg.carrier == carrier, Leg.tracking_number == tracking_number)
        .order_by(Leg.label_created_at.desc(), Leg.id.desc())
        .limit(1)
    )
    if lock:
        stmt = db.lock_rows(stmt, of=Leg)
    row = (await session.execute(stmt)).first()
    return _claim(row) if row is not None else None


async def reschedule_backed_off_legs(session: AsyncSession, *, carrier: str, now: datetime) -> int:
    """Makes the carrier's failed-and-backed-off legs due now; skips rows others hold (never
    waits, so it cannot deadlock with the sweep)."""
    stmt = (
        select(Leg.id)
        .where(
            Leg.carrier == carrier,
            Leg.active,
            Leg.consecutive_failures > 0,
            Leg.next_poll_at > now,
        )
        .order_by(Leg.id)
    )
    ids = list((await session.execute(db.lock_rows(stmt, skip_locked=True))).scalars())
    await poll_schedule.poll_now(session, ids, now=now)
    return len(ids)


async def count_leased(session: AsyncSession, *, carrier: str, now: datetime) -> int:
    """Legs of `carrier` that some worker leases now: their calls are on their way."""
    stmt = select(func.count()).where(
        Leg.carrier == carrier, Leg.lease_until.is_not(None), Leg.lease_until > now
    )
    return int(await session.scalar(stmt) or 0)


async def release_legs(session: AsyncSession, *, leg_ids: list[int], worker_id: str) -> None:
    """Gives back leases we will not use now (rate limit reached); the legs stay due."""
    if leg_ids:
        # Row locks in id order, as the rules' sweep takes them: a multi-row UPDATE locks in
        # whatever order it scans, and two writers locking legs in different orders deadlock.
        await session.execute(
            db.lock_rows(select(Leg.id).where(Leg.id.in_(leg_ids)).order_by(Leg.id))
        )
        await session.execute(
            update(Leg)
            .where(Leg.id.in_(leg_ids), Leg.lease_owner == worker_id)
            .values(lease_owner=None, lease_until=None)
        )


async def put_off_legs(
    session: AsyncSession, due_at: Mapping[int, datetime], *, worker_id: str
) -> None:
    """Leased legs that need no call now are due again at `due_at` (leg id -> when) and their
    leases given back; a leg another worker has taken over since is left to it."""
    if not due_at:
        return
    ids = sorted(due_at)
    await session.execute(db.lock_rows(select(Leg.id).where(Leg.id.in_(ids)).order_by(Leg.id)))
    table = cast(Table, Leg.__table__)  # a Core executemany: one UPDATE, a parameter set a leg
    legs = table.c
    await session.execute(
        update(table)
        .where(legs.id == bindparam("leg_id"), legs.lease_owner == worker_id)
        .values(**poll_schedule.put_off(bindparam("due_at")), lease_owner=None, lease_until=None),
        [{"leg_id": leg_id, "due_at": due_at[leg_id]} for leg_id in ids],
    )


async def oldest_due_at(session: AsyncSession, *, now: datetime) -> datetime | None:
    """The longest-waiting due leg's due time: the lag between due and polled."""
    stmt = select(func.min(Leg.next_poll_at)).where(Leg.active, Leg.next_poll_at <= now)
    return (await session.execute(stmt)).scalar_one_or_none()
