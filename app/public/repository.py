from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.shipments.models import Order


async def find_order_by_key(session: AsyncSession, order_key: str) -> Order | None:
    """The order whose number, typed any way, is `order_key` (the oldest if two collide)."""
    stmt = select(Order).where(Order.order_key == order_key).order_by(Order.id).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()
