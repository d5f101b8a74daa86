"""The ingest benchmark (issues 12 and 17): 50,000 label rows through `firstscan import` and through
`POST /v1/imports` on PostgreSQL, beside a plain COPY of the same rows as the stack's own limit.

    python -m bench.ingest [--rows 50000] [--body-rows 10000]

Each run makes its own database (FIRSTSCAN_BENCH_DATABASE_URL names the server) and drops it.
Rows are NDJSON with every field a shop sends (a quarter hand off to a USPS last mile), labels
printed two days ago. In order:
(a) the CLI as a subprocess on a tenth of the rows, then on all of them: rows/s and the process's
    peak resident memory (the file is streamed, so it should not grow with the file);
(b) the same file again: every row comes back unchanged (the import is idempotent);
(c) `firstscan serve` (uvicorn) on loopback, and the other rows posted in bodies of --body-rows
    rows, each under the 5 MiB body limit: the first is the 10,000-row body that failed with
    "out of shared memory" when a whole body was one transaction;
(d) COPY of the same rows into one unindexed table of text columns: the floor for this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

from bench import database
from bench.machine import print_machine
from carriers.numbers import build_valid_number

RUN_DATABASE = "firstscan_bench_ingest"
BODY_LIMIT = 5 * 1024 * 1024  # the default FIRSTSCAN_MAX_BODY_BYTES
API_SERIALS = 10_000_000  # the API's rows get numbers of their own, so they are new rows
COLUMNS = (
    "order_number",
    "tracking_number",
    "carrier",
    "service",
    "label_created_at",
    "customer_email",
    "customer_postal_code",
    "promised_delivery_date",
    "claimed_status",
    "last_mile_carrier",
    "last_mile_tracking_number",
)


def label_rows(first: int, count: int) -> Iterator[dict[str, str]]:
    """`count` label rows numbered from `first`, as a shop's export would send them."""
    label_at = datetime.now(UTC) - timedelta(days=2)
    for serial in range(first, first + count):
        row = {
            "order_number": f"ING-{serial:08d}",
            "tracking_number": build_valid_number("ups_1z", f"1Z999AA1{serial:09d}"),
            "carrier": "ups",
            "service": "ground",
            "label_created_at": label_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "customer_email": f"customer.{serial:08d}@example.com",
            "customer_postal_code": "97211",
            "promised_delivery_date": (label_at + timedelta(days=5)).date().isoformat(),
            "claimed_status": "shipped",
        }
        if serial % 4 == 0:
            row["last_mile_carrier"] = "usps"
            row["last_mile_tracking_number"] = build_valid_number("usps_impb", f"9400{serial:017d}")
        yield row


def write_ndjson(path: Path, first: int, count: int) -> int:
    with path.open("w") as out:
        for row in label_rows(first, count):
            out.write(json.dumps(row) + "\n")
    return path.stat().st_size


@dataclass(frozen=True)
class CliRun:
    seconds: float
    peak_rss_mib: float
    summary: str


