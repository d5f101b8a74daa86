"""`firstscan worker` processes against the instrumented mock carrier server (its own process)
and a real database: starting and stopping them, reading their metrics, seeding legs; and one
worker in the test's own process whose clock the test moves hour by hour."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.scheduler import run_once
from app.settings import Settings
from app.shipments.models import Leg, Order, Shipment
from app.wiring import WorkerContext, build_worker_context
from carriers.registry import CARRIER_CODES
from carriers.sandbox import derived_label_time
from tests.conftest import FixedClock
from tests.integration.alerts.conftest import receiver  # noqa: F401 - loopback webhook receiver
from tests.support.mock_process import PROJECT_ROOT, MockCarrierProcess, mock_carrier_process

# The fleet tests share work through PostgreSQL only (SQLite allows one worker process).
POSTGRES_ONLY = pytest.mark.parametrize(
    "empty_database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
STOP_DEADLINE_SECONDS = 30.0
WORKER_NICENESS = 5
_PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy"}


@pytest.fixture
async def mock_carrier() -> AsyncIterator[MockCarrierProcess]:
    async with mock_carrier_process() as mock:
        yield mock


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _worker_command() -> list[str]:
    script = Path(sys.executable).with_name("firstscan")
    if script.is_file():
        return [str(script), "worker"]
    return [sys.executable, "-m", "app.cli", "worker"]


@dataclass
class WorkerProcess:
    process: asyncio.subprocess.Process
    log: Path
    metrics_port: int

    @property
    def pid(self) -> int:
        return self.process.pid

    async def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """This worker's Prometheus samples: (name, sorted labels) -> value."""
        async with httpx.AsyncClient(timeout=5, trust_env=False) as http:
            response = await http.get(f"http://127.0.0.1:{self.metrics_port}/metrics")
        response.raise_for_status()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples
        }

    async def stop(self) -> int:
        """SIGTERM, then waits; a worker that does not stop in time is killed and fails the test."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), STOP_DEADLINE_SECONDS)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(
                f"worker {self.pid} ignored SIGTERM; log:\n{self.tail()}"
            ) from None

    async def kill(self) -> int:
        self.process.send_signal(signal.SIGKILL)
        return await self.process.wait()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class WorkerFleet:
    """Starts `firstscan worker` processes with live carriers pointed at the mock server."""

    tmp_path: Path
    database_url: str
    mock: MockCarrierProcess
    workers: list[WorkerProcess] = field(default_factory=list)

    def environment(self, settings: dict[str, object]) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("FIRSTSCAN_") and k.lower() not in _PROXY_VARIABLES
        }
        env |= {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        env |= self.mock.worker_env()
        env |= {
            "FIRSTSCAN_DATABASE_URL": self.database_url,
            "FIRSTSCAN_DATABASE_POOL_SIZE": "4",
            "FIRSTSCAN_LOG_LEVEL": "WARNING",
            "FIRSTSCAN_POLL_INTERVAL_SECONDS": "0.5",
        }
        env |= {f"FIRSTSCAN_{k.upper()}": str(v) for k, v in settings.items()}
        return env

    async def start(self, *, once: bool = False, **settings: object) -> WorkerProcess:
        """One worker; `settings` become FIRSTSCAN_* variables (lease_seconds=10, ...)."""
        port = free_port()
        log = self.tmp_path / f"worker-{len(self.workers)}.log"
        env = self.environment({"worker_metrics_port": port, **settings})
        with log.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                *_worker_command(),
                *(["--once"] if once else []),
                cwd=PROJECT_ROOT,
                env=env,
                stdout=sink,
                stderr=sink,
            )
        # The mock stands in for a carrier's own servers: the workers must not starve it of CPU
        # on this shared machine, or it would record requests late and bunched.
        os.setpriority(os.PRIO_PROCESS, process.pid, WORKER_NICENESS)
        worker = WorkerProcess(process, log, port)
        self.workers.append(worker)
        return worker

    def assert_running(self, workers: Sequence[WorkerProcess] | None = None) -> None:
        for worker in workers or self.workers:
            if worker.process.returncode is not None:
                raise AssertionError(
                    f"worker {worker.pid} exited with {worker.process.returncode}:\n{worker.tail()}"
                )

    async def stop_all(self) -> None:
        for worker in self.workers:
            if worker.process.returncode is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in self.workers:
            await worker.stop()


@pytest.fixture
async def fleet(tmp_path, empty_database_url, mock_carrier) -> AsyncIterator[WorkerFleet]:
    fleet = WorkerFleet(tmp_path, empty_database_url, mock_carrier)
    try:
        yield fleet
    finally:
        for worker in fleet.workers:
            if worker.process.returncode is None:
                worker.process.kill()
                await worker.process.wait()


async def wait_until(
    check: Callable[[], Awaitable[bool]],
    *,
    seconds: float,
    what: str,
    every: float = 0.2,
    fleet: WorkerFleet | None = None,
    describe: Callable[[], Awaitable[str]] | None = None,
) -> float:
    """Polls `check` until it holds; fails after `seconds`. Returns the seconds it took."""
    started = time.monotonic()
    while not await check():
        if fleet is not None:
            fleet.assert_running()
        if time.monotonic() - started > seconds:
            state = await describe() if describe else ""
            raise AssertionError(f"not {what} after {seconds:.0f} s {state}")
        await asyncio.sleep(every)  # polling with a deadline, not waiting blindly
    return time.monotonic() - started


def _new_leg(shipment_id: int, carrier: str, number: str, label_at: datetime, now: datetime):
    return {
        "shipment_id": shipment_id,
        "sequence": 1,
        "carrier": carrier,
        "tracking_number": number,
        "source": "shop",
        "label_created_at": label_at,
        "tracking_started_at": now,
        "active": True,
        "next_poll_at": now,  # a new leg is due at once
        "consecutive_failures": 0,
        "created_at": now,
        "updated_at": now,
    }


async def seed_legs(
    sessionmaker: async_sessionmaker[AsyncSession],
    numbers: Sequence[tuple[str, str]],
    *,
    now: datetime,
) -> None:
    """One order with one shipment and one due leg per (carrier, number), labelled when the
    sandbox says the number's label was printed (the mock server plays the same timeline)."""
    order_numbers = [f"W{int(now.timestamp())}-{i}" for i in range(len(numbers))]
    labels = [derived_label_time(carrier, number) for carrier, number in numbers]
    async with sessionmaker() as session:
        await session.execute(
            insert(Order),
            [{"order_number": n, "order_key": n, "created_at": now, "updated_at": now}
             for n in order_numbers],
        )  # fmt: skip
        order_ids = dict((await session.execute(select(Order.order_number, Order.id))).all())
        await session.execute(
            insert(Shipment),
            [{"order_id": order_ids[n], "label_created_at": label}
             for n, label in zip(order_numbers, labels, strict=True)],
        )  # fmt: skip
        shipment_ids = dict((await session.execute(select(Shipment.order_id, Shipment.id))).all())
        await session.execute(
            insert(Leg),
            [
                _new_leg(shipment_ids[order_ids[n]], carrier, number, label, now)
                for n, (carrier, number), label in zip(order_numbers, numbers, labels, strict=True)
            ],
        )
        await session.commit()


