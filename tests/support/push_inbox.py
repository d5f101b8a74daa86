"""Reading the push inbox in a test as the worker's job does, on the test's sessions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from app.tracking.jobs import process_carrier_pushes
from app.tracking.models import CarrierPush, LegEvent
from app.wiring import build_worker_context
from tests.factories import create_order


async def process_inbox(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]
) -> int:
    """Runs the worker's push job once; returns how many pushes it processed."""
    async with httpx.AsyncClient(trust_env=False) as http:
        context = build_worker_context(
            Settings(), sessionmaker=sessionmaker, http=http, clock=clock
        )
        return await process_carrier_pushes(context)


async def stored_pushes(session: AsyncSession) -> list[CarrierPush]:
    rows = await session.execute(select(CarrierPush).order_by(CarrierPush.id))
    return list(rows.scalars())


async def count_events(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(LegEvent)) or 0)


async def create_ups_leg(
    sessionmaker: async_sessionmaker[AsyncSession], number: str, *, label_at: datetime
) -> int:
    """One order of one UPS label with `number`, printed (and imported) at `label_at`,
    committed; returns its leg's id: the leg the tests' pushes are about."""
    async with sessionmaker() as session:
        _, (leg,) = await create_order(
            session,
            now=label_at,
            label_at=label_at,
            shipments=[{"tracking_number": number, "carrier": "ups", "label_created_at": ""}],
        )
        await session.commit()
    return int(leg.id)
