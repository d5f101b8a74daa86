"""The faults: killed database connections and a carrier that stops answering in time. (The
third, a receiver that fails a share of alert deliveries, is `bench.soak.receiver`.)"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx
import psycopg

from bench import database
from bench.soak.processes import CARRIER_TIMEOUT_SECONDS

# Well past the worker's carrier timeout: every request to the stalled carrier times out.
STALL_LATENCY_MS = (1500 * CARRIER_TIMEOUT_SECONDS, 2000 * CARRIER_TIMEOUT_SECONDS)
STALLED_CARRIERS = ("fedex", "ups", "usps", "dhl")


@dataclass
class FaultLog:
    kills: int = 0
    backends_killed: int = 0
    stalls: list[str] = field(default_factory=list)


def terminate_backends(name: str) -> int:
    """Terminates every connection to database `name` (the API's and the worker's), as a
    PostgreSQL restart or an operator would; returns how many there were."""
    with database.admin_connection() as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return len(rows)


async def kill_connections(name: str, log: FaultLog, *, every_seconds: float, until: float) -> None:
    while time.monotonic() + every_seconds < until:
        await asyncio.sleep(every_seconds)
        try:
            killed = await asyncio.to_thread(terminate_backends, name)
        except psycopg.Error as exc:
            print(f"  (could not kill connections: {exc})")
            continue
        log.kills += 1
        log.backends_killed += killed


async def stall_carriers(
    mock: httpx.AsyncClient,
    log: FaultLog,
    *,
    every_seconds: float,
    stall_seconds: float,
    until: float,
) -> None:
    """Every `every_seconds`, one carrier (in turn) answers too late for `stall_seconds`."""
    turn = 0
    while time.monotonic() + every_seconds < until:
        await asyncio.sleep(every_seconds - stall_seconds)
        carrier = STALLED_CARRIERS[turn % len(STALLED_CARRIERS)]
        turn += 1
        stalled = {"latency_ms": list(STALL_LATENCY_MS), "carriers": [carrier]}
        (await mock.post("/_mock/config", json=stalled)).raise_for_status()
        log.stalls.append(carrier)
        await asyncio.sleep(stall_seconds)
        await calm_carriers(mock)


async def calm_carriers(mock: httpx.AsyncClient) -> None:
    (await mock.post("/_mock/config", json={"latency_ms": 0, "carriers": []})).raise_for_status()
