from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from app import metrics
from app.db import retry_on_conflict, session_scope
from app.reconciliation import service, sweep, system_alerts
from app.wiring import ScheduledJob, WorkerContext

logger = logging.getLogger("app.reconciliation.jobs")
SWEEP_BATCH = 500
# One run judges batches until this much time has passed; polling and delivery share the process.
RUN_BUDGET = timedelta(seconds=30)
# Connections that open a midnight's planned alerts side by side on PostgreSQL: one per core, as
# a third only contends on two cores (figures in BENCHMARKS.md, section 1); SQLite has one writer.
OPENING_CONNECTIONS = 2


async def open_planned_alerts(context: WorkerContext) -> int:
    """Opens the alerts planned for deadlines that have just passed; returns how many opened.

    A failure here only delays those alerts by moments: the sweep that follows judges the same
    orders and opens whatever is due."""
    now = context.clock()
    async with context.sessionmaker() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
    parts = OPENING_CONNECTIONS if postgres else 1

    async def one_part(index: int) -> int:
        try:
            async with session_scope(context.sessionmaker) as session:
                opened = await service.open_planned_alerts(
                    session, now=now, config=context.reconciliation, part=(index, parts)
                )
            return len(opened)
        except Exception:
            logger.exception("opening planned alerts failed; the sweep will open them instead")
            return 0

    opened = sum(await asyncio.gather(*(one_part(i) for i in range(parts))))
    if opened:
        logger.info("opened %d planned alerts", opened)
    return opened


@retry_on_conflict  # every batch commits on its own: a rerun goes on with what is due
async def reconcile_due_orders(context: WorkerContext) -> int:
    """Opens the alerts planned for deadlines that just passed, then judges every order whose
    next look is due, in batches, until none is due or the run's time budget is spent (the next
    run goes on where this one stopped, so no run holds the worker for long)."""
    await open_planned_alerts(context)
    judged = 0
    started = time.monotonic()
    while True:
        async with session_scope(context.sessionmaker) as session:
            outcome = await sweep.reconcile_due_orders(
                session, now=context.clock(), config=context.reconciliation, limit=SWEEP_BATCH
            )
        verdicts = outcome.verdicts
        judged += len(verdicts)
        findings = sum(len(v.findings) for v in verdicts)
        if verdicts:
            logger.info("judged %d orders: %d findings", len(verdicts), findings)
        if outcome.set_aside:
            metrics.QUARANTINED.labels("rules", "order").inc(len(outcome.set_aside))
            logger.warning("set aside %d orders whose judgement raised", len(outcome.set_aside))
        if len(verdicts) + len(outcome.set_aside) < SWEEP_BATCH:
            return judged
        if time.monotonic() - started > RUN_BUDGET.total_seconds():
            logger.info("sweep stopped after its %s budget; the next run goes on", RUN_BUDGET)
            return judged


@retry_on_conflict
async def check_carrier_outages(context: WorkerContext) -> None:
    async with session_scope(context.sessionmaker) as session:
        findings = await service.check_carrier_outages(
            session, now=context.clock(), config=context.reconciliation
        )
    for finding in findings:
        logger.warning("carrier unreachable: %s", finding.explanation)


@retry_on_conflict
async def check_quarantine(context: WorkerContext) -> None:
    async with session_scope(context.sessionmaker) as session:
        findings = await system_alerts.check_quarantine(
            session, now=context.clock(), policy=context.reconciliation.policy
        )
    for finding in findings:
        logger.warning("quarantine: %s", finding.explanation)


@retry_on_conflict
async def check_push_channels(context: WorkerContext) -> None:
    async with session_scope(context.sessionmaker) as session:
        findings = await system_alerts.check_push_channels(
            session,
            now=context.clock(),
            policy=context.reconciliation.policy,
            calendars=context.reconciliation.calendars,
        )
    for finding in findings:
        logger.warning("push silent: %s", finding.explanation)


JOBS = (
    ScheduledJob(reconcile_due_orders, every_seconds=lambda s: s.reconcile_interval_seconds),
    ScheduledJob(check_carrier_outages, every_seconds=lambda s: 60.0),
    ScheduledJob(check_quarantine, every_seconds=lambda s: 60.0),
    ScheduledJob(check_push_channels, every_seconds=lambda s: 60.0),
)
