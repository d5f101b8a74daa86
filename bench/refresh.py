"""Issue 5's refresh throughput: 100,000 legs, a mock carrier answering in 100 ms, one worker
process then two. Targets: >= 1,000 refreshes/s per worker, <= 1 ms of worker CPU per refresh.

    python -m bench.refresh [--legs 100000] [--latency-ms 100] [--carriers fedex usps]

The mock carrier server (mock_carriers) runs in its own process on loopback; the workers
are separate processes running the real poll job (bench.refresh_worker) in live mode against it,
with carrier limits raised out of the way (FIRSTSCAN_CARRIER_LIMITS). For each carrier: FedEx
asks 30 numbers per request, USPS one. Each carrier's 100,000 legs are polled three times:
the first poll of new legs (one worker; stores every scan so far), then a refresh of the same
legs with one worker, then with two (mostly nothing new to store, the steady state).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

from bench import database
from bench.machine import print_machine
from carriers.sandbox.numbering import build_number
from mock_carriers import DEFAULT_CREDENTIALS, DEFAULT_DHL_API_KEY

RUN_DATABASE = "firstscan_bench_refresh"
TARGET_RATE = 1000.0
TARGET_CPU_MS = 1.0
_SERIAL_BASE = {"usps": 2_000_000_000, "ups": 2_000_000, "fedex": 20_000_000_000, "dhl": 2_000}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_mock(latency_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    """The mock carrier in its own process; label times are the first request minus 0-72 h, so
    parcels are mid-journey."""
    port = _free_port()
    argv = [sys.executable, "-m", "mock_carriers", "--port", str(port),
            "--latency-ms", str(latency_ms), "--label-times", "first_seen",
            "--label-age-spread-hours", "72"]  # fmt: skip
    process = subprocess.Popen(argv)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/_mock/stats", timeout=1.0).raise_for_status()
            return process, base
        except httpx.HTTPError:
            time.sleep(0.1)  # the server is starting; bounded by the deadline
    process.kill()
    raise RuntimeError("the mock carrier server did not start")


def load_legs(carrier: str, count: int) -> None:
    """A fresh migrated database holding `count` new legs of `carrier`, all due now."""
    database.create(RUN_DATABASE)
    database.migrate(RUN_DATABASE)
    now = datetime.now(UTC)
    label_at = now - timedelta(hours=1)
    with psycopg.connect(database.database_url(RUN_DATABASE)) as conn, conn.cursor() as cur:
        with cur.copy("COPY orders (id, order_number, order_key, claimed_status, created_at, "
                      "updated_at) FROM STDIN") as copy:  # fmt: skip
            for i in range(1, count + 1):
                copy.write_row((i, f"R-{i:07d}", f"R{i:07d}", "shipped", now, now))
        shipments = "COPY shipments (id, order_id, label_created_at, created_at) FROM STDIN"
        with cur.copy(shipments) as copy:
            for i in range(1, count + 1):
                copy.write_row((i, i, label_at, now))
        columns = ("id, shipment_id, sequence, carrier, tracking_number, source, label_created_at, "
                   "tracking_started_at, active, next_poll_at, consecutive_failures, created_at, "
                   "updated_at")  # fmt: skip
        with cur.copy(f"COPY legs ({columns}) FROM STDIN") as copy:
            for i in range(1, count + 1):
                number = build_number(carrier, _SERIAL_BASE[carrier] + i)
                copy.write_row((i, i, 1, carrier, number, "shop", label_at, now, True, now, 0,
                                now, now))  # fmt: skip
        for table in ("orders", "shipments", "legs"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {count + 1})")
        conn.commit()
    _analyze()


def _analyze() -> None:
    with psycopg.connect(database.database_url(RUN_DATABASE), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def make_all_due() -> None:
    """Every leg polled so far is due again now, as at the next cadence tick."""
    with psycopg.connect(database.database_url(RUN_DATABASE)) as conn:
        conn.execute("UPDATE legs SET active = true, next_poll_at = now() - interval '1 second'")
        conn.commit()
    _analyze()


def worker_env(base: str, *, concurrency: int, claim_size: int) -> dict[str, str]:
    env = dict(os.environ)
    limits = {c: {"per_second": 100_000, "per_hour": None, "per_day": None}
              for c in ("usps", "ups", "fedex", "dhl")}  # fmt: skip
    env.update(
        FIRSTSCAN_DATABASE_URL=database.database_url(RUN_DATABASE),
        FIRSTSCAN_CARRIER_MODE="live",
        FIRSTSCAN_CARRIER_LIMITS=json.dumps(limits),
        FIRSTSCAN_RATE_SAFETY="1.0",
        FIRSTSCAN_POLL_CONCURRENCY=str(concurrency),
        FIRSTSCAN_POLL_CLAIM_SIZE=str(claim_size),
        FIRSTSCAN_DATABASE_POOL_SIZE="10",
        FIRSTSCAN_DHL_BASE_URL=f"{base}/dhl",
        FIRSTSCAN_DHL_API_KEY=DEFAULT_DHL_API_KEY,
        FIRSTSCAN_LOG_LEVEL="WARNING",
    )
    for code in ("usps", "ups", "fedex"):
        creds = DEFAULT_CREDENTIALS[code]
        env[f"FIRSTSCAN_{code.upper()}_BASE_URL"] = f"{base}/{code}"
        env[f"FIRSTSCAN_{code.upper()}_CLIENT_ID"] = creds.client_id
        env[f"FIRSTSCAN_{code.upper()}_CLIENT_SECRET"] = creds.client_secret
    return env


@dataclass
class Pass:
    workers: list[dict[str, float]]
    machine_busy: float  # share of all cores' time busy (any process) while the pass ran

    @property
    def legs(self) -> int:
        return int(sum(w["legs"] for w in self.workers))

    @property
    def seconds(self) -> float:
        return max(w["ended_at"] for w in self.workers) - min(w["started_at"] for w in self.workers)

    @property
    def cpu_ms_per_refresh(self) -> float:
        return 1000 * sum(w["cpu_s"] for w in self.workers) / max(1, self.legs)


def run_workers(count: int, env: dict[str, str], profile_to: str | None = None) -> Pass:
    """Starts `count` worker processes, lets them go together, collects their figures and how
    busy the whole machine's cores were meanwhile."""
    start_at = str(time.time() + 5)  # time for every worker to import and connect
    argv = [sys.executable, "-m", "bench.refresh_worker", start_at]
    env = dict(env)
    if profile_to:
        env["FIRSTSCAN_BENCH_PROFILE"] = profile_to
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE) for _ in range(count)]
    busy, total = machine_busy()
    outputs = [proc.communicate(timeout=3600)[0] for proc in procs]
    busy_after, total_after = machine_busy()
    workers = [json.loads(out.decode().strip().splitlines()[-1]) for out in outputs]
    return Pass(workers, (busy_after - busy) / max(1, total_after - total))


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU of another process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[int, int]:
    """(busy, total) clock ticks of all cores since boot, from /proc/stat."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


def describe(label: str, result: Pass, calls_before: int, base: str, mock_cpu: float) -> int:
    stats = httpx.get(f"{base}/_mock/stats", timeout=30).json()
    calls = int(stats["total"]) - calls_before
    rate = result.legs / result.seconds
    per_worker = rate / len(result.workers)
    cpu = result.cpu_ms_per_refresh
    each = ", ".join(
        f"{w['legs'] / w['wall_s']:,.0f}/s on {1000 * w['cpu_s'] / max(1, w['legs']):.2f} ms CPU"
        for w in result.workers
    )
    print(
        f"  {label}: {result.legs:,} refreshes in {result.seconds:.1f} s = {rate:,.0f}/s, "
        f"{per_worker:,.0f}/s per worker ({_mark(per_worker >= TARGET_RATE)} >= 1,000), "
        f"{cpu:.2f} ms CPU per refresh ({_mark(cpu <= TARGET_CPU_MS)} <= 1 ms); "
        f"{calls:,} carrier requests, {sum(int(w['events']) for w in result.workers):,} new "
        f"events; workers: {each}; the mock server used {mock_cpu:.0f} s of CPU meanwhile; "
        f"all cores {result.machine_busy:.0%} busy"
    )
    return int(stats["total"])


def _mark(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.refresh", description=__doc__)
    parser.add_argument("--legs", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--carriers", nargs="+", default=["fedex", "usps"])
    parser.add_argument("--profile", metavar="DIR", help="pyinstrument the 1-worker refreshes")
    parser.add_argument("--concurrency", type=int, default=32, help="FIRSTSCAN_POLL_CONCURRENCY")
    parser.add_argument("--claim-size", type=int, default=600, help="FIRSTSCAN_POLL_CLAIM_SIZE")
    args = parser.parse_args(argv)
    print_machine("refresh throughput: worker processes against the mock carrier (issue 5)")
    print(f"settings: poll concurrency {args.concurrency}, claim size {args.claim_size}, "
          f"limits out of the way, mock latency {args.latency_ms:.0f} ms")  # fmt: skip
    mock, base = start_mock(args.latency_ms)
    env = worker_env(base, concurrency=args.concurrency, claim_size=args.claim_size)
    try:
        total = 0
        for carrier in args.carriers:
            print(f"{carrier} ({'30 numbers' if carrier == 'fedex' else 'one number'} a request),"
                  f" {args.legs:,} legs:")  # fmt: skip
            load_legs(carrier, args.legs)
            cpu = process_cpu_seconds(mock.pid)
            result = run_workers(1, env)
            cpu = process_cpu_seconds(mock.pid) - cpu
            total = describe("first poll, 1 worker", result, total, base, cpu)
            for workers in (1, 2):
                make_all_due()
                profile = f"{args.profile}/refresh-{carrier}.txt" if args.profile else None
                cpu = process_cpu_seconds(mock.pid)
                result = run_workers(workers, env, profile if workers == 1 else None)
                cpu = process_cpu_seconds(mock.pid) - cpu
                total = describe(f"refresh, {workers} worker(s)", result, total, base, cpu)
            print(f"  load after {carrier}: {os.getloadavg()[0]:.2f}")
    finally:
        mock.terminate()
        mock.wait(timeout=30)
        database.drop(RUN_DATABASE)


if __name__ == "__main__":
    main()
