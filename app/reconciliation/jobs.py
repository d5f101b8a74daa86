from __future__ import annotations

import logging

from app.db import session_scope
from app.reconciliation import service
from app.wiring import ScheduledJob, WorkerContext

logger = logging.getLogger("app.reconciliation.jobs")
SWEEP_BATCH = 500


async def reconcile_due_orders(context: WorkerContext) -> int:
    """Opens the alerts planned for deadlines that just passed, then judges every order whose
    next look is due, in batches, until none is due."""
    async with session_scope(context.sessionmaker) as session:
        opened = await service.open_planned_alerts(
            session, now=context.clock(), config=context.reconciliation
        )
    if opened:
        logger.info("opened %d planned alerts", len(opened))
    judged = 0
    while True:
        async with session_scope(context.sessionmaker) as session:
            verdicts = await service.reconcile_due_orders(
                session, now=context.clock(), config=context.reconciliation, limit=SWEEP_BATCH
            )
        judged += len(verdicts)
        findings = sum(len(v.findings) for v in verdicts)
        if verdicts:
            logger.info("judged %d orders: %d findings", len(verdicts), findings)
        if len(verdicts) < SWEEP_BATCH:
            return judged


async def check_carrier_outages(context: WorkerContext) -> None:
    async with session_scope(context.sessionmaker) as session:
        findings = await service.check_carrier_outages(
            session, now=context.clock(), config=context.reconciliation
        )
    for finding in findings:
        logger.warning("carrier unreachable: %s", finding.explanation)


JOBS = (
    ScheduledJob(reconcile_due_orders, every_seconds=lambda s: s.reconcile_interval_seconds),
    ScheduledJob(check_carrier_outages, every_seconds=lambda s: 60.0),
)
