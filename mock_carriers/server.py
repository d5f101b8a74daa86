"""One Starlette app standing in for the USPS, UPS, FedEx and DHL tracking APIs over real HTTP.

Point an adapter's base URL at http://HOST:PORT/<carrier> and it meets the carrier's paths:

    POST /usps/oauth2/v3/token                 GET  /usps/tracking/v3/tracking/{n}?expand=DETAIL
    POST /ups/security/v1/oauth/token          GET  /ups/api/track/v1/details/{n}
    POST /fedex/oauth/token                    POST /fedex/track/v1/trackingnumbers
                                               GET  /dhl/track/shipments?trackingNumber={n}
    POST /ups/api/track/v1/subscription/standard/package   (UPS Track Alert subscriptions,
    POST /ups/api/track/v2/subscription/standard/package    v1 and v2)
    POST /usps/subscriptions-tracking/v3/subscriptions     (USPS Subscriptions - Tracking)

Answers come from the sandbox's deterministic timelines (carriers.sandbox), rendered in each
carrier's JSON (mock_carriers.payloads). Control endpoints, for tests and benches:

    GET  /_mock/stats      requests per carrier, status and path; busiest 1-second window
    GET  /_mock/subscriptions  the numbers subscribed per number (UPS Track Alert with its
                               expiry, USPS Subscriptions - Tracking with its id)
    POST /_mock/reset      forget requests, runtime settings and first-seen times
    GET  /_mock/config     the fault settings in force
    POST /_mock/config     change fault settings (see faults.py), expire tokens, reseed
    POST /_mock/shipments  fix a number's scenario or label time
    POST /_mock/push/targets   where USPS or FedEx pushes, signed with what, for which numbers
    POST /_mock/ups/webhook    UPS Track Alert v2's webhook as registered in UPS's portal: URL,
                               token URL, client id and secret (mock_carriers.subscriptions)
    POST /_mock/push/faults    push faults: delayed, duplicated, lost, badly signed, reordered
    POST /_mock/push           one push round now: every watched number's new scans
                               (mock_carriers.pushing; `push_every` runs rounds on its own)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import httpx
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from carriers.sandbox.scenarios import HANDOFF_SCENARIOS, Dice, Scenario, can_hand_off
from carriers.sandbox.timeline import Timeline, plan_timeline
from carriers.types import CARRIER_CODES
from mock_carriers.control import FaultUpdate, ShipmentSettings
from mock_carriers.faults import FaultConfig, FaultPlan
from mock_carriers.pushing import Pusher, PushFaults, PushTarget
from mock_carriers.responses import json_response, method_not_allowed, not_found
from mock_carriers.stats import RecordedRequest, RequestLog
from mock_carriers.subscriptions import (
    TrackAlertSubscriptions,
    UpsWebhook,
    UspsTrackingSubscriptions,
)
from mock_carriers.tokens import TOKEN_LIFETIMES, ClientCredentials, TokenIssuer
from mock_carriers.tracking import TrackingEndpoints

CARRIERS = CARRIER_CODES
DEFAULT_CREDENTIALS = {
    carrier: ClientCredentials(f"mock-{carrier}-client-id", f"mock-{carrier}-client-secret")
    for carrier in TOKEN_LIFETIMES
}
DEFAULT_DHL_API_KEY = "mock-dhl-api-key"


@dataclass(frozen=True, slots=True)
class MockShipment:
    """A number whose scenario or label time is fixed instead of derived from its hash."""

    carrier: str
    tracking_number: str
    scenario: Scenario | None = None
    label_created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CarrierRoute:
    carrier: str
    method: str
    path: str  # as counted in stats, with {n} for the number
    kind: Literal["token", "track", "subscribe"]


CARRIER_ROUTES = (
    CarrierRoute("usps", "POST", "/usps/oauth2/v3/token", "token"),
    CarrierRoute("usps", "GET", "/usps/tracking/v3/tracking/{n}", "track"),
    CarrierRoute("usps", "POST", "/usps/subscriptions-tracking/v3/subscriptions", "subscribe"),
    CarrierRoute("ups", "POST", "/ups/security/v1/oauth/token", "token"),
    CarrierRoute("ups", "GET", "/ups/api/track/v1/details/{n}", "track"),
    CarrierRoute("ups", "POST", "/ups/api/track/v1/subscription/standard/package", "subscribe"),
    CarrierRoute("ups", "POST", "/ups/api/track/v2/subscription/standard/package", "subscribe"),
    CarrierRoute("fedex", "POST", "/fedex/oauth/token", "token"),
    CarrierRoute("fedex", "POST", "/fedex/track/v1/trackingnumbers", "track"),
    CarrierRoute("dhl", "GET", "/dhl/track/shipments", "track"),
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class MockCarrierServer:
    """The four carriers' tracking APIs, deterministic, with faults and request counting."""

    def __init__(
        self,
        *,
        credentials: Mapping[str, ClientCredentials] = DEFAULT_CREDENTIALS,
        dhl_api_key: str = DEFAULT_DHL_API_KEY,
        faults: FaultConfig | None = None,
        seed: int = 0,
        shipments: Iterable[MockShipment] = (),
        label_times: Literal["derived", "first_seen"] = "derived",
        label_age_spread: timedelta = timedelta(0),
        clock: Callable[[], datetime] = _utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        push_every: float | None = None,
    ) -> None:
        self.log = RequestLog()
        self._clock, self._monotonic, self._sleep = clock, monotonic, sleep
        self._initial_faults, self._seed = faults or FaultConfig(), seed
        self.faults = FaultPlan.seeded(self._initial_faults, seed)
        self._fixed = {(s.carrier, s.tracking_number): s for s in shipments}
        for fixed in self._fixed.values():
            if fixed.scenario in HANDOFF_SCENARIOS and not can_hand_off(fixed.carrier):
                raise ValueError(f"{fixed.carrier} numbers cannot play {fixed.scenario}")
        self._runtime: dict[tuple[str, str], MockShipment] = {}
        self._first_seen: dict[tuple[str, str], datetime] = {}
        self._label_times, self._label_age_spread = label_times, label_age_spread
        self.tokens = TokenIssuer(monotonic)
        self._tracking = TrackingEndpoints(
            credentials=credentials,
            dhl_api_key=dhl_api_key,
            tokens=self.tokens,
            faults=lambda: self.faults,
            timeline=self.timeline,
            clock=clock,
        )
        self.subscriptions = TrackAlertSubscriptions(tokens=self.tokens, clock=clock)
        self.usps_subscriptions = UspsTrackingSubscriptions(tokens=self.tokens)
        self.pusher = Pusher(
            timeline=self.timeline,
            subscriptions=self.subscriptions,
            usps_subscriptions=self.usps_subscriptions,
            clock=clock,
            sleep=sleep,
            monotonic=monotonic,
        )
        self._push_every = push_every
        self.app = Starlette(
            routes=self.routes(),
            exception_handlers={404: not_found, 405: method_not_allowed},
            lifespan=self._lifespan,
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """With `push_every`, push rounds run on their own while the server serves."""
        if self._push_every is None:
            yield
            return
        async with httpx.AsyncClient(timeout=10.0, trust_env=False) as client:
            task = asyncio.create_task(self._push_forever(client, self._push_every))
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _push_forever(self, client: httpx.AsyncClient, every: float) -> None:
        while True:
            await self.pusher.push_round(client)
            await self._sleep(every)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def routes(self) -> list[BaseRoute]:
        """Returns the carriers' endpoints and the /_mock/ control endpoints."""
        carrier_routes: list[BaseRoute] = [
            Route(route.path, self._endpoint(route), methods=[route.method])
            for route in CARRIER_ROUTES
        ]
        return [
            *carrier_routes,
            Route("/_mock/stats", self._stats, methods=["GET"]),
            Route("/_mock/subscriptions", self._subscriptions, methods=["GET"]),
            Route("/_mock/reset", self._reset, methods=["POST"]),
            Route("/_mock/config", self._config, methods=["GET"]),
            Route("/_mock/config", self._configure, methods=["POST"]),
            Route("/_mock/shipments", self._fix_shipments, methods=["POST"]),
            Route("/_mock/push/targets", self._push_target, methods=["POST"]),
            Route("/_mock/ups/webhook", self._ups_webhook, methods=["POST"]),
            Route("/_mock/push/faults", self._push_faults, methods=["POST"]),
            Route("/_mock/push", self._push_now, methods=["POST"]),
        ]

    async def handle(self, route: CarrierRoute, request: Request) -> Response:
        """Returns the answer to one carrier request, recorded with its status."""
        arrived = self._monotonic()
        delay = self.faults.latency_seconds(route.carrier)
        if delay > 0:
            await self._sleep(delay)
        if route.kind == "token":
            response = await self._tracking.token(route.carrier, request)
        elif route.kind == "subscribe" and route.carrier == "usps":
            response = await self.usps_subscriptions.subscribe(request)
        elif route.kind == "subscribe":
            version = "v2" if "/track/v2/" in route.path else "v1"
            response = await self.subscriptions.subscribe(request, version=version)
        else:
            number = request.path_params.get("n", "")
            response = await self._tracking.track(route.carrier, request, number)
        self.log.record(
            RecordedRequest(
                route.carrier, request.method, route.path, arrived, response.status_code
            )
        )
        return response

    def _endpoint(self, route: CarrierRoute) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await self.handle(route, request)

        return endpoint

    @property
    def label_policy(self) -> tuple[Literal["derived", "first_seen"], timedelta]:
        """Returns how label times are chosen for numbers nobody fixed, and the age spread."""
        return self._label_times, self._label_age_spread

    def timeline(self, carrier: str, tracking_number: str) -> Timeline:
        """Returns the journey the mock plays for the number (fixed settings win over hashes)."""
        key = (carrier, tracking_number)
        fixed = self._runtime.get(key) or self._fixed.get(key)
        if fixed is not None:
            return plan_timeline(
                carrier,
                tracking_number,
                label_created_at=fixed.label_created_at,
                scenario=fixed.scenario,
            )
        if self._label_times == "derived":
            return plan_timeline(carrier, tracking_number)
        first_seen = self._first_seen.setdefault(key, self._clock())
        spread = int(self._label_age_spread / timedelta(minutes=1))
        age = Dice(f"age|{carrier}|{tracking_number}").below(spread + 1) * timedelta(minutes=1)
        return plan_timeline(carrier, tracking_number, label_created_at=first_seen - age)

    def configure(self, update: FaultUpdate) -> int:
        """Applies a fault update; returns how many tokens it expired."""
        self.faults.config = update.applied_to(self.faults.config)
        if update.seed is not None:
            self.faults = FaultPlan.seeded(self.faults.config, update.seed)
        if update.expire_tokens is False:
            return 0
        carriers = CARRIERS if update.expire_tokens is True else update.expire_tokens
        return self.tokens.expire(carriers)

    def reset(self) -> None:
        """Forgets recorded requests, runtime faults and shipments, and first-seen times."""
        self.log.clear()
        self.faults = FaultPlan.seeded(self._initial_faults, self._seed)
        self._runtime.clear()
        self.subscriptions.subscribed.clear()
        self.subscriptions.webhook = None
        self.usps_subscriptions.subscribed.clear()
        self._first_seen.clear()
        self.pusher.reset()

    async def _stats(self, request: Request) -> Response:
        return json_response(200, self.log.summary())

    async def _subscriptions(self, request: Request) -> Response:
        webhook = self.subscriptions.webhook
        subscribed: dict[str, dict[str, str | None]] = {
            number: {
                "carrier": "ups",
                "url": s.url or (webhook.url if webhook else None),
                "version": "v1" if s.url else "v2",
                "expires_at": s.expires_at.isoformat(),
            }
            for number, s in self.subscriptions.subscribed.items()
        }
        for number, u in self.usps_subscriptions.subscribed.items():
            subscribed[number] = {
                "carrier": "usps", "url": u.url, "expires_at": None, "id": u.subscription_id
            }  # fmt: skip
        return json_response(200, subscribed)

    async def _reset(self, request: Request) -> Response:
        self.reset()
        return json_response(200, {"reset": True})

    async def _config(self, request: Request) -> Response:
        return json_response(200, self.faults.config.model_dump(mode="json"))

    async def _configure(self, request: Request) -> Response:
        try:
            expired = self.configure(FaultUpdate.model_validate_json(await request.body() or b"{}"))
        except ValidationError as error:
            return json_response(400, {"title": "Invalid config", "detail": str(error)})
        config = self.faults.config.model_dump(mode="json")
        return json_response(200, {**config, "expired_tokens": expired})

    async def _fix_shipments(self, request: Request) -> Response:
        try:
            settings = ShipmentSettings.model_validate_json(await request.body() or b"{}")
        except ValidationError as error:
            return json_response(400, {"title": "Invalid shipments", "detail": str(error)})
        for s in settings.shipments:
            shipment = MockShipment(s.carrier, s.tracking_number, s.scenario, s.label_created_at)
            self._runtime[(s.carrier, s.tracking_number)] = shipment
        return json_response(200, {"registered": len(settings.shipments)})

    async def _push_target(self, request: Request) -> Response:
        try:
            target = PushTarget.model_validate_json(await request.body() or b"{}")
        except ValidationError as error:
            return json_response(400, {"title": "Invalid push target", "detail": str(error)})
        self.pusher.targets[target.carrier] = target
        return json_response(200, {"carrier": target.carrier, "numbers": len(target.numbers)})

    async def _ups_webhook(self, request: Request) -> Response:
        try:
            webhook = UpsWebhook.model_validate_json(await request.body() or b"{}")
        except ValidationError as error:  # named by field, never echoing the secret given
            detail = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()
            )
            return json_response(400, {"title": "Invalid UPS webhook", "detail": detail})
        self.subscriptions.webhook = webhook
        self.pusher.forget_ups_token()
        return json_response(200, {"url": webhook.url, "token_url": webhook.token_url})

    async def _push_faults(self, request: Request) -> Response:
        try:
            faults = PushFaults.model_validate_json(await request.body() or b"{}")
        except ValidationError as error:
            return json_response(400, {"title": "Invalid push faults", "detail": str(error)})
        self.pusher.set_faults(faults)
        return json_response(200, faults.model_dump(mode="json"))

    async def _push_now(self, request: Request) -> Response:
        async with httpx.AsyncClient(timeout=10.0, trust_env=False) as client:
            pushed = await self.pusher.push_round(client)
        return json_response(200, pushed.as_json())