@dataclass
class SteppedWorker:
    """One worker in this process whose clock the test moves; the mock carrier follows it."""

    context: WorkerContext
    clock: FixedClock
    mock: MockCarrierProcess

    async def step_to(self, now: datetime) -> None:
        """Moves both clocks to `now`, then runs one pass of `firstscan worker --once`."""
        self.clock.now = now
        await self.mock.set_clock(now)
        await run_once(self.context)

    async def step_hourly(self, start: datetime, end: datetime) -> None:
        at = start
        while at <= end:
            await self.step_to(at)
            at += timedelta(hours=1)


@pytest.fixture
async def stepped_worker(
    empty_database_url, committing_sessionmaker, mock_carrier
) -> AsyncIterator[Callable[..., SteppedWorker]]:
    """Builds a SteppedWorker in live mode against the mock; keyword arguments are settings."""
    # trust_env=False: a proxy from the environment must never see loopback test traffic.
    async with httpx.AsyncClient(timeout=20, trust_env=False) as http:

        def build(now: datetime, **overrides: object) -> SteppedWorker:
            limits = {c: {"per_second": 1000, "per_hour": None, "per_day": None}
                      for c in CARRIER_CODES}  # fmt: skip
            settings = Settings(
                database_url=empty_database_url,
                carrier_limits=json.dumps(limits),
                **(mock_carrier.carrier_settings() | overrides),  # type: ignore[arg-type]
            )
            clock = FixedClock(now)
            context = build_worker_context(
                settings, sessionmaker=committing_sessionmaker, http=http, clock=clock
            )
            return SteppedWorker(context, clock, mock_carrier)

        yield build
