from __future__ import annotations

import logging

from app.alerts.dispatch import DispatchReport, dispatch_due_notifications
from app.wiring import ScheduledJob, WorkerContext

logger = logging.getLogger("app.alerts.jobs")


async def dispatch_alerts(context: WorkerContext) -> DispatchReport:
    """Sends every due outbox message once more (at least once, same idempotency key)."""
    report = await dispatch_due_notifications(
        context.sessionmaker,
        channels=context.channels,
        worker_id=context.worker_id,
        now=context.clock(),
    )
    if report.claimed:
        logger.info(
            "alert messages: %d delivered, %d to retry, %d dead",
            report.delivered,
            report.retried,
            report.dead,
        )
    return report


JOBS = (ScheduledJob(dispatch_alerts, every_seconds=lambda s: s.dispatch_interval_seconds),)
