from __future__ import annotations

import logging

from app.alerts.dispatch import DispatchReport, dispatch_due_notifications
from app.alerts.notifier import NotifyReport, notify
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


async def notify_items(context: WorkerContext) -> NotifyReport:
    """Writes the grouped messages, escalations, pages and summaries that are due (the
    dispatcher sends them)."""
    async with context.sessionmaker() as session, session.begin():
        report = await notify(session, now=context.clock(), policy=context.notifier)
    if report.messages or report.escalated or report.pages or report.summaries:
        logger.info(
            "work items: %d grouped messages naming %d new items, %d escalated, "
            "%d PagerDuty events, %d daily summaries",
            report.messages,
            report.announced,
            report.escalated,
            report.pages,
            report.summaries,
        )
    return report


JOBS = (
    ScheduledJob(notify_items, every_seconds=lambda s: s.notify_interval_seconds),
    ScheduledJob(dispatch_alerts, every_seconds=lambda s: s.dispatch_interval_seconds),
)
