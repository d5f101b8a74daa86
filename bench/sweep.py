"""Issue 4's sweep benchmark: all rules over 1 M active legs on PostgreSQL, target under 2 s.

    python -m bench.sweep [--shares 0.0002 0.01] [--repeats 3] [--sample 20000] [--full] [--profile]

(a) The worker's own sweep (app.reconciliation.jobs.reconcile_due_orders, which batches
    app.reconciliation.service.reconcile_due_orders: claim due orders, load facts, judge, record
    alerts, schedule) on a fresh copy of the generated database at NOW, three seconds after a
    business-day midnight: the heaviest sweep interval of the day. Then the same sweep with a
    larger share of the orders made due, to show how the time grows with the due share.
(b) The pure rules (judge_order: find_discrepancies and upcoming_findings) over facts loaded for a
    random sample of orders, in orders per second, projected to all 1 M legs; with --full, the
    whole re-judgement (check_all_active_orders, what `firstscan rules check` runs) is timed too.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import db
from app.alerts.models import Alert
from app.reconciliation import jobs as reconciliation_jobs
from app.reconciliation import service
from app.settings import Settings
from app.shipments.models import Order
from app.wiring import WorkerContext, build_worker_context
from bench import database
from bench.generate import count_rows, generate, is_generated
from bench.machine import print_machine
from bench.world import CONFIG, NOW

TARGET_SECONDS = 2.0
RUN_DATABASE = "firstscan_bench_sweep"


def worker_context(engine: AsyncEngine, http: httpx.AsyncClient) -> WorkerContext:
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        # One webhook, so each new alert also writes its outbox row as it would in production.
        alert_webhook_urls="http://127.0.0.1:9/bench-hook",  # type: ignore[arg-type]
    )
    return build_worker_context(
        settings, sessionmaker=db.create_sessionmaker(engine), http=http, clock=lambda: NOW
    )


async def _scalar(engine: AsyncEngine, stmt: object) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(stmt)).scalar_one())  # type: ignore[call-overload]


async def timed_sweep(engine: AsyncEngine, profile: bool = False) -> tuple[int, int, float]:
    """Runs the worker's sweep job once; returns (due before, orders judged, seconds)."""
    due = await _scalar(engine, select(func.count()).where(Order.reconcile_due_at <= NOW))
    async with httpx.AsyncClient() as http:
        context = worker_context(engine, http)
        profiler = _start_profiler() if profile else None
        started = time.perf_counter()
        judged = await reconciliation_jobs.reconcile_due_orders(context)
        elapsed = time.perf_counter() - started
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False)[:12_000])
    return due, judged, elapsed


async def plan_due_orders(engine: AsyncEngine) -> tuple[int, int, float]:
    """What the worker did when it last judged each due order (untimed in the sweep): plans
    for its deadline, made just before it. Returns (orders, plans, seconds)."""
    async with httpx.AsyncClient() as http:
        config = worker_context(engine, http).reconciliation
    sessionmaker = db.create_sessionmaker(engine)
    async with sessionmaker() as session:
        due = (
            await session.execute(
                select(Order.id, Order.reconcile_due_at)
                .where(Order.reconcile_due_at <= NOW)
                .order_by(Order.reconcile_due_at, Order.id)
            )
        ).all()
    by_deadline: dict[datetime, list[int]] = {}
    for order_id, deadline in due:
        by_deadline.setdefault(deadline, []).append(order_id)
    plans, started = 0, time.perf_counter()
    for deadline, order_ids in by_deadline.items():
        for i in range(0, len(order_ids), 500):
            async with db.session_scope(sessionmaker) as session:
                plans += await service.plan_orders(
                    session,
                    order_ids=order_ids[i : i + 500],
                    now=deadline - timedelta(microseconds=1),
                    config=config,
                )
    return len(due), plans, time.perf_counter() - started


async def timed_planned_opening(engine: AsyncEngine) -> tuple[int, float]:
    """The sweep job's first step at the deadline (app.reconciliation.jobs.open_planned_alerts),
    on its own: (alerts opened, seconds)."""
    async with httpx.AsyncClient() as http:
        context = worker_context(engine, http)
        started = time.perf_counter()
        opened = await reconciliation_jobs.open_planned_alerts(context)
        return opened, time.perf_counter() - started


def _start_profiler():  # type: ignore[no-untyped-def]
    from pyinstrument import Profiler  # bench extra: pip install -e '.[bench]'

    # A coarse interval: a 15-minute sweep at 1 ms samples needs gigabytes to render.
    profiler = Profiler(interval=0.05, async_mode="enabled")
    profiler.start()
    return profiler


async def make_share_due(engine: AsyncEngine, share: float) -> None:
    """Marks `share` of the orders due now (a sample spread over the whole id range)."""
    step = max(1, round(1 / share))
    async with engine.begin() as conn:
        await conn.execute(
            update(Order)
            .where(Order.reconcile_due_at.is_not(None), text(f"orders.id % {step} = 0"))
            .values(reconcile_due_at=NOW)
        )
        await conn.execute(text("ANALYZE orders"))


