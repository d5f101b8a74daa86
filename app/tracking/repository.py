from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.tracking.models import LegEvent


async def list_events_for_legs(session: AsyncSession, leg_ids: Sequence[int]) -> list[LegEvent]:
    """Every stored event of these legs, newest first."""
    if not leg_ids:
        return []
    stmt = (
        select(LegEvent)
        .where(LegEvent.leg_id.in_(leg_ids))
        .order_by(LegEvent.occurred_at.desc(), LegEvent.id.desc())
    )
    return list((await session.execute(stmt)).scalars())
