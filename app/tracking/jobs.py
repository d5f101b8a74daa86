from __future__ import annotations

import logging
from datetime import timedelta

from app import metrics
from app.db import session_scope
from app.tracking import claims, repository
from app.tracking.cadence import CADENCE
from app.tracking.judging import JudgingPolicy
from app.tracking.poller import CarrierPollReport, Poller, PollerSettings
from app.wiring import ScheduledJob, WorkerContext

logger = logging.getLogger("app.tracking.jobs")


def build_poller(context: WorkerContext) -> Poller:
    settings = context.settings
    return Poller(
        context.sessionmaker,
        clients=context.clients,
        limits=context.limits,
        settings=PollerSettings(
            judging=JudgingPolicy(cadence=CADENCE),
            claim_size=settings.poll_claim_size,
            lease=timedelta(seconds=settings.lease_seconds),
            concurrency=settings.poll_concurrency,
        ),
        worker_id=context.worker_id,
        clock=context.clock,
    )


async def poll_due_legs(context: WorkerContext) -> list[CarrierPollReport]:
    """Polls every due leg; logs one line per carrier that did anything."""
    reports = await build_poller(context).poll_due()
    for report in reports:
        if report.legs or report.waiting_until:
            logger.info(
                "polled %s: %d legs, %d calls, %d new events, %d failed, %d legs added%s",
                report.carrier,
                report.legs,
                report.calls,
                report.events_stored,
                report.failures,
                report.legs_added,
                f", waiting until {report.waiting_until:%H:%M:%S}" if report.waiting_until else "",
            )
    async with session_scope(context.sessionmaker) as session:
        now = context.clock()
        oldest = await claims.oldest_due_at(session, now=now)
        metrics.DUE_LAG.set((now - oldest).total_seconds() if oldest else 0)
    return reports


# A pushed delivery's id is kept to refuse its replay, which its signed timestamp allows only
# within the webhook window of when it was sent: at most twice the longest window (2 x 1 h) after
# it arrived. A day is well beyond that, and keeps the table to about a day of pushes.
DELIVERY_MEMORY = timedelta(days=1)
FORGET_BATCH = 10_000


async def forget_old_webhook_deliveries(context: WorkerContext) -> int:
    """Deletes delivery ids too old to be replayed, a bounded batch a run."""
    async with session_scope(context.sessionmaker) as session:
        forgotten = await repository.forget_webhook_deliveries(
            session, received_before=context.clock() - DELIVERY_MEMORY, limit=FORGET_BATCH
        )
    if forgotten:
        logger.info("forgot %d webhook delivery ids older than %s", forgotten, DELIVERY_MEMORY)
    return forgotten


JOBS = (
    ScheduledJob(poll_due_legs, every_seconds=lambda s: s.poll_interval_seconds),
    ScheduledJob(forget_old_webhook_deliveries, every_seconds=lambda s: 600.0),
)
