"""The mock carrier server plus what multi-process tests need to see and steer it:

    GET  /_test/asked      {"<carrier> <number>": [unix seconds, ...]}: each time a tracking
                           request for the number was answered from its timeline
    GET  /_test/arrivals   when each tracking request reached the app, per carrier (monotonic)
    GET  /_test/traffic    tracking requests started and still in flight, per carrier, and the
                           longest this server's event loop woke late (it delays arrivals)
    POST /_test/clock      {"now": ISO-8601 or null}: the carrier's clock (null: real time)
    POST /_test/scans      {"carrier", "tracking_number", "milestone", "at"}: a scan the carrier
                           reports from now on, at the parcel's destination
    POST /_test/reset      forget the above, and the mock's own state

Run: python -m tests.support.instrumented_mock; prints "listening on <port>" once it accepts.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime

import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from carriers.sandbox.timeline import Scan, Timeline
from carriers.sandbox.vocabulary import Milestone, wording
from mock_carriers import MockCarrierServer
from mock_carriers.responses import json_response
from mock_carriers.server import CarrierRoute


class InstrumentedMockServer(MockCarrierServer):
    def __init__(self) -> None:
        self.fixed_now: datetime | None = None
        super().__init__(clock=self.now)
        self.asked: defaultdict[str, list[float]] = defaultdict(list)
        self.started: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.max_lag = 0.0
        self.arrivals: defaultdict[str, list[float]] = defaultdict(list)
        self._lag_task: asyncio.Task[None] | None = None
        self.fed: defaultdict[tuple[str, str], list[tuple[Milestone, datetime]]] = defaultdict(list)

    def now(self) -> datetime:
        return self.fixed_now or datetime.now(UTC)

    async def _watch_lag(self) -> None:
        """How late this process's event loop wakes up: late wake-ups bunch recorded arrivals."""
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            self.max_lag = max(self.max_lag, time.monotonic() - before - 0.01)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._lag_task is None:
            self._lag_task = asyncio.create_task(self._watch_lag())
        await super().__call__(scope, receive, send)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/_test/asked", self._asked, methods=["GET"]),
            Route("/_test/traffic", self._traffic, methods=["GET"]),
            Route("/_test/arrivals", self._arrivals, methods=["GET"]),
            Route("/_test/clock", self._set_clock, methods=["POST"]),
            Route("/_test/scans", self._feed_scan, methods=["POST"]),
            Route("/_test/reset", self._reset_all, methods=["POST"]),
            *super().routes(),
        ]

    async def handle(self, route: CarrierRoute, request: Request) -> Response:
        if route.kind != "track":
            return await super().handle(route, request)
        self.started[route.carrier] += 1
        self.arrivals[route.carrier].append(time.monotonic())
        self.in_flight[route.carrier] += 1
        try:
            return await super().handle(route, request)
        finally:
            self.in_flight[route.carrier] -= 1

    def timeline(self, carrier: str, tracking_number: str) -> Timeline:
        self.asked[f"{carrier} {tracking_number}"].append(time.time())
        planned = super().timeline(carrier, tracking_number)
        fed = self.fed.get((carrier, tracking_number))
        if not fed:
            return planned
        place = planned.destination
        extra = tuple(Scan(m, at, place, wording(carrier, m)) for m, at in fed)
        return replace(planned, scans=tuple(sorted(planned.scans + extra, key=lambda s: s.at)))

    async def _asked(self, request: Request) -> Response:
        return json_response(200, self.asked)

    async def _traffic(self, request: Request) -> Response:
        traffic = {"started": self.started, "in_flight": self.in_flight, "max_lag": self.max_lag}
        return json_response(200, traffic)

    async def _arrivals(self, request: Request) -> Response:
        return json_response(200, self.arrivals)

    async def _set_clock(self, request: Request) -> Response:
        now = (await request.json())["now"]
        self.fixed_now = datetime.fromisoformat(now) if now else None
        return json_response(200, {"now": self.now().isoformat()})

    async def _feed_scan(self, request: Request) -> Response:
        body = await request.json()
        at = datetime.fromisoformat(body["at"]).astimezone(UTC).replace(second=0)
        self.fed[(body["carrier"], body["tracking_number"])].append(
            (Milestone(body["milestone"]), at)
        )
        return json_response(200, {"fed": True})

    async def _reset_all(self, request: Request) -> Response:
        self.reset()
        self.fixed_now = None
        for tally in (self.asked, self.started, self.in_flight, self.fed, self.arrivals):
            tally.clear()
        return json_response(200, {"reset": True})


def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)  # connections queue from here on, before uvicorn starts accepting
    sys.stdout.write(f"listening on {sock.getsockname()[1]}\n")
    sys.stdout.flush()
    config = uvicorn.Config(
        InstrumentedMockServer(),
        lifespan="on",
        log_level="warning",
        ws="none",
        backlog=1024,
        timeout_keep_alive=30,
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
