"""The processes under soak: the mock carrier, `firstscan serve` and `firstscan worker`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import database
from carriers.registry import CARRIER_CODES
from mock_carriers import DEFAULT_CREDENTIALS, DEFAULT_DHL_API_KEY

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60.0
STOP_SECONDS = 30.0
# Low enough that a stalled carrier costs a poll a few seconds, not the default 20.
CARRIER_TIMEOUT_SECONDS = 2
WEBHOOK_SECRET = "soak-webhook-secret"
_PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def rss_kib(self) -> int:
        """Resident memory now, from /proc/<pid>/status (Linux)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"{self.name} ({self.pid}) has no VmRSS")

    def check_running(self) -> None:
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}; see {self.log}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def _firstscan(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("firstscan")
    if script.is_file():
        return [str(script), *args]
    return [sys.executable, "-m", "app.cli", *args]


def _start(name: str, argv: list[str], env: dict[str, str], logs: Path) -> Process:
    log = logs / f"{name}.log"
    with log.open("wb") as sink:
        popen = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=sink, stderr=sink)
    return Process(name, popen, log)


def _wait_answering(process: Process, url: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    with httpx.Client(timeout=2, trust_env=False) as http:
        while time.monotonic() < deadline:
            process.check_running()
            try:
                if http.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)  # the process is starting; bounded by the deadline
    raise RuntimeError(f"{process.name} did not answer {url} within {STARTUP_SECONDS:.0f} s")


@dataclass(frozen=True)
class Stack:
    """Where everything listens, and the environment every firstscan process shares."""

    database: str
    mock_url: str
    api_url: str
    receiver_url: str
    metrics_port: int

    def environment(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("FIRSTSCAN_") and k.lower() not in _PROXY_VARIABLES
        }
        env |= {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        limits = {c: {"per_second": 1000, "per_hour": None, "per_day": None} for c in CARRIER_CODES}
        env |= {
            "FIRSTSCAN_DATABASE_URL": database.database_url(self.database),
            "FIRSTSCAN_DATABASE_POOL_SIZE": "5",
            "FIRSTSCAN_SECRET_KEY": "soak-secret-key",
            "FIRSTSCAN_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "FIRSTSCAN_ALERT_WEBHOOK_URLS": self.receiver_url,
            "FIRSTSCAN_PUBLIC_BASE_URL": self.api_url,
            "FIRSTSCAN_LOG_LEVEL": "WARNING",
            "FIRSTSCAN_CARRIER_MODE": "live",
            "FIRSTSCAN_CARRIER_LIMITS": json.dumps(limits),
            "FIRSTSCAN_CARRIER_TIMEOUT_SECONDS": str(CARRIER_TIMEOUT_SECONDS),
            "FIRSTSCAN_DHL_BASE_URL": f"{self.mock_url}/dhl",
            "FIRSTSCAN_DHL_API_KEY": DEFAULT_DHL_API_KEY,
            "FIRSTSCAN_POLL_INTERVAL_SECONDS": "2",
            "FIRSTSCAN_RECONCILE_INTERVAL_SECONDS": "5",
            "FIRSTSCAN_DISPATCH_INTERVAL_SECONDS": "3",
            "FIRSTSCAN_WORKER_METRICS_PORT": str(self.metrics_port),
        }
        for code, credentials in DEFAULT_CREDENTIALS.items():
            env[f"FIRSTSCAN_{code.upper()}_BASE_URL"] = f"{self.mock_url}/{code}"
            env[f"FIRSTSCAN_{code.upper()}_CLIENT_ID"] = credentials.client_id
            env[f"FIRSTSCAN_{code.upper()}_CLIENT_SECRET"] = credentials.client_secret
        return env


# What the worker's own metrics say it did, summed by one label.
WORKER_FIGURES = {
    "firstscan_polls_total": "outcome",
    "firstscan_carrier_errors_total": "kind",
}


def worker_figures(stack: Stack) -> dict[str, float]:
    """The worker's counters from its metrics port, e.g. {"polls ok": 812, ...}."""
    from prometheus_client.parser import text_string_to_metric_families

    url = f"http://127.0.0.1:{stack.metrics_port}/metrics"
    text = httpx.get(url, timeout=10, trust_env=False).text
    figures: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            label = WORKER_FIGURES.get(sample.name)
            if label is not None:
                name = f"{sample.name.removeprefix('firstscan_').removesuffix('_total')} "
                key = name + sample.labels.get(label, "?")
                figures[key] = figures.get(key, 0) + sample.value
    return figures


def create_key(stack: Stack, role: str) -> str:
    """A fresh API key of `role`, made by `firstscan keys create` (it prints the key last)."""
    out = subprocess.run(
        _firstscan("keys", "create", "--role", role, "--name", f"soak {role}"),
        cwd=ROOT,
        env=stack.environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


@contextmanager
def running_mock(logs: Path) -> Iterator[tuple[Process, str]]:
    """The mock carrier server on a free loopback port; label times are fixed per number by the
    traffic (POST /_mock/shipments), as the shop's orders say."""
    port = free_port()
    argv = [sys.executable, "-m", "mock_carriers", "--port", str(port)]
    process = _start("mock-carrier", argv, dict(os.environ), logs)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_answering(process, f"{base}/_mock/stats")
        yield process, base
    finally:
        process.stop()


@contextmanager
def running_api(stack: Stack, logs: Path) -> Iterator[Process]:
    port = int(stack.api_url.rsplit(":", 1)[1])
    process = _start("api", _firstscan("serve", "--port", str(port)), stack.environment(), logs)
    try:
        _wait_answering(process, f"{stack.api_url}/healthz")
        yield process
    finally:
        process.stop()


@contextmanager
def running_worker(stack: Stack, logs: Path) -> Iterator[Process]:
    process = _start("worker", _firstscan("worker"), stack.environment(), logs)
    try:
        _wait_answering(process, f"http://127.0.0.1:{stack.metrics_port}/metrics")
        yield process
    finally:
        process.stop()
