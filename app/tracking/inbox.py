"""The push inbox (`carrier_pushes`): every push a carrier sends is stored here by the request
that received it and read later by the worker, so the carrier gets its 2xx at once and a crash
after it loses nothing.

A row is `pending` until a worker has recorded its events (`processed`) or given up on it
(`failed`: a body the carrier's parser cannot read, or MAX_ATTEMPTS errors). A worker takes a
row with FOR UPDATE SKIP LOCKED and marks it in the same transaction as the events it records,
so a worker killed half-way leaves the row pending and the next one does it again; recording is
idempotent (each event is stored once by its dedupe key).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import db
from app.tracking.models import CarrierPush

PENDING, PROCESSED, FAILED = "pending", "processed", "failed"
# Body shapes: the signed normalized push of POST /v1/webhooks/{carrier}, and each carrier's own.
FIRSTSCAN = "firstscan"
UPS_TRACK_ALERT = "ups_track_alert"
USPS_SUBSCRIPTION = "usps_subscription"
FEDEX_AIV = "fedex_aiv"
# An error that is not about the body (our bug, a constraint) is retried this many times in all.
MAX_ATTEMPTS = 5
ERROR_CHARS = 1000


def dedupe_key(identity: bytes) -> str:
    """The inbox key of a push: the same identity (delivery id, or body) gives the same key."""
    return hashlib.sha256(identity).hexdigest()


async def store_push(
    session: AsyncSession, *, carrier: str, push_format: str, body: str, key: str, now: datetime
) -> bool:
    """Stores the push unless one with the same key is stored; True when it was new."""
    stmt = db.insert_ignoring_duplicates(
        session, CarrierPush.__table__, unique=["carrier", "format", "dedupe_key"]
    ).values(
        carrier=carrier,
        format=push_format,
        received_at=now,
        body=body,
        dedupe_key=key,
        status=PENDING,
        attempts=0,
        numbers=0,
        unknown_numbers=0,
        events_stored=0,
    )
    stored = await session.execute(stmt.returning(CarrierPush.id))
    return stored.scalar_one_or_none() is not None


async def list_pending_ids(session: AsyncSession, *, limit: int) -> list[int]:
    """Up to `limit` pending pushes, oldest first (a carrier's order, as far as it kept one)."""
    stmt = select(CarrierPush.id).where(CarrierPush.status == PENDING)
    return list((await session.execute(stmt.order_by(CarrierPush.id).limit(limit))).scalars())


async def lock_pending(session: AsyncSession, push_id: int) -> CarrierPush | None:
    """The push, locked, if it is still pending and no other worker holds it."""
    stmt = select(CarrierPush).where(CarrierPush.id == push_id, CarrierPush.status == PENDING)
    return await session.scalar(db.lock_rows(stmt, skip_locked=True))


async def mark_processed(
    session: AsyncSession,
    push: CarrierPush,
    *,
    numbers: int,
    unknown_numbers: int,
    events_stored: int,
    now: datetime,
) -> None:
    push.status = PROCESSED
    push.attempts += 1
    push.processed_at = now
    push.numbers = numbers
    push.unknown_numbers = unknown_numbers
    push.events_stored = events_stored
    push.last_error = None
    await session.flush()


async def record_failure(
    session: AsyncSession, push_id: int, *, error: str, now: datetime, final: bool
) -> str:
    """Counts a failed try; the push stays pending for another one unless this was `final` or
    the last allowed. Returns the push's status afterwards."""
    push = await session.scalar(db.lock_rows(select(CarrierPush).where(CarrierPush.id == push_id)))
    if push is None or push.status != PENDING:
        return push.status if push is not None else PROCESSED
    push.attempts += 1
    push.last_error = error[:ERROR_CHARS]
    if final or push.attempts >= MAX_ATTEMPTS:
        push.status = FAILED
        push.processed_at = now
    await session.flush()
    return push.status


async def forget_pushes(
    session: AsyncSession, *, status: str, processed_before: datetime, limit: int
) -> int:
    """Deletes up to `limit` of the oldest pushes in `status` finished before the cut-off."""
    oldest = (
        select(CarrierPush.id)
        .where(CarrierPush.status == status, CarrierPush.processed_at < processed_before)
        .order_by(CarrierPush.id)
        .limit(limit)
    )
    ids = list((await session.execute(oldest)).scalars())
    if ids:
        await session.execute(delete(CarrierPush).where(CarrierPush.id.in_(ids)))
    return len(ids)


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    """Pushes in the inbox by status."""
    stmt = select(CarrierPush.status, func.count()).group_by(CarrierPush.status)
    return {str(status): int(count) for status, count in (await session.execute(stmt)).all()}