async def sweep_run(template: str, shares: Sequence[float], repeats: int, profile: bool) -> None:
    """The midnight sweep once on a fresh clone, then each share made due again `repeats` times."""
    started = time.perf_counter()
    database.create(RUN_DATABASE, template=template)
    database.migrate(RUN_DATABASE)  # the template may predate the newest migrations
    clone = time.perf_counter() - started
    engine = db.create_engine(database.database_url(RUN_DATABASE, driver="postgresql+psycopg"))
    try:
        orders, plans, plan_s = await plan_due_orders(engine)
        print(
            f"plans (untimed, made when each order was last judged): {plans:,} alerts planned "
            f"for {orders:,} due orders in {plan_s:.1f} s "
            f"({plan_s / max(orders, 1) * 1e6:.0f} us/order) [fresh database clone {clone:.1f} s]"
        )
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE planned_alerts"))
        planned_opened, planned_s = await timed_planned_opening(engine)
        by_plan = await _opened_by_rule(engine)
        print(
            f"midnight, alerts opened from plans: {planned_opened:,} alerts with their audit "
            f"and outbox rows in {planned_s:.2f} s ({_verdict(planned_s)}): {_rules(by_plan)}"
        )
        due, judged, elapsed = await timed_sweep(engine, profile)
        by_sweep = await _opened_by_rule(engine) - by_plan
        print(
            f"midnight, then the rules' sweep: {due:,} orders due, {judged:,} judged in "
            f"{elapsed:.1f} s ({judged / elapsed:,.0f} orders/s), "
            f"{sum(by_sweep.values()):,} more alerts opened: {_rules(by_sweep)}"
        )
        for share in shares:
            for repeat in range(1, repeats + 1):
                await make_share_due(engine, share)
                due, judged, elapsed = await timed_sweep(engine)
                print(
                    f"{share:.2%} of orders due again (#{repeat}): {judged:,} judged in "
                    f"{elapsed:.2f} s ({judged / elapsed:,.0f} orders/s; {_verdict(elapsed)})"
                )
    finally:
        await engine.dispose()


async def _opened_by_rule(engine: AsyncEngine) -> Counter[str]:
    async with engine.connect() as conn:
        stmt = select(Alert.rule, func.count()).where(Alert.opened_at == NOW).group_by(Alert.rule)
        return Counter(dict((await conn.execute(stmt)).all()))


def _rules(counts: Counter[str]) -> str:
    return ", ".join(f"{rule} {count:,}" for rule, count in counts.most_common()) or "none"


def _verdict(seconds: float) -> str:
    if seconds <= TARGET_SECONDS:
        return f"meets the {TARGET_SECONDS:.0f} s target"
    return f"MISSES the {TARGET_SECONDS:.0f} s target by {seconds / TARGET_SECONDS:.1f}x"


async def rules_throughput(template: str, sample: int, active_legs: int, full: bool) -> None:
    """Times loading facts and the pure rules on a random sample; optionally the whole set."""
    engine = db.create_engine(database.database_url(template, driver="postgresql+psycopg"))
    try:
        async with db.create_sessionmaker(engine)() as session:
            ids = await _sample_order_ids(session, sample)
            started = time.perf_counter()
            loaded = []
            for i in range(0, len(ids), 500):
                loaded += await service.load_order_facts(session, ids[i : i + 500], CONFIG.cadence)
            load_s = time.perf_counter() - started
        facts = [f for _, f in loaded]
        legs = sum(len(f.legs) for f in facts)
        best = min(_judge_all(facts) for _ in range(3))
        per_order = best / len(facts)
        print(
            f"rules: {len(facts):,} orders ({legs:,} legs) judged in {best:.2f} s, best of 3: "
            f"{1 / per_order:,.0f} orders/s, {per_order * 1e6:.0f} us/order"
        )
        projected = per_order * active_legs * len(facts) / legs
        print(
            f"rules: a full re-judgement of {active_legs:,} active legs would take "
            f"{projected:.0f} s of rules CPU ({_verdict(projected)}) plus "
            f"{load_s / len(facts) * active_legs * len(facts) / legs:.0f} s loading facts "
            f"({load_s / len(facts) * 1e6:.0f} us/order measured on the sample)"
        )
        if full:
            await _full_check(engine)
    finally:
        await engine.dispose()


def _judge_all(facts: Sequence[object]) -> float:
    started = time.perf_counter()
    for order in facts:
        service.judge_order(order, now=NOW, config=CONFIG)  # type: ignore[arg-type]
    return time.perf_counter() - started


async def _sample_order_ids(session: AsyncSession, sample: int) -> list[int]:
    ids = list((await session.execute(select(Order.id))).scalars())
    return sorted(random.Random(4).sample(ids, min(sample, len(ids))))


async def _full_check(engine: AsyncEngine) -> None:
    async with db.create_sessionmaker(engine)() as session:
        started = time.perf_counter()
        verdicts = await service.check_all_active_orders(session, now=NOW, config=CONFIG)
        elapsed = time.perf_counter() - started
    print(
        f"full re-judgement (check_all_active_orders): {len(verdicts):,} orders in "
        f"{elapsed:.1f} s ({_verdict(elapsed)})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__)
    parser.add_argument("--database", default="firstscan_bench", help="the generated template")
    parser.add_argument("--legs", type=int, default=1_000_000, help="when generating it")
    parser.add_argument("--repeats", type=int, default=3, help="sweeps per due share")
    # 0.02 %: a typical 5 s interval (about 160 orders re-queued by polls, no deadline);
    # 1 %: a tenth of a midnight burst.
    parser.add_argument("--shares", type=float, nargs="*", default=[0.0002, 0.01])
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--profile", action="store_true", help="pyinstrument the first sweep")
    args = parser.parse_args(argv)
    template = args.database
    print_machine("sweep: all rules over the active legs on PostgreSQL (issue 4)")
    if not is_generated(template):
        print(f"{template} is missing or incomplete: generating it (python -m bench.generate)")
        generate(template, target_legs=args.legs, workers=2)
    counts = count_rows(template)
    print("data: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    asyncio.run(sweep_run(template, args.shares, args.repeats, args.profile))
    asyncio.run(rules_throughput(template, args.sample, counts["active legs"], args.full))
    database.drop(RUN_DATABASE)


if __name__ == "__main__":
    main()
