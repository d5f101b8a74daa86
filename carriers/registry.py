"""Carrier code -> client. The app passes plain configuration in; nothing here reads the
environment."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import httpx

from carriers.dhl import DhlClient
from carriers.errors import CarrierAuthError
from carriers.fedex import FedexClient
from carriers.protocol import CarrierClient, TrackingFailure, TrackingResult
from carriers.sandbox import SandboxCarrier
from carriers.types import CARRIER_CODES, CARRIER_NAMES, RateLimit, TrackingQuery, carrier_name
from carriers.ups import UpsClient
from carriers.usps import UspsClient

__all__ = [
    "CARRIER_CODES",
    "CARRIER_NAMES",
    "CarrierConfig",
    "CarrierCredentials",
    "UnconfiguredCarrier",
    "build_carrier_clients",
    "carrier_name",
]


@dataclass(frozen=True, slots=True)
class CarrierCredentials:
    base_url: str
    client_id: str | None = None
    client_secret: str | None = None
    api_key: str | None = None


@dataclass(frozen=True, slots=True)
class CarrierConfig:
    mode: Literal["sandbox", "live"]
    credentials: Mapping[str, CarrierCredentials]


class UnconfiguredCarrier:
    """Stands in for a live carrier without credentials: every number fails with an auth error,
    so the app raises carrier_unreachable instead of silently not tracking."""

    def __init__(self, code: str, rate_limit: RateLimit) -> None:
        self.code = code
        self.name = carrier_name(code)
        self.batch_size = 1
        self.default_rate_limit = rate_limit

    async def fetch_tracking(self, queries: Sequence[TrackingQuery]) -> list[TrackingResult]:
        """Returns one CarrierAuthError per query."""
        error = CarrierAuthError(f"no credentials configured for {self.name}", carrier=self.code)
        return [TrackingFailure(q.tracking_number, error) for q in queries]


def _live_client(code: str, creds: CarrierCredentials, http: httpx.AsyncClient) -> CarrierClient:
    if code == "dhl":
        if not creds.api_key:
            return UnconfiguredCarrier(code, DhlClient.default_rate_limit)
        return DhlClient(http, base_url=creds.base_url, api_key=creds.api_key)
    oauth: dict[str, type[UspsClient] | type[UpsClient] | type[FedexClient]] = {
        "usps": UspsClient,
        "ups": UpsClient,
        "fedex": FedexClient,
    }
    client_class = oauth[code]
    if not (creds.client_id and creds.client_secret):
        return UnconfiguredCarrier(code, client_class.default_rate_limit)
    return client_class(
        http, base_url=creds.base_url, client_id=creds.client_id, client_secret=creds.client_secret
    )


def build_carrier_clients(
    config: CarrierConfig, *, http: httpx.AsyncClient, clock: Callable[[], datetime]
) -> dict[str, CarrierClient]:
    """One client per carrier code: simulated in sandbox mode, the real APIs in live mode."""
    if config.mode == "sandbox":
        return {code: SandboxCarrier(code, clock=clock) for code in CARRIER_CODES}
    return {
        code: _live_client(code, config.credentials[code], http)
        for code in CARRIER_CODES
        if code in config.credentials
    }
