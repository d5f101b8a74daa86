"""python -m bench.soak [--minutes 30]: see bench/soak/__init__.py."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

from bench import database
from bench.machine import print_machine
from bench.soak import faults, processes, traffic
from bench.soak.checks import Check, RssSample, run_checks
from bench.soak.ledger import Ledger
from bench.soak.receiver import AlertReceiver, running_receiver

RUN_DATABASE = "firstscan_bench_soak"
RSS_EVERY_SECONDS = 30.0
WARMUP_SECONDS = 300.0
SETTLE_CHECK_SECONDS = 3.0


async def sample_rss(
    api: processes.Process, worker: processes.Process, samples: list[RssSample], *, until: float
) -> None:
    """RSS of both processes every 30 s, and once more at the end."""
    started = time.monotonic()
    while True:
        api.check_running()
        worker.check_running()
        now = time.monotonic()
        samples.append(RssSample(now - started, api.rss_kib(), worker.rss_kib()))
        if now >= until:
            return
        await asyncio.sleep(min(RSS_EVERY_SECONDS, until - now))


def due_messages(name: str) -> int:
    """Outbox rows waiting to be sent now (pending, their next attempt due)."""
    with psycopg.connect(database.database_url(name)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM alert_notifications "
            "WHERE status = 'pending' AND next_attempt_at <= now()"
        ).fetchone()
    return int(row[0]) if row else 0


async def settle(name: str, *, seconds: float) -> float:
    """With the faults off, waits until the worker has sent every message that is due (two
    checks in a row), at most `seconds`; returns how long it took."""
    started = time.monotonic()
    quiet = 0
    while time.monotonic() - started < seconds and quiet < 2:
        await asyncio.sleep(SETTLE_CHECK_SECONDS)
        quiet = quiet + 1 if await asyncio.to_thread(due_messages, name) == 0 else 0
    return time.monotonic() - started


async def soak(
    args: argparse.Namespace,
    stack: processes.Stack,
    keys: dict[str, str],
    running: tuple[processes.Process, processes.Process],
    receiver: AlertReceiver,
) -> tuple[Ledger, faults.FaultLog, list[RssSample]]:
    ledger, fault_log, samples = Ledger(), faults.FaultLog(), []
    until = time.monotonic() + args.minutes * 60
    async with (
        httpx.AsyncClient(base_url=stack.api_url, timeout=60, trust_env=False) as api,
        httpx.AsyncClient(base_url=stack.mock_url, timeout=30, trust_env=False) as mock,
    ):
        clients = traffic.Clients(api, mock, ledger, keys=keys)
        stall_every = min(300.0, args.minutes * 20)  # a few stalls even in a short run
        await asyncio.gather(
            traffic.run_traffic(clients, traffic.Pace(), until=until),
            faults.kill_connections(
                stack.database, fault_log, every_seconds=args.kill_every, until=until
            ),
            faults.stall_carriers(
                mock,
                fault_log,
                every_seconds=stall_every,
                stall_seconds=min(60.0, stall_every / 3),
                until=until,
            ),
            sample_rss(*running, samples, until=until),
        )
        receiver.failure_share = 0.0
        await faults.calm_carriers(mock)
    took = await settle(stack.database, seconds=args.settle_seconds)
    print(f"settled: {took:.0f} s after the traffic stopped, faults off")
    return ledger, fault_log, samples


def print_summary(
    ledger: Ledger,
    fault_log: faults.FaultLog,
    samples: list[RssSample],
    checks: list[Check],
    figures: dict[str, int],
) -> None:
    print("\nrequests by kind: total, 2xx, 4xx, documented 503, other 5xx, dropped connections")
    for kind, total in sorted(ledger.requests_by_kind().items()):
        by_status = {s: n for (k, s), n in ledger.answers.items() if k == kind}
        four = sum(n for s, n in by_status.items() if 400 <= s < 500)
        five = sum(n for s, n in by_status.items() if s >= 500) - ledger.documented_503s[kind]
        print(
            f"  {kind:<14} {total:>6} {ledger.ok_by_kind()[kind]:>6} {four:>5} "
            f"{ledger.documented_503s[kind]:>4} {five:>4} {ledger.transport_errors[kind]:>4}"
        )
    print(
        f"faults: {fault_log.kills} connection kills ({fault_log.backends_killed} backends), "
        f"carrier stalls {', '.join(fault_log.stalls) or 'none'}"
    )
    print("database: " + ", ".join(f"{k} {v}" for k, v in sorted(figures.items())))
    if ledger.client_failures:
        print(f"client-side failures (the soak's own): {dict(ledger.client_failures)}")
    print(
        "RSS (MiB) by minute: "
        + ", ".join(
            f"{s.seconds / 60:.1f}: {s.api_kib / 1024:.0f}/{s.worker_kib / 1024:.0f}"
            for s in samples
        )
        + "  (API/worker)"
    )
    print("\nchecks:")
    for check in checks:
        print(f"  {'PASS' if check.ok else 'FAIL'}  {check.name}: {check.detail}")


def run(args: argparse.Namespace) -> bool:
    logs = Path(tempfile.mkdtemp(prefix="firstscan-soak-"))
    print(f"logs: {logs}")
    receiver = AlertReceiver(failure_share=args.receiver_failures)
    database.create(RUN_DATABASE)
    try:
        database.migrate(RUN_DATABASE)
        with running_receiver(receiver) as receiver_url, processes.running_mock(logs) as mock:
            stack = processes.Stack(
                database=RUN_DATABASE,
                mock_url=mock[1],
                api_url=f"http://127.0.0.1:{processes.free_port()}",
                receiver_url=receiver_url,
                metrics_port=processes.free_port(),
            )
            keys = {role: processes.create_key(stack, role) for role in ("ingest", "admin")}
            with (
                processes.running_api(stack, logs) as api,
                processes.running_worker(stack, logs) as worker,
            ):
                ledger, fault_log, samples = asyncio.run(
                    soak(args, stack, keys, (api, worker), receiver)
                )
                print(
                    "worker: "
                    + ", ".join(
                        f"{k} {v:.0f}" for k, v in sorted(processes.worker_figures(stack).items())
                    )
                )
                warmup = min(WARMUP_SECONDS, args.minutes * 60 / 3)
                checks, figures = run_checks(
                    RUN_DATABASE, ledger, receiver.snapshot(), samples, warmup_seconds=warmup
                )
        print_summary(ledger, fault_log, samples, checks, figures)
    finally:
        database.drop(RUN_DATABASE)
    return all(check.ok for check in checks)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument(
        "--kill-every",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="terminate every database connection of the app this often",
    )
    parser.add_argument(
        "--receiver-failures",
        type=float,
        default=0.2,
        metavar="SHARE",
        help="share of alert deliveries the receiver refuses (500/503)",
    )
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=180.0,
        help="at most this long for the due messages to go out at the end",
    )
    args = parser.parse_args(argv)
    print_machine(f"soak: {args.minutes:g} minutes of mixed traffic with faults (issue 12)")
    sys.exit(0 if run(args) else 1)


if __name__ == "__main__":
    main()
