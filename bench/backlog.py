"""Issue 14's benchmark: a backlog of labels under a short quota, the overdue ones polled first.

    python -m bench.backlog [--legs 1000] [--overdue 0.3] [--per-hour 60] [--postgres]

`--legs` USPS labels are ingested in random order through the ingest service (as a shop's
back-fill arrives): a share `--overdue` printed 7 to 10 days ago and never scanned by USPS (past
their never_inducted deadline), the rest printed in the last few hours. Then the worker's own
poller and sweep run on a simulated clock (nothing sleeps) against the sandbox carrier under a
USPS quota of `--per-hour` calls an hour: poll what the quota allows, judge what changed, move
the clock to the next hour. Each claim is checked: every leg an alert is waiting on past its
deadline must come before any leg whose deadline is ahead. Prints the hours until the last
overdue label was polled, against the best any order could do (overdue labels / quota).
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
from datetime import UTC, datetime, timedelta
from random import Random

import httpx
from sqlalchemy import func, select

from app import db
from app.reconciliation import jobs as reconciliation_jobs
from app.settings import Settings
from app.shipments import service as shipments_service
from app.shipments.context import IngestContext
from app.shipments.models import Leg
from app.shipments.schemas import OrderCreate
from app.tracking import claims
from app.tracking import jobs as tracking_jobs
from app.wiring import build_first_alert_deadline, build_worker_context
from bench import database
from bench.machine import print_machine
from carriers.sandbox import example_number

START = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)  # a Thursday morning in New York
RUN_DATABASE = "firstscan_bench_backlog"


class SimClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


async def ingest(sessionmaker, settings: Settings, *, legs: int, overdue: float) -> set[str]:  # type: ignore[no-untyped-def]
    """Stores the labels in random order; returns the overdue ones' tracking numbers."""
    rng = Random(14)
    wanted = round(legs * overdue)
    labels = [
        ("never_inducted", i, START - timedelta(days=rng.uniform(7, 10))) for i in range(wanted)
    ]
    labels += [
        ("normal", i, START - timedelta(hours=rng.uniform(1, 6))) for i in range(legs - wanted)
    ]
    rng.shuffle(labels)
    context = IngestContext.from_settings(
        settings,
        actor="bench",
        now=START,
        first_alert_deadline=build_first_alert_deadline(settings),
    )
    late = set()
    for index, (scenario, serial, label_at) in enumerate(labels):
        number = example_number("usps", scenario, serial)
        if scenario == "never_inducted":
            late.add(number)
        shipment = {"tracking_number": number, "carrier": "usps", "label_created_at": label_at}
        order = OrderCreate.model_validate(
            {"order_number": f"B-{index:05d}", "shipments": [shipment]}
        )
        async with db.session_scope(sessionmaker) as session:
            await shipments_service.ingest_order(session, order_in=order, context=context)
    return late


async def run(url: str, args: argparse.Namespace) -> None:
    engine = db.create_engine(url)
    sessionmaker = db.create_sessionmaker(engine)
    clock = SimClock()
    quota = f'{{"usps": {{"per_second": 50, "per_hour": {args.per_hour}}}}}'
    settings = Settings(database_url=url, carrier_limits=quota)
    started = time.perf_counter()
    late = await ingest(sessionmaker, settings, legs=args.legs, overdue=args.overdue)
    took_s = time.perf_counter() - started
    print(f"ingested {args.legs} labels ({len(late)} overdue) in {took_s:.1f} s")
    claims_seen = misordered = 0
    real_claim = claims.claim_due_legs

    async def checked_claim(session, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal claims_seen, misordered
        got = await real_claim(session, **kwargs)
        now = kwargs["now"]
        overdue = [c.alert_deadline_at is not None and c.alert_deadline_at <= now for c in got]
        claims_seen += 1
        # Overdue legs first: no overdue leg may follow a leg whose deadline is ahead.
        if any(later and not earlier for earlier, later in itertools.pairwise(overdue)):
            misordered += 1
        return got

    claims.claim_due_legs = checked_claim  # type: ignore[assignment]
    last_late_polled: datetime | None = None
    per_hour: list[tuple[datetime, int, int]] = []
    hours = 0
    async with httpx.AsyncClient() as http:
        context = build_worker_context(settings, sessionmaker=sessionmaker, http=http, clock=clock)
        while hours < args.max_hours:
            await tracking_jobs.poll_due_legs(context)
            await reconciliation_jobs.reconcile_due_orders(context)
            async with sessionmaker() as session:
                waiting = await session.scalar(
                    select(func.count()).where(
                        Leg.tracking_number.in_(late), Leg.last_polled_at.is_(None)
                    )
                )
                polled = await session.scalar(
                    select(func.count()).where(Leg.last_polled_at >= clock.now)
                )
            per_hour.append((clock.now, polled or 0, waiting or 0))
            if waiting == 0 and last_late_polled is None:
                last_late_polled = clock.now
                break
            clock.now = clock.now.replace(minute=0, second=0) + timedelta(hours=1, seconds=1)
            hours += 1
    claims.claim_due_legs = real_claim  # type: ignore[assignment]
    await engine.dispose()
    for at, polled, waiting in per_hour:
        print(f"  {at:%H:%M}: {polled} calls this pass, {waiting} overdue labels still waiting")
    # The first quota window is the hour the back-fill arrived in: n windows end n - 1 h later.
    best = math.ceil(len(late) / args.per_hour) - 1
    took = (last_late_polled - START) if last_late_polled else None
    print(f"claims checked: {claims_seen}; with an overdue leg after one not overdue: {misordered}")
    if took is None:
        print(f"the last overdue label was not polled within {args.max_hours} hours")
    else:
        print(
            f"last overdue label polled after {took.total_seconds() / 3600:.1f} simulated hours "
            f"(best possible: {best} h at {args.per_hour} calls an hour)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.backlog", description=__doc__)
    parser.add_argument("--legs", type=int, default=1000)
    parser.add_argument("--overdue", type=float, default=0.3)
    parser.add_argument("--per-hour", type=int, default=60)
    parser.add_argument("--max-hours", type=int, default=48)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    print_machine("bench.backlog: overdue labels polled first under a short quota")
    database.run_on_fresh_database(
        lambda url: run(url, args), name=RUN_DATABASE, sqlite=not args.postgres
    )


if __name__ == "__main__":
    main()
