from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import db
from app.audit.models import AuditEntry


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    order_id: int | None = None,
    detail: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,  # None: now, by the clock on the wall
) -> AuditEntry:
    entry = AuditEntry(
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        order_id=order_id,
        detail=detail or {},
    )
    if occurred_at is not None:
        entry.occurred_at = occurred_at
    session.add(entry)
    return entry


async def list_for_order(
    session: AsyncSession, order_id: int, *, limit: int = 200
) -> list[AuditEntry]:
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.order_id == order_id)
        .order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def list_for_entity(
    session: AsyncSession, entity_type: str, entity_id: str, *, limit: int = 200
) -> list[AuditEntry]:
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == entity_id)
        .order_by(AuditEntry.occurred_at, AuditEntry.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def record_many(session: AsyncSession, entries: Sequence[dict[str, Any]]) -> None:
    """Inserts audit rows in one statement (PostgreSQL), in the order given (their ids follow
    it); each entry has `record`'s keyword arguments."""
    if entries:
        now = db.utcnow()
        rows = [{"order_id": None, "detail": {}, "occurred_at": now, **entry} for entry in entries]
        await db.insert_arrays(
            session, cast(Table, AuditEntry.__table__), rows, returning_ids=False
        )
