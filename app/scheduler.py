"""`firstscan worker`: one process with its own in-memory APScheduler. Workers coordinate only
through the database (leases, carrier_states, outbox claims), so any number may run on
PostgreSQL; SQLite allows one, and a second one says so and exits."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import signal
import time
from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path
from typing import IO

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import make_url

from app import db
from app.alerts import jobs as alerts_jobs
from app.pacing import settle_heap
from app.quarantine.isolation import describe_error, is_outage
from app.reconciliation import jobs as reconciliation_jobs
from app.settings import Settings
from app.tracking import jobs as tracking_jobs
from app.wiring import ScheduledJob, WorkerContext, build_http_client, build_worker_context

logger = logging.getLogger("app.scheduler")

JOBS: tuple[ScheduledJob, ...] = (
    *tracking_jobs.JOBS,
    *reconciliation_jobs.JOBS,
    *alerts_jobs.JOBS,
)
# --once waits for a carrier's next rate slot when it is this close, and never runs longer
# than MAX_ONCE_SECONDS in all (a cron run must end).
MAX_ONCE_WAIT = timedelta(minutes=1)
MAX_ONCE_SECONDS = 15 * 60
SHUTDOWN_GRACE_SECONDS = 20.0


class WorkerAlreadyRunning(Exception):
    pass


@contextlib.contextmanager
def single_sqlite_worker(settings: Settings) -> Iterator[None]:
    """On SQLite, holds a lock file beside the database so a second worker cannot start."""
    if not settings.is_sqlite:
        yield
        return
    database = make_url(settings.database_url).database or "firstscan.db"
    lock_path = Path(database).with_name(Path(database).name + ".worker.lock")
    handle: IO[str] = lock_path.open("w")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkerAlreadyRunning(
                f"another firstscan worker is already running on the SQLite database "
                f"{database}; SQLite supports one worker process. Use PostgreSQL "
                f"(FIRSTSCAN_DATABASE_URL=postgresql://...) to run several."
            ) from None
        yield
    finally:
        handle.close()


async def run_once(context: WorkerContext) -> None:
    """One full pass of everything due: read pushes, poll (waiting for rate slots, not for
    tomorrow's quota or a long breaker cooldown), judge, deliver; then return."""
    started = time.monotonic()
    # Subscriptions first: a leg pushed from its label on needs no poll for its history.
    await tracking_jobs.subscribe_legs(context)
    await tracking_jobs.sync_account_subscriptions(context)
    while time.monotonic() - started < MAX_ONCE_SECONDS:
        await tracking_jobs.process_carrier_pushes(context)
        reports = await tracking_jobs.poll_due_legs(context)
        await reconciliation_jobs.reconcile_due_orders(context)
        now = context.clock()
        soon = [
            r.waiting_until
            for r in reports
            if r.waiting_until is not None and r.waiting_until - now <= MAX_ONCE_WAIT
        ]
        if soon:
            await asyncio.sleep(max(0.0, (min(soon) - now).total_seconds()))
        elif not any(r.legs for r in reports):
            break  # nothing was due any more (new hand-off legs are polled in the next round)
    await tracking_jobs.watch_push_channels(context)
    await reconciliation_jobs.check_carrier_outages(context)
    await reconciliation_jobs.check_push_channels(context)
    await reconciliation_jobs.check_quarantine(context)
    await alerts_jobs.notify_items(context)
    await alerts_jobs.dispatch_alerts(context)


async def run_job(job: ScheduledJob, context: WorkerContext) -> object:
    """One run of a job. An outage (the database gone, a connection killed) is one warning line:
    the job runs again at its next interval, and a traceback for each would bury real errors."""
    try:
        return await job.run(context)
    except Exception as error:
        if not is_outage(error):
            raise
        logger.warning(
            "%s stopped, the database is unavailable (%s); it runs again at its next interval",
            job.run.__name__,
            describe_error(error),
        )
        return None


async def run_forever(context: WorkerContext) -> None:
    scheduler = AsyncIOScheduler(timezone=UTC)
    for job in JOBS:
        scheduler.add_job(
            run_job,
            IntervalTrigger(seconds=job.every_seconds(context.settings), timezone=UTC),
            args=[job, context],
            id=job.run.__name__,
            max_instances=1,
            coalesce=True,
            next_run_time=context.clock(),
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    settle_heap()
    scheduler.start()
    logger.info(
        "worker %s started with jobs: %s",
        context.worker_id,
        ", ".join(j.run.__name__ for j in JOBS),
    )
    await stop.wait()
    logger.info("worker %s stopping", context.worker_id)
    scheduler.shutdown(wait=False)
    running = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if running:
        # Finish what is in flight; anything cut off is safe anyway (leases expire).
        await asyncio.wait(running, timeout=SHUTDOWN_GRACE_SECONDS)


async def run_worker(settings: Settings, *, once: bool) -> None:
    engine = db.create_engine(settings.database_url, pool_size=settings.database_pool_size)
    http = build_http_client(settings)
    try:
        context = build_worker_context(
            settings, sessionmaker=db.create_sessionmaker(engine), http=http, clock=db.utcnow
        )
        if once:
            await run_once(context)
        else:
            await run_forever(context)
    finally:
        await http.aclose()
        await engine.dispose()
