from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.shipments.models import Leg, Shipment
from app.tracking.models import LegEvent, LegPartnerNumber, WebhookDelivery


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


async def list_orders_matching_partner_number(
    session: AsyncSession, *, lookup_key: str, limit: int
) -> list[tuple[int, datetime]]:
    """(order id, label time of the leg) for every leg a carrier said a partner carries on under
    this number."""
    stmt = (
        select(Shipment.order_id, Leg.label_created_at)
        .join(Leg, Leg.shipment_id == Shipment.id)
        .join(LegPartnerNumber, LegPartnerNumber.leg_id == Leg.id)
        .where(LegPartnerNumber.lookup_key == lookup_key)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in await session.execute(stmt)]


async def list_partner_numbers_for_legs(
    session: AsyncSession, leg_ids: Sequence[int]
) -> list[LegPartnerNumber]:
    """The partner numbers of these legs, in the order they were first seen."""
    if not leg_ids:
        return []
    stmt = (
        select(LegPartnerNumber)
        .where(LegPartnerNumber.leg_id.in_(leg_ids))
        .order_by(LegPartnerNumber.leg_id, LegPartnerNumber.first_seen_at, LegPartnerNumber.id)
    )
    return list((await session.execute(stmt)).scalars())


async def forget_webhook_deliveries(
    session: AsyncSession, *, received_before: datetime, limit: int
) -> int:
    """Deletes up to `limit` of the oldest delivery ids received before `received_before`."""
    oldest = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.received_at < received_before)
        .order_by(WebhookDelivery.received_at)
        .limit(limit)
    )
    ids = list((await session.execute(oldest)).scalars())
    if ids:
        await session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))
    return len(ids)
