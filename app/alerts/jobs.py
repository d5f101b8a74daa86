from __future__ import annotations

import logging

from app.alerts.dispatch import DispatchReport, dispatch_due_notifications
from app.alerts.throttle import DestinationThrottle
from app.wiring import ScheduledJob, WorkerContext

logger = logging.getLogger("app.alerts.jobs")

BATCH_SIZE = 50


async def dispatch_alerts(context: WorkerContext) -> DispatchReport:
    """Sends every due outbox message once more (at least once, same idempotency key), paced
    per destination; passes follow each other while a pass found a full batch due."""
    throttle = DestinationThrottle(
        context.sessionmaker, context.destination_limits, clock=context.clock
    )
    total = DispatchReport()
    while True:
        report = await dispatch_due_notifications(
            context.sessionmaker,
            channels=context.channels,
            worker_id=context.worker_id,
            now=context.clock(),
            batch_size=BATCH_SIZE,
            throttle=throttle,
        )
        _add(total, report)
        # Every claimed row was sent, deferred to its destination's next free time or released
        # for lack of time, so a full batch again means more was due, never the same rows.
        if report.claimed < BATCH_SIZE:
            break
    if total.claimed:
        logger.info(
            "alert messages: %d delivered, %d to retry, %d dead, %d waiting for their destination",
            total.delivered,
            total.retried,
            total.dead,
            total.deferred,
        )
    return total


def _add(total: DispatchReport, report: DispatchReport) -> None:
    total.claimed += report.claimed
    total.delivered += report.delivered
    total.retried += report.retried
    total.dead += report.dead
    total.released += report.released
    total.deferred += report.deferred
    total.unchanged += report.unchanged


JOBS = (ScheduledJob(dispatch_alerts, every_seconds=lambda s: s.dispatch_interval_seconds),)
