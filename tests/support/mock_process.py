"""Runs the instrumented mock carrier server (tests.support.instrumented_mock) in its own process
and talks to its control endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from mock_carriers import DEFAULT_CREDENTIALS, DEFAULT_DHL_API_KEY

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STARTUP_DEADLINE_SECONDS = 30.0
STOP_DEADLINE_SECONDS = 10.0


@dataclass
class MockCarrierProcess:
    base_url: str
    http: httpx.AsyncClient

    def carrier_settings(self) -> dict[str, Any]:
        """Settings fields for live mode against this server, with the credentials it expects."""
        fields: dict[str, Any] = {"carrier_mode": "live", "dhl_api_key": DEFAULT_DHL_API_KEY}
        for carrier in ("usps", "ups", "fedex", "dhl"):
            fields[f"{carrier}_base_url"] = f"{self.base_url}/{carrier}"
        for carrier, credentials in DEFAULT_CREDENTIALS.items():
            fields[f"{carrier}_client_id"] = credentials.client_id
            fields[f"{carrier}_client_secret"] = credentials.client_secret
        return fields

    def worker_env(self) -> dict[str, str]:
        """The same, as FIRSTSCAN_* environment variables for a `firstscan worker` process."""
        return {f"FIRSTSCAN_{k.upper()}": str(v) for k, v in self.carrier_settings().items()}

    async def _post(self, path: str, body: object) -> Any:
        response = await self.http.post(path, json=body)
        response.raise_for_status()
        return response.json()

    async def _get(self, path: str) -> Any:
        response = await self.http.get(path)
        response.raise_for_status()
        return response.json()

    async def configure(self, **faults: object) -> None:
        """POST /_mock/config: change faults at runtime (see mock_carriers.faults)."""
        await self._post("/_mock/config", faults)

    async def fix_shipments(self, shipments: list[dict[str, object]]) -> None:
        await self._post("/_mock/shipments", {"shipments": shipments})

    async def stats(self) -> Any:
        return await self._get("/_mock/stats")

    async def asked(self) -> dict[tuple[str, str], list[float]]:
        """When each (carrier, number) was answered, unix seconds, oldest first."""
        raw = await self._get("/_test/asked")
        return {tuple(key.split(" ", 1)): times for key, times in raw.items()}  # type: ignore[misc]

    async def traffic(self) -> Any:
        return await self._get("/_test/traffic")

    async def arrivals(self) -> dict[str, list[float]]:
        """When each tracking request reached the server, per carrier (monotonic seconds)."""
        return dict(await self._get("/_test/arrivals"))

    async def set_clock(self, now: datetime | None) -> None:
        await self._post("/_test/clock", {"now": now.isoformat() if now else None})

    async def feed_scan(self, carrier: str, number: str, milestone: str, at: datetime) -> None:
        body = {"carrier": carrier, "tracking_number": number, "milestone": milestone}
        await self._post("/_test/scans", body | {"at": at.isoformat()})


@contextlib.asynccontextmanager
async def mock_carrier_process() -> AsyncIterator[MockCarrierProcess]:
    """Starts the server on a free loopback port and stops it afterwards."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.instrumented_mock",
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), STARTUP_DEADLINE_SECONDS)
        if not line.startswith(b"listening on "):
            raise RuntimeError(f"the mock carrier server did not start: {line!r}")
        base_url = f"http://127.0.0.1:{int(line.split()[-1])}"
        # trust_env=False: a proxy from the environment must never see loopback test traffic.
        async with httpx.AsyncClient(base_url=base_url, timeout=10, trust_env=False) as http:
            yield MockCarrierProcess(base_url, http)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_DEADLINE_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()


def reported_event_keys(
    carrier: str, number: str, now: datetime, label_created_at: datetime | None = None
) -> set[str]:
    """The dedupe keys of the scans the mock reports for a number at `now`, parsed by the
    carrier's own adapter parser: what a poll must store, no more and no less. Pass the label
    time the mock was given for the number, if it was given one."""
    from carriers.dhl import parse as dhl_parse
    from carriers.errors import TrackingNumberError
    from carriers.fedex import parse as fedex_parse
    from carriers.sandbox import plan_timeline
    from carriers.types import TrackingQuery, TrackingSnapshot
    from carriers.ups import parse as ups_parse
    from carriers.usps import parse as usps_parse
    from mock_carriers.payloads import dhl, fedex, ups, usps

    timeline = plan_timeline(carrier, number, label_created_at=label_created_at)
    try:
        if carrier == "fedex":
            body = json.dumps(fedex.tracking_answer([timeline], now))
            [result] = fedex_parse.parse_track_response(body, [number])
        else:
            answer = {"usps": usps, "ups": ups, "dhl": dhl}[carrier].tracking_answer
            status, document = answer(timeline, now)
            if status != 200:  # the carrier does not know the number (yet)
                return set()
            body = json.dumps(document)
            if carrier == "dhl":
                result = dhl_parse.parse_shipments(body, TrackingQuery(number, None, None))
            else:
                parse = usps_parse if carrier == "usps" else ups_parse
                result = parse.parse_tracking(body, tracking_number=number)
    except TrackingNumberError:  # some carriers say "not found" in a 200 body
        return set()
    if not isinstance(result, TrackingSnapshot):  # FedEx answers "not found" per number
        return set()
    return {event.dedupe_key for event in result.events}
