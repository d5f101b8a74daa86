from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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
