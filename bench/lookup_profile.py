"""Where one lookup's time goes: the app in this process on a clone of the benchmark world,
warmed, then timed and profiled lookup by lookup (issue 17).

    python -m bench.lookup_profile [--legs 300000] [--requests 300] [--target lookup|status]

Prints the median time of one request (driven through httpx's ASGI transport, so without
uvicorn and the network), the statements SQLAlchemy sent per request, and cProfile's heaviest
functions, by own time and grouped by package.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import time
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import event

from bench import database
from bench.lookup import LOTS, SAMPLE, prepare, sample_paths
from bench.machine import print_machine

GROUPS = (
    ("sqlalchemy", "sqlalchemy/"),
    ("psycopg", "psycopg"),
    ("asyncpg", "asyncpg"),
    ("pydantic", "pydantic"),
    ("fastapi/starlette", ("fastapi/", "starlette/")),
    ("httpx (the test transport)", ("httpx/", "httpcore/")),
    ("json", "json/"),
    ("firstscan", ("/app/", "/carriers/")),
    ("asyncio", "asyncio/"),
)


def group_of(filename: str) -> str:
    for name, marks in GROUPS:
        if any(mark in filename for mark in ((marks,) if isinstance(marks, str) else marks)):
            return name
    return "other"


async def profile(url: str, paths: list[str], requests: int, key: str) -> None:
    from app.main import create_app
    from app.settings import Settings

    settings = Settings(
        database_url=url,
        secret_key="bench",
        public_rate_limit_per_address=LOTS,
        public_rate_limit_per_order=LOTS,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for path in paths[:200]:  # warm-up
                assert (await client.get(path, headers=headers)).status_code == 200
            statements: list[str] = []

            def count(*args: Any) -> None:
                statements.append(args[2])

            event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
            timings, sizes = [], []
            for path in paths[200 : 200 + requests]:
                started = time.perf_counter()
                response = await client.get(path, headers=headers)
                timings.append(time.perf_counter() - started)
                sizes.append(len(response.content))
            event.remove(app.state.engine.sync_engine, "before_cursor_execute", count)
            print(
                f"one request: median {statistics.median(timings) * 1000:.2f} ms, "
                f"p90 {statistics.quantiles(timings, n=10)[-1] * 1000:.2f} ms over {requests}; "
                f"answer median {statistics.median(sizes):,.0f} bytes"
            )
            print(f"statements through SQLAlchemy per request: {len(statements) / requests:.1f}")
            for text, times in Counter(s.split("\n")[0][:90] for s in statements).most_common(12):
                print(f"  {times / requests:4.1f}x {text}")
            profiler = cProfile.Profile()
            profiler.enable()
            for path in paths[200 : 200 + requests]:
                await client.get(path, headers=headers)
            profiler.disable()
    report(profiler, requests)


def report(profiler: cProfile.Profile, requests: int) -> None:
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(own for (_, _, own, _, _) in raw.values())
    by_group: Counter[str] = Counter()
    for (filename, _, _), (_, _, own, _, _) in raw.items():
        by_group[group_of(filename)] += own
    print(f"cProfile: {total / requests * 1000:.2f} ms of own time per request, by package:")
    for name, own in by_group.most_common():
        print(f"  {name:<28} {own / requests * 1000:6.3f} ms  {own / total:5.1%}")
    print("heaviest functions by cumulative time (per request):")
    rows = sorted(raw.items(), key=lambda item: item[1][3], reverse=True)
    for (filename, line, name), (_, calls, _, cumulative, _) in rows[:40]:
        where = filename.split("site-packages/")[-1].split("wt-lookup/")[-1]
        print(
            f"  {cumulative / requests * 1000:6.3f} ms  {calls / requests:6.1f} calls  "
            f"{where}:{line}({name})"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.lookup_profile", description=__doc__)
    parser.add_argument("--legs", type=int, default=300_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--target", choices=["lookup", "status"], default="lookup")
    args = parser.parse_args(argv)
    print_machine(f"profile of {args.target}, {args.legs:,} legs")
    template = f"firstscan_lookup_{args.legs}"
    work = f"{template}_profile"
    database.create(work, template=template)
    try:
        database.migrate(work)
        legs = prepare(work)
        paths = sample_paths(work, legs)[args.target]
        assert len(paths) >= 200 + args.requests <= SAMPLE
        from bench.lookup import API_KEY

        url = database.database_url(work, driver="postgresql+psycopg")
        asyncio.run(profile(url, paths, args.requests, API_KEY))
    finally:
        database.drop(work)


if __name__ == "__main__":
    main()
