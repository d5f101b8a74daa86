"""Tracking use cases that are not the poller: events a carrier pushes to us."""

from __future__ import annotations

import logging
from datetime import datetime
from random import Random

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.errors import Conflict
from app.tracking import claims, recording
from app.tracking.judging import JudgingPolicy, judge_answer
from app.tracking.models import WebhookDelivery
from app.tracking.webhooks import PushedTracking, PushReceipt, build_snapshot
from carriers.numbers import normalize_tracking_number

logger = logging.getLogger("app.tracking.service")


async def accept_push(
    session: AsyncSession,
    *,
    carrier: str,
    delivery_id: str,
    push: PushedTracking,
    now: datetime,
    policy: JudgingPolicy,
) -> PushReceipt:
    """Feeds pushed events into the same idempotent pipeline as polls; a replay is refused."""
    try:
        async with session.begin_nested():
            session.add(WebhookDelivery(carrier=carrier, delivery_id=delivery_id, received_at=now))
            await session.flush()
    except IntegrityError:
        raise Conflict(f"Delivery {delivery_id!r} was already received.") from None
    number = normalize_tracking_number(push.tracking_number)
    claim = await claims.lock_newest_leg(session, carrier=carrier, tracking_number=number)
    if claim is None:
        return PushReceipt(legs_matched=0, events_stored=0)
    outcome = judge_answer(
        claim, build_snapshot(carrier, number, push), now=now, policy=policy, rng=Random()
    )
    if outcome.set_aside:
        # A push we cannot read changes nothing; the leg's polls carry on and will show it.
        logger.error(
            "pushed %s event for %s could not be judged: %s", carrier, number, outcome.error
        )
        return PushReceipt(legs_matched=1, events_stored=0)
    recorded = await recording.record_outcomes(
        session, outcomes=[outcome], worker_id="webhook", now=now, source="webhook"
    )
    metrics.PUSHED_EVENTS_STORED.labels(carrier, "webhook").inc(recorded.events_stored)
    for reason in outcome.dropped_events:
        metrics.PUSHED_EVENTS_DROPPED.labels(carrier, reason).inc()
    return PushReceipt(legs_matched=1, events_stored=recorded.events_stored)
