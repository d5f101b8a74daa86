from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx

from carriers.dhl import parse
from carriers.errors import (
    CarrierAuthError,
    CarrierError,
    CarrierRateLimited,
    CarrierResponseInvalid,
    CarrierUnavailable,
    InvalidTrackingNumber,
    TrackingNotFound,
)
from carriers.protocol import TrackingFailure, TrackingResult
from carriers.retry_after import parse_retry_after
from carriers.types import RateLimit, TrackingQuery

logger = logging.getLogger("carriers.dhl")

DEFAULT_BASE_URL = "https://api-eu.dhl.com"
TRACK_PATH = "/track/shipments"


class DhlClient:
    """DHL Shipment Tracking - Unified. Never raises: every number gets a snapshot or a failure."""

    code = "dhl"
    name = "DHL"
    batch_size = 1  # one trackingNumber per GET
    # developer.dhl.com/api-reference/shipment-tracking, "Rate limits": a new API key may make
    # 250 calls per day, at most one per second; DHL raises it on request.
    default_rate_limit = RateLimit(requests_per_second=1.0, requests_per_day=250, burst=1)

    def __init__(
        self, http: httpx.AsyncClient, *, base_url: str = DEFAULT_BASE_URL, api_key: str
    ) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + TRACK_PATH
        self._api_key = api_key

    async def fetch_tracking(self, queries: Sequence[TrackingQuery]) -> list[TrackingResult]:
        """Returns exactly one result per query, in the order asked; never raises."""
        return [await self._fetch_one(query) for query in queries]

    async def _fetch_one(self, query: TrackingQuery) -> TrackingResult:
        try:
            return await self._track(query)
        except CarrierError as error:
            return TrackingFailure(query.tracking_number, error)
        except Exception as exc:  # a bug of ours must not take the whole poll down
            logger.exception("DHL adapter failed unexpectedly")
            failure = CarrierResponseInvalid(
                f"unexpected adapter error: {exc!r}", carrier=self.code
            )
            return TrackingFailure(query.tracking_number, failure)

    async def _track(self, query: TrackingQuery) -> TrackingResult:
        params = {"trackingNumber": query.tracking_number}
        if query.service:
            params["service"] = query.service
        headers = {"DHL-API-Key": self._api_key, "Accept": "application/json"}
        try:
            response = await self._http.get(self._url, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            raise CarrierUnavailable(f"DHL timed out: {exc!r}", carrier=self.code) from exc
        except httpx.HTTPError as exc:
            raise CarrierUnavailable(f"DHL unreachable: {exc!r}", carrier=self.code) from exc
        if response.status_code == 200:
            return parse.parse_shipments(response.text, query)
        raise _status_error(response)


def _status_error(response: httpx.Response) -> CarrierError:
    status = response.status_code
    reason = parse.parse_problem(response.text)
    if status == 404:
        return TrackingNotFound(f"DHL: {reason}", carrier="dhl")
    if status == 400:
        # The request carries only the number (and the service we were given): DHL rejects its
        # format. A permanent answer about the number, not something to retry.
        return InvalidTrackingNumber(f"DHL: {reason}", carrier="dhl")
    if status in (401, 403):
        # An API key, no OAuth: nothing to refresh.
        return CarrierAuthError(f"DHL rejected the API key: {reason}", carrier="dhl")
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=datetime.now(UTC))
        return CarrierRateLimited(f"DHL: {reason}", carrier="dhl", retry_after=retry_after)
    if status >= 500:
        return CarrierUnavailable(f"DHL: HTTP {status}", carrier="dhl", status_code=status)
    return CarrierResponseInvalid(
        f"DHL: unexpected HTTP {status}", carrier="dhl", body=response.text
    )
