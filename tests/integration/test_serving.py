"""`firstscan serve` believes X-Forwarded-For only from the proxies it is told to trust, so the
customer endpoints' per-address limit counts the real peer."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app import migrate
from app.serving import uvicorn_options
from app.settings import Settings
from tests.support.live_app import free_port
from tests.support.waiting import wait_until

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def firstscan_serve(tmp_path: Path, **env: str) -> Iterator[str]:
    """`firstscan serve` in its own process on a migrated SQLite file; yields its base URL.
    What it prints goes to tmp_path/serve.log."""
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    migrate.upgrade(url)
    port = free_port()
    environment = {
        **os.environ,
        "FIRSTSCAN_DATABASE_URL": url,
        "FIRSTSCAN_SECRET_KEY": "serve-tests",
        "FIRSTSCAN_PUBLIC_RATE_LIMIT_PER_ADDRESS": "3/minute",
        "FIRSTSCAN_PUBLIC_RATE_LIMIT_PER_ORDER": "100/minute",
        "FIRSTSCAN_LOG_LEVEL": "WARNING",
        **env,
    }
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"firstscan serve exited with {process.returncode}")
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(answers, within=30, what="firstscan serve answering /healthz")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def lookups(base: str, forwarded_for: list[str]) -> list[int]:
    with httpx.Client(base_url=base) as client:
        return [
            client.get(
                f"/v1/public/status/NOPE-{n}",
                params={"postal_code": "1"},
                headers={"X-Forwarded-For": address},
            ).status_code
            for n, address in enumerate(forwarded_for)
        ]


def test_by_default_a_forwarded_address_does_not_escape_the_limit(tmp_path):
    with firstscan_serve(tmp_path) as base:
        statuses = lookups(base, [f"203.0.113.{n}" for n in range(1, 6)])

    assert statuses == [404, 404, 404, 429, 429]


def test_a_trusted_proxy_s_forwarded_addresses_are_counted_each_alone(tmp_path):
    with firstscan_serve(tmp_path, FIRSTSCAN_FORWARDED_ALLOW_IPS="127.0.0.1") as base:
        distinct = lookups(base, [f"203.0.113.{n}" for n in range(1, 6)])
        repeated = lookups(base, ["198.51.100.7"] * 4)

    assert distinct == [404] * 5
    assert repeated == [404, 404, 404, 429]


def test_the_access_log_shows_no_signed_link(tmp_path):
    token = "eyJvIjoiRlMtMTAwMSJ9.secret-part.signature"
    with firstscan_serve(tmp_path, FIRSTSCAN_LOG_LEVEL="INFO") as base:
        httpx.get(f"{base}/track/t/{token}?from=email")
        httpx.get(f"{base}/track/FS-1001")

    log = (tmp_path / "serve.log").read_text()
    assert "GET /track/t/…?from=email HTTP/1.1" in log
    assert "GET /track/FS-1001 HTTP/1.1" in log
    assert "secret-part" not in log


@pytest.mark.parametrize(
    ("configured", "options"),
    [
        (None, {"proxy_headers": False, "forwarded_allow_ips": ""}),
        ("", {"proxy_headers": False, "forwarded_allow_ips": ""}),
        (
            "10.0.0.5, 10.1.0.0/16",
            {"proxy_headers": True, "forwarded_allow_ips": "10.0.0.5,10.1.0.0/16"},
        ),
        ("*", {"proxy_headers": True, "forwarded_allow_ips": "*"}),
    ],
)
def test_the_proxy_setting_becomes_uvicorn_s_options(configured, options):
    settings = Settings(database_url="sqlite:///x.db", forwarded_allow_ips=configured)

    chosen = uvicorn_options(settings)

    assert {name: chosen[name] for name in options} == options


def test_a_proxy_that_is_no_address_stops_start_up(monkeypatch):
    from app.settings import ConfigurationError, load_settings

    monkeypatch.setenv("FIRSTSCAN_FORWARDED_ALLOW_IPS", "10.0.0.1,proxy.local")

    with pytest.raises(ConfigurationError, match=r"FIRSTSCAN_FORWARDED_ALLOW_IPS: 'proxy\.local'"):
        load_settings()
