"""The one-number lookup and the customer status endpoint beside the stack's own limit (issue 17).

    python -m bench.lookup [--legs 300000] [--duration 20] [--rounds 2]

On a clone of the benchmark world (bench.generate; made on first use and kept as a template),
three servers of one uvicorn process each: a bare FastAPI endpoint doing one primary-key query
through asyncpg on a table with as many rows as the world has legs (bench.lookup_bare), and
`firstscan serve` twice over: once measured on `GET /v1/lookup/{number}` (half order numbers,
half tracking numbers) and once on `GET /v1/public/status/{order}?postal_code=` (its rate
limits raised through their settings). The same load generator (wrk, 2 threads, 32
connections) drives them in turn, interleaved, `--rounds` times; the ratios compare each
firstscan figure with the bare endpoint's of the same round.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench import database
from bench.generate import generate
from bench.machine import print_machine
from bench.soak.processes import Process, _start, _wait_answering, free_port

ROOT = Path(__file__).resolve().parent.parent
WRK_INSTALL = "sudo apt-get install -y wrk"
LOTS = "1000000000/minute"
SAMPLE = 4000  # numbers each target's script picks from at random
API_KEY = "fsk_bench-lookup-key-not-secret"


@dataclass(frozen=True)
class Figures:
    target: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int

    def line(self) -> str:
        return (
            f"{self.target:<8} {self.requests_per_second:>9,.0f} req/s  p50 {self.p50_ms:7.2f} ms"
            f"  p99 {self.p99_ms:7.2f} ms  ({self.requests:,} requests, {self.errors} non-2xx)"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.lookup", description=__doc__)
    parser.add_argument("--legs", type=int, default=300_000, help="300000, or 1000000")
    parser.add_argument("--duration", type=int, default=20, help="seconds of each wrk run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit(f"bench.lookup needs the wrk load generator: {WRK_INSTALL}")
    print_machine(f"lookup and status beside a bare endpoint, {args.legs:,} legs")
    template = f"firstscan_lookup_{args.legs}"
    if not database.exists(template):
        print(f"generating the world into {template} (kept for later runs)")
        generate(template, target_legs=args.legs, workers=2)
    work = f"{template}_run"
    database.create(work, template=template)
    try:
        database.migrate(work)
        legs = prepare(work)
        print(f"world: {legs:,} legs; bare_items: {legs:,} rows")
        run_rounds(work, legs, args)
    finally:
        database.drop(work)


def prepare(name: str) -> int:
    """The bare endpoint's table (as many rows as legs), an agent API key and a postal code on
    the orders the status requests name; returns legs."""
    from app.auth.service import hash_key

    with psycopg.connect(database.database_url(name), autocommit=True) as conn:
        legs = int(conn.execute("SELECT count(*) FROM legs").fetchone()[0])  # type: ignore[index]
        # bench.generate writes orders without a postal code, and the status endpoint answers
        # only with the right one: a sample of them gets a code, the rest stay as generated.
        conn.execute(
            "UPDATE orders SET customer_postal_code = lpad((id %% 100000)::text, 5, '0')"
            " WHERE id IN (SELECT id FROM orders ORDER BY random() LIMIT %s)"
            " AND customer_postal_code IS NULL",
            (SAMPLE,),
        )
        conn.execute("CREATE TABLE bare_items (id bigint PRIMARY KEY, number text, payload text)")
        conn.execute(
            "INSERT INTO bare_items SELECT g, 'N' || g, md5(g::text) FROM generate_series(1, %s) g",
            (legs,),
        )
        conn.execute(
            "INSERT INTO api_keys (name, role, prefix, key_hash, created_at)"
            " VALUES ('bench', 'agent', %s, %s, now())",
            (API_KEY[:12], hash_key(API_KEY)),
        )
        conn.execute("VACUUM ANALYZE bare_items")
        conn.execute("VACUUM ANALYZE orders")
    return legs


def sample_paths(name: str, legs: int) -> dict[str, list[str]]:
    rng = random.Random(17)
    with psycopg.connect(database.database_url(name)) as conn:
        orders = conn.execute(
            "SELECT o.order_number, o.customer_postal_code, l.tracking_number FROM orders o"
            " JOIN shipments s ON s.order_id = o.id JOIN legs l ON l.shipment_id = s.id"
            " WHERE o.customer_postal_code IS NOT NULL ORDER BY random() LIMIT %s",
            (SAMPLE,),
        ).fetchall()
    lookups = [
        f"/v1/lookup/{number if i % 2 else tracking}"
        for i, (number, _, tracking) in enumerate(orders)
    ]
    statuses = [f"/v1/public/status/{number}?postal_code={code}" for number, code, _ in orders]
    bare = [f"/items/{rng.randint(1, legs)}" for _ in range(SAMPLE)]
    return {"bare": bare, "lookup": lookups, "status": statuses}


def wrk_script(folder: Path, target: str, paths: list[str]) -> Path:
    quoted = ",\n".join(f'  "{path}"' for path in paths)
    script = folder / f"{target}.lua"
    script.write_text(
        f"local paths = {{\n{quoted}\n}}\n"
        f'wrk.headers["Authorization"] = "Bearer {API_KEY}"\n'
        "function init(args) math.randomseed(os.time() + math.floor(os.clock() * 1e6)) end\n"
        "function request() return wrk.format('GET', paths[math.random(#paths)]) end\n"
    )
    return script


def run_wrk(target: str, url: str, script: Path, args: argparse.Namespace, seconds: int) -> Figures:
    out = subprocess.run(
        ["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{seconds}s",
         "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return parse_wrk(target, out)


def parse_wrk(target: str, out: str) -> Figures:
    def milliseconds(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"no {label} latency in wrk's output:\n{out}")
        return float(match[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match[2]]

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if rate is None or total is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return Figures(
        target,
        float(rate[1]),
        milliseconds("50%"),
        milliseconds("99%"),
        int(total[1]),
        int(errors[1]) if errors else 0,
    )


@contextmanager
def servers(name: str, logs: Path) -> Iterator[dict[str, str]]:
    """The bare endpoint and firstscan, one uvicorn process each, access logs off for both."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIRSTSCAN_")}
    env |= {"NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    bare_port, app_port = free_port(), free_port()
    bare_env = env | {"BARE_DATABASE_URL": database.database_url(name)}
    app_env = env | {
        "FIRSTSCAN_DATABASE_URL": database.database_url(name),
        "FIRSTSCAN_SECRET_KEY": "bench-lookup-secret",
        "FIRSTSCAN_LOG_LEVEL": "WARNING",
        "FIRSTSCAN_PUBLIC_RATE_LIMIT_PER_ADDRESS": LOTS,
        "FIRSTSCAN_PUBLIC_RATE_LIMIT_PER_ORDER": LOTS,
    }
    uvicorn = [sys.executable, "-m", "uvicorn", "--log-level", "warning", "--no-access-log"]
    firstscan = Path(sys.executable).with_name("firstscan")
    processes: list[Process] = []
    try:
        processes.append(
            _start("bare", [*uvicorn, "--port", str(bare_port), "bench.lookup_bare:app"],
                   bare_env, logs)
        )  # fmt: skip
        processes.append(
            _start("firstscan", [str(firstscan), "serve", "--port", str(app_port)], app_env, logs)
        )
        urls = {"bare": f"http://127.0.0.1:{bare_port}", "app": f"http://127.0.0.1:{app_port}"}
        _wait_answering(processes[0], f"{urls['bare']}/healthz")
        _wait_answering(processes[1], f"{urls['app']}/healthz")
        yield urls
    finally:
        for process in processes:
            process.stop()


def run_rounds(name: str, legs: int, args: argparse.Namespace) -> None:
    paths = sample_paths(name, legs)
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        urls = stack.enter_context(servers(name, folder))
        scripts = {target: wrk_script(folder, target, p) for target, p in paths.items()}
        base = {"bare": urls["bare"], "lookup": urls["app"], "status": urls["app"]}
        for target in scripts:  # warm-up: connections, caches, the first compilations
            run_wrk(target, base[target], scripts[target], args, 3)
        rounds: list[dict[str, Figures]] = []
        for number in range(1, args.rounds + 1):
            figures = {t: run_wrk(t, base[t], scripts[t], args, args.duration) for t in scripts}
            rounds.append(figures)
            print(f"round {number}, load {os.getloadavg()[0]:.2f}:")
            for result in figures.values():
                print(f"  {result.line()}")
            for target in ("lookup", "status"):
                print(f"  {ratio_line(figures[target], figures['bare'])}")
    summarize(rounds)


def ratio_line(mine: Figures, bare: Figures) -> str:
    return (
        f"{mine.target}/bare: throughput {mine.requests_per_second / bare.requests_per_second:.0%}"
        f" (goal >= 50%), p99 {mine.p99_ms / bare.p99_ms:.1f}x (goal <= 3x)"
    )


def summarize(rounds: list[dict[str, Figures]]) -> None:
    print("over all rounds (median of the per-round ratios):")
    for target in ("lookup", "status"):
        speed = [r[target].requests_per_second / r["bare"].requests_per_second for r in rounds]
        tail = [r[target].p99_ms / r["bare"].p99_ms for r in rounds]
        met = statistics.median(speed) >= 0.5 and statistics.median(tail) <= 3
        print(
            f"  {target}: throughput {statistics.median(speed):.0%} of bare"
            f" ({min(speed):.0%}-{max(speed):.0%}), p99 {statistics.median(tail):.1f}x"
            f" ({min(tail):.1f}-{max(tail):.1f}x): {'met' if met else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
