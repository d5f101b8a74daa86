"""Where the midnight's planned opening spends its time: the statement the worker runs, under
EXPLAIN (ANALYZE, BUFFERS, WAL), on one connection of a clone, then rolled back. Prints the plan
and, in short, each inserting CTE's time and WAL and each foreign-key trigger's time
(BENCHMARKS.md, section 1).

    python -m bench.opening_explain [--database firstscan_bench] [--full-plan]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from typing import Any

import httpx
import psycopg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.reconciliation import service
from bench import database
from bench.machine import print_machine
from bench.opening_floor import planned_clone
from bench.sweep import worker_context

CLONE = "firstscan_bench_explain"
# The planned opening sets this for its own transaction (app/alerts/planned.py).
WORK_MEM = "256MB"


class _Captured(Exception):
    """Stops the opening once its statement is known; nothing is written."""


async def capture_opening_statement(engine: AsyncEngine) -> tuple[str, Any]:
    """The SQL and parameters of the planned opening at NOW, for the whole midnight."""
    captured: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().startswith("WITH") and "INSERT INTO alerts" in statement:
            captured.append((statement, parameters))
            raise _Captured

    event.listen(engine.sync_engine, "before_cursor_execute", grab)
    try:
        async with httpx.AsyncClient() as http:
            context = worker_context(engine, http)
            async with context.sessionmaker() as session:
                await service.open_planned_alerts(
                    session, now=context.clock(), config=context.reconciliation
                )
    except Exception as error:
        if not captured:
            raise RuntimeError("the opening ran no statement to explain") from error
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", grab)
    return captured[0]


def summarize(plan: list[str]) -> list[str]:
    """The lines worth quoting: each inserting node's time and WAL, each trigger, the total."""
    lines, last_insert = [], None
    for line in plan:
        if match := re.search(r"Insert on (\w+).*actual time=[\d.]+\.\.([\d.]+)", line):
            last_insert = f"insert into {match.group(1)}: {float(match.group(2)) / 1000:.2f} s"
        elif last_insert and (wal := re.search(r"WAL: (.*)", line)):
            lines.append(f"{last_insert}, WAL {wal.group(1)}")
            last_insert = None
        elif match := re.match(r"Trigger for constraint (\w+) on \w+: time=([\d.]+)", line):
            lines.append(f"foreign key {match.group(1)}: {float(match.group(2)) / 1000:.2f} s")
        elif line.startswith("Execution Time"):
            lines.append(line)
    return lines


async def run(template: str, full_plan: bool) -> None:
    engine = await planned_clone(CLONE, template)
    try:
        statement, parameters = await capture_opening_statement(engine)
    finally:
        await engine.dispose()
    try:
        with psycopg.connect(database.database_url(CLONE)) as conn:
            conn.execute(f"SET work_mem = '{WORK_MEM}'")
            started = time.perf_counter()
            explain = "EXPLAIN (ANALYZE, BUFFERS, WAL) " + statement
            plan = [row[0] for row in conn.execute(explain, parameters).fetchall()]
            print(f"one connection, rolled back: {time.perf_counter() - started:.2f} s")
            conn.rollback()
        if full_plan:
            print("\n".join(plan))
        print("\n".join(summarize(plan)))
    finally:
        database.drop(CLONE)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.opening_explain", description=__doc__)
    parser.add_argument("--database", default="firstscan_bench", help="the generated template")
    parser.add_argument("--full-plan", action="store_true", help="print the whole plan too")
    args = parser.parse_args(argv)
    print_machine("opening explained: where the midnight's planned opening spends its time")
    asyncio.run(run(args.database, args.full_plan))


if __name__ == "__main__":
    main()
