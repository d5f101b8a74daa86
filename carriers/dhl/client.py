from __future__ import annotations

from collections.abc import Sequence

import httpx

from carriers.dhl import parse
from carriers.errors import InvalidTrackingNumber, TrackingNotFound
from carriers.http import CarrierHttp, fetch_in_batches
from carriers.protocol import TrackingResult
from carriers.types import RateLimit, TrackingQuery

CARRIER = "dhl"
DEFAULT_BASE_URL = "https://api-eu.dhl.com"
TRACK_PATH = "/track/shipments"


class DhlClient:
    """DHL Shipment Tracking - Unified. Never raises: every number gets a snapshot or a failure."""

    code = CARRIER
    name = "DHL"
    batch_size = 1  # one trackingNumber per GET
    # developer.dhl.com/api-reference/shipment-tracking, "Rate limits": a new API key may make
    # 250 calls per day, at most one per second; DHL raises it on request.
    default_rate_limit = RateLimit(requests_per_second=1.0, requests_per_day=250, burst=1)

    def __init__(
        self, http: httpx.AsyncClient, *, base_url: str = DEFAULT_BASE_URL, api_key: str
    ) -> None:
        self._carrier = CarrierHttp(http, carrier=CARRIER, read_error=parse.parse_problem)
        self._http = http
        self._url = base_url.rstrip("/") + TRACK_PATH
        self._api_key = api_key

    async def fetch_tracking(self, queries: Sequence[TrackingQuery]) -> list[TrackingResult]:
        """Returns exactly one result per query, in the order asked; never raises."""
        return await fetch_in_batches(queries, self._track, carrier=CARRIER, batch_size=1)

    async def _track(self, batch: Sequence[TrackingQuery]) -> list[TrackingResult]:
        [query] = batch
        params = {"trackingNumber": query.tracking_number}
        if query.service:
            params["service"] = query.service
        # An API key, no OAuth: a 401 or 403 has nothing to refresh.
        headers = {"DHL-API-Key": self._api_key, "Accept": "application/json"}
        request = self._http.build_request("GET", self._url, params=params, headers=headers)
        response = await self._carrier.send(request)
        if response.status_code == 404:
            reason = parse.parse_problem(response.content)
            raise TrackingNotFound(f"DHL does not know the number: {reason}", carrier=CARRIER)
        if response.status_code == 400:
            # The request carries only the number (and the service we were given): DHL rejects
            # its format. A permanent answer about the number, not something to retry.
            reason = parse.parse_problem(response.content)
            raise InvalidTrackingNumber(f"DHL rejects the number: {reason}", carrier=CARRIER)
        return [parse.parse_shipments(self._carrier.successful_body(response), query)]
