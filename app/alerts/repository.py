from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.models import Alert

UNRESOLVED_STATUSES = ("open", "acknowledged")


async def list_unresolved_alerts_for_orders(
    session: AsyncSession, order_ids: Sequence[int]
) -> list[Alert]:
    if not order_ids:
        return []
    stmt = (
        select(Alert)
        .where(Alert.order_id.in_(order_ids), Alert.status.in_(UNRESOLVED_STATUSES))
        .order_by(Alert.opened_at, Alert.id)
    )
    return list((await session.execute(stmt)).scalars())
