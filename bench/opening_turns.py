"""The midnight's planned opening on its own, timed on one planned clone that stays between
runs, so that two commits can be timed in turn on the same rows (issue 15: the opening before
and after its one specification; BENCHMARKS.md, section 1).

    python -m bench.opening_turns --prepare [--database firstscan_bench]   # once: clone, plan
    python -m bench.opening_turns [--runs 1]    # open, print the time, remove what opened
    python -m bench.opening_turns --whole       # the same on one connection, as one statement
    python -m bench.opening_turns --drop        # at the end

Each run opens the plans with the worker's job (two connections, orders split by id) or with
`--whole` on one connection, then deletes what opened and runs VACUUM and CHECKPOINT, so the
next run, of either commit, starts from the same state.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from app import db
from app.reconciliation import service
from bench import database
from bench.machine import print_machine
from bench.opening_floor import planned_clone, remove_opened, timed_opening
from bench.sweep import worker_context
from bench.world import NOW

CLONE = "firstscan_bench_turns"


async def prepare(template: str) -> None:
    engine = await planned_clone(CLONE, template)
    await engine.dispose()


async def open_plans(runs: int, whole: bool) -> None:
    engine = db.create_engine(database.database_url(CLONE, driver="postgresql+psycopg"))
    try:
        for _ in range(runs):
            if whole:
                await timed_whole_opening(engine)
            else:
                await timed_opening(engine, "midnight opening, the worker's job")
    finally:
        await engine.dispose()


async def timed_whole_opening(engine: AsyncEngine) -> None:
    """The opening of every due plan in one transaction on one connection, commit included."""
    async with httpx.AsyncClient() as http:
        context = worker_context(engine, http)
        started = time.perf_counter()
        async with db.session_scope(context.sessionmaker) as session:
            opened = await service.open_planned_alerts(
                session, now=NOW, config=context.reconciliation
            )
        elapsed = time.perf_counter() - started
    print(f"midnight opening, one connection: {len(opened):,} alerts opened in {elapsed:.2f} s")
    await remove_opened(engine)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.opening_turns", description=__doc__)
    parser.add_argument("--database", default="firstscan_bench", help="the generated template")
    parser.add_argument("--prepare", action="store_true", help="clone the template and plan")
    parser.add_argument("--drop", action="store_true", help="drop the planned clone")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--whole", action="store_true", help="one connection, one statement")
    args = parser.parse_args(argv)
    if args.drop:
        database.drop(CLONE)
        return
    print_machine("opening turns: the midnight's planned alerts opened (issue 15)")
    if args.prepare:
        asyncio.run(prepare(args.database))
    else:
        asyncio.run(open_plans(args.runs, args.whole))


if __name__ == "__main__":
    main()
