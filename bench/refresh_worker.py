"""One benchmark worker process: the real poll job, timed, its own CPU time measured.

Started by bench.refresh with FIRSTSCAN_* settings in its environment and a start time (epoch
seconds) as its argument, so that several workers begin together; then it runs
app.tracking.jobs.poll_due_legs (claim, call the carrier, record; until nothing is due) and
prints one JSON line with its figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path

from app import db
from app.settings import load_settings
from app.tracking import jobs as tracking_jobs
from app.wiring import build_http_client, build_worker_context


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


_PROFILES: list[str] = []


def _start_profiler():  # type: ignore[no-untyped-def]
    from pyinstrument import Profiler  # bench extra

    profiler = Profiler(interval=0.01, async_mode="enabled")
    profiler.start()
    return profiler


async def run(start_at: float) -> dict[str, float]:
    settings = load_settings()
    engine = db.create_engine(settings.database_url, pool_size=settings.database_pool_size)
    http = build_http_client(settings)
    try:
        context = build_worker_context(
            settings, sessionmaker=db.create_sessionmaker(engine), http=http, clock=db.utcnow
        )
        await asyncio.sleep(max(0.0, start_at - time.time()))  # the other workers get ready
        profiler = _start_profiler() if os.environ.get("FIRSTSCAN_BENCH_PROFILE") else None
        cpu, wall, started_at = _cpu_seconds(), time.perf_counter(), time.time()
        reports = await tracking_jobs.poll_due_legs(context)
        wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
        if profiler is not None:
            profiler.stop()
            _PROFILES.append(profiler.output_text(unicode=False, color=False))
    finally:
        await http.aclose()
        await engine.dispose()
    return {
        "legs": sum(r.legs for r in reports),
        "calls": sum(r.calls for r in reports),
        "events": sum(r.events_stored for r in reports),
        "failures": sum(r.failures for r in reports),
        "wall_s": wall,
        "cpu_s": cpu,
        "started_at": started_at,
        "ended_at": started_at + wall,
    }


if __name__ == "__main__":
    figures = asyncio.run(run(float(sys.argv[1])))
    for text in _PROFILES:
        Path(os.environ["FIRSTSCAN_BENCH_PROFILE"]).write_text(text)
    print(json.dumps(figures), flush=True)
