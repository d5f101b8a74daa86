"""Tracking use cases that are not the poller: receiving what a carrier pushes to us. A push is
stored in the inbox as received and read by the worker (app/tracking/pushes.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.errors import Conflict
from app.tracking import inbox
from app.tracking.models import WebhookDelivery


class PushAccepted(BaseModel):
    """The push is stored; the worker records its events shortly."""

    accepted: bool = True
    duplicate: bool = Field(
        default=False, description="the same push was stored before; it is stored once"
    )


async def accept_push(
    session: AsyncSession, *, carrier: str, delivery_id: str, body: str, now: datetime
) -> PushAccepted:
    """Stores a signed normalized push (POST /v1/webhooks/{carrier}); a replay is refused."""
    try:
        async with session.begin_nested():
            session.add(WebhookDelivery(carrier=carrier, delivery_id=delivery_id, received_at=now))
            await session.flush()
    except IntegrityError:
        raise Conflict(f"Delivery {delivery_id!r} was already received.") from None
    return await store_carrier_push(
        session,
        carrier=carrier,
        push_format=inbox.FIRSTSCAN,
        body=body,
        key=inbox.dedupe_key(delivery_id.encode()),
        now=now,
    )


async def store_carrier_push(
    session: AsyncSession, *, carrier: str, push_format: str, body: str, key: str, now: datetime
) -> PushAccepted:
    """Stores an authenticated push in the inbox, once per key."""
    new = await inbox.store_push(
        session, carrier=carrier, push_format=push_format, body=body, key=key, now=now
    )
    metrics.PUSHES_RECEIVED.labels(carrier, "stored" if new else "duplicate").inc()
    return PushAccepted(duplicate=not new)