def run_cli(path: Path, env: dict[str, str]) -> CliRun:
    """`firstscan import` in its own process; its peak memory from the kernel (wait4)."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        argv = [sys.executable, "-m", "app.cli", "import", str(path)]
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode()
    if process.returncode != 0:
        raise RuntimeError(f"firstscan import failed ({process.returncode}): {output}")
    summary = next(line for line in output.splitlines() if " rows: " in line)
    return CliRun(elapsed, usage.ru_maxrss / 1024, summary.strip())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_api(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, str]:
    """`firstscan serve` on loopback and a new ingest key for it."""
    created = subprocess.run(
        [sys.executable, "-m", "app.cli", "keys", "create", "--role", "ingest"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = created.stdout.strip().splitlines()[-1]
    port = _free_port()
    argv = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(argv, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/healthz", timeout=1.0).raise_for_status()
            return process, base, key
        except httpx.HTTPError:
            time.sleep(0.2)  # the server is starting; bounded by the deadline
    process.kill()
    raise RuntimeError("firstscan serve did not start")


def post_bodies(base: str, key: str, rows: int, body_rows: int) -> float:
    """Posts `rows` new rows in bodies of `body_rows`; returns the seconds they took in all."""
    total = 0.0
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
    with httpx.Client(base_url=base, headers=headers, timeout=3600) as client:
        for first in range(API_SERIALS, API_SERIALS + rows, body_rows):
            count = min(body_rows, API_SERIALS + rows - first)
            body = "".join(json.dumps(row) + "\n" for row in label_rows(first, count)).encode()
            if len(body) >= BODY_LIMIT:
                raise ValueError(f"a body of {count} rows is {len(body):,} bytes, over 5 MiB")
            started = time.perf_counter()
            response = client.post("/v1/imports", content=body)
            elapsed = time.perf_counter() - started
            total += elapsed
            report = response.json()
            outcome = (
                f"{report['stored']:,} stored, {len(report['rejected'])} rejected"
                if response.status_code == 200
                else f"{response.status_code} {report.get('detail', '')[:120]}"
            )
            print(
                f"  body of {count:,} rows ({len(body) / 1e6:.2f} MB): {response.status_code} "
                f"in {elapsed:.1f} s ({count / elapsed:,.0f} rows/s): {outcome}"
            )
            if response.status_code != 200:
                raise RuntimeError("an import body failed")
    return total


def stop_api(process: subprocess.Popen[bytes]) -> float:
    """Stops the server; returns its peak resident memory in MiB."""
    process.terminate()
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0
    return usage.ru_maxrss / 1024


def copy_floor(rows: int) -> float:
    """Seconds to COPY the same rows into one unindexed table of text columns."""
    url = database.database_url(RUN_DATABASE)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE copy_floor ({', '.join(f'{c} text' for c in COLUMNS)})")
        conn.commit()
        started = time.perf_counter()
        with cur.copy(f"COPY copy_floor ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in label_rows(1, rows):
                copy.write_row(tuple(row.get(c) for c in COLUMNS))
        conn.commit()
        return time.perf_counter() - started


def bench(rows: int, body_rows: int, folder: Path, *, memory_only: bool = False) -> None:
    env = {
        **os.environ,
        "FIRSTSCAN_DATABASE_URL": database.database_url(RUN_DATABASE),
        "FIRSTSCAN_LOG_LEVEL": "WARNING",
        "FIRSTSCAN_SECRET_KEY": secrets.token_urlsafe(32),
    }
    small, big = folder / "small.ndjson", folder / "labels.ndjson"
    small_bytes = write_ndjson(small, API_SERIALS * 2, rows // 10)
    big_bytes = write_ndjson(big, 1, rows)
    print(f"files: {rows:,} rows, {big_bytes / 1e6:.1f} MB ({big_bytes / rows:.0f} bytes a row)")
    runs = [
        ("(a) CLI, a tenth", small, rows // 10, small_bytes),
        ("(a) CLI, all rows", big, rows, big_bytes),
        ("(b) CLI, replay", big, rows, big_bytes),
    ]
    for label, path, count, size in runs[:2] if memory_only else runs:
        run = run_cli(path, env)
        print(
            f"{label}: {count:,} rows ({size / 1e6:.1f} MB) in {run.seconds:.1f} s, "
            f"{count / run.seconds:,.0f} rows/s, peak memory {run.peak_rss_mib:.0f} MiB: "
            f"{run.summary}"
        )
    if memory_only:
        return
    server, base, key = start_api(env)
    try:
        print(f"(c) API: {rows:,} new rows in bodies of {body_rows:,}")
        seconds = post_bodies(base, key, rows, body_rows)
    finally:
        server_rss = stop_api(server)
    print(
        f"(c) API: {rows:,} rows in {seconds:.1f} s, {rows / seconds:,.0f} rows/s; "
        f"server peak memory {server_rss:.0f} MiB"
    )
    copy_s = copy_floor(rows)
    print(f"(d) COPY into one unindexed table: {rows:,} rows in {copy_s:.2f} s, "
          f"{rows / copy_s:,.0f} rows/s")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--body-rows", type=int, default=10_000, help="rows per API body")
    parser.add_argument(
        "--world",
        default=None,
        help="import into a clone of this generated world (bench.generate, e.g."
        " firstscan_lookup_300000 or firstscan_bench) instead of an empty database",
    )
    parser.add_argument(
        "--memory",
        action="store_true",
        help="(a) only: the CLI's peak memory at a tenth of the rows and at all (1 M rows: about"
        " 25 minutes here, where the whole benchmark takes over an hour)",
    )
    args = parser.parse_args(argv)
    print_machine("ingest: label rows through the CLI and the API on PostgreSQL (issues 12, 17)")
    database.create(RUN_DATABASE, template=args.world)
    database.migrate(RUN_DATABASE)
    if args.world:
        print(f"into a clone of {args.world}")
    try:
        with tempfile.TemporaryDirectory(prefix="firstscan-ingest-") as folder:
            bench(args.rows, args.body_rows, Path(folder), memory_only=args.memory)
    finally:
        database.drop(RUN_DATABASE)


if __name__ == "__main__":
    main()
