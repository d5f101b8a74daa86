"""How fast the midnight's planned alerts could open if the schema gave up integrity: the opening
timed on a clone as it is, then without the four foreign keys it checks, then without four of
the alerts' eight indexes as well (BENCHMARKS.md, section 1, "What remains"). Nothing here
changes firstscan's schema; the clone is dropped afterwards.

    python -m bench.opening_floor [--database firstscan_bench]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app import db
from app.reconciliation import jobs
from bench import database
from bench.machine import print_machine
from bench.sweep import plan_due_orders, worker_context
from bench.world import NOW

CLONE = "firstscan_bench_floor"
FOREIGN_KEYS = (
    ("alerts", "fk_alerts_leg_id_legs"),
    ("alerts", "fk_alerts_order_id_orders"),
    ("audit_log", "fk_audit_log_order_id_orders"),
    ("alert_notifications", "fk_alert_notifications_alert_id_alerts"),
)
ALERT_INDEXES = ("ix_alerts_rule", "ix_alerts_carrier", "ix_alerts_team", "ix_alerts_leg_id")


async def run_maintenance(engine: AsyncEngine, *statements: str) -> None:
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for statement in statements:
            await conn.execute(text(statement))


async def timed_opening(engine: AsyncEngine, label: str) -> None:
    """Opens the plans with the worker's job, prints the time, then removes what opened."""
    async with httpx.AsyncClient() as http:
        started = time.perf_counter()
        opened = await jobs.open_planned_alerts(worker_context(engine, http))
        print(f"{label}: {opened:,} alerts opened in {time.perf_counter() - started:.2f} s")
    await remove_opened(engine)


async def remove_opened(engine: AsyncEngine) -> None:
    """Deletes what an opening at NOW wrote and tidies up, so the next opening starts alike."""
    async with engine.begin() as conn:
        at = {"now": NOW}
        await conn.execute(text("DELETE FROM alert_notifications WHERE created_at = :now"), at)
        await conn.execute(
            text(
                "DELETE FROM audit_log WHERE occurred_at = :now"
                " AND action IN ('alert.opened', 'item.opened', 'item.joined')"
            ),
            at,
        )
        await conn.execute(text("DELETE FROM alerts WHERE opened_at = :now"), at)
        # The work items those alerts opened (an item they joined keeps its older alerts).
        await conn.execute(
            text(
                "DELETE FROM work_items w WHERE w.opened_at = :now"
                " AND NOT EXISTS (SELECT FROM alerts a WHERE a.item_id = w.id)"
            ),
            at,
        )
    await run_maintenance(
        engine,
        "VACUUM ANALYZE alerts",
        "VACUUM ANALYZE alert_notifications",
        "VACUUM ANALYZE audit_log",
        "VACUUM ANALYZE work_items",
        "CHECKPOINT",
    )


async def planned_clone(clone: str, template: str) -> AsyncEngine:
    """A migrated clone of `template` holding the plans its due orders had before NOW."""
    database.create(clone, template=template)
    database.migrate(clone)
    engine = db.create_engine(database.database_url(clone, driver="postgresql+psycopg"))
    orders, plans, _ = await plan_due_orders(engine)
    print(f"{plans:,} plans for {orders:,} due orders")
    await run_maintenance(engine, "VACUUM ANALYZE planned_alerts", "CHECKPOINT")
    return engine


async def run(template: str) -> None:
    engine = await planned_clone(CLONE, template)
    try:
        await timed_opening(engine, "as is")
        await timed_opening(engine, "as is, again")
        async with engine.begin() as conn:
            for table, constraint in FOREIGN_KEYS:
                await conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}"))
        await timed_opening(engine, "without the four foreign keys")
        async with engine.begin() as conn:
            for index in ALERT_INDEXES:
                await conn.execute(text(f"DROP INDEX {index}"))
        await timed_opening(engine, "without them and four of the alerts' eight indexes")
    finally:
        await engine.dispose()
        database.drop(CLONE)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.opening_floor", description=__doc__)
    parser.add_argument("--database", default="firstscan_bench", help="the generated template")
    args = parser.parse_args(argv)
    print_machine("opening floor: planned alerts at midnight with less integrity (issue 4)")
    asyncio.run(run(args.database))


if __name__ == "__main__":
    main()
