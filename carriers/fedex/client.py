from __future__ import annotations

from collections.abc import Sequence

import httpx

from carriers.fedex import parse
from carriers.http import CarrierHttp, fetch_in_batches
from carriers.oauth import AccessToken, TokenCache
from carriers.protocol import TrackingFailure, TrackingResult
from carriers.types import RateLimit, TrackingQuery

CARRIER = "fedex"
DEFAULT_BASE_URL = "https://apis.fedex.com"
TOKEN_PATH = "/oauth/token"
TRACK_PATH = "/track/v1/trackingnumbers"


class FedexClient:
    """FedEx Track API (track/v1). Never raises: every number gets a snapshot or a failure."""

    code = CARRIER
    name = "FedEx"
    # The Track API takes at most 30 tracking numbers per request.
    batch_size = 30
    # FedEx "Quotas & rate limits guide" (developer.fedex.com/api/en-us/guides/ratelimits.html):
    # 1,400 transactions per 10 s per project, and a default daily quota of 100,000 per project
    # and capability. Bursting is held to one second's share so a full window never trips.
    default_rate_limit = RateLimit(requests_per_second=140.0, requests_per_day=100_000, burst=140)

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str = DEFAULT_BASE_URL,
        client_id: str,
        client_secret: str,
    ) -> None:
        self._carrier = CarrierHttp(http, carrier=CARRIER, read_error=parse.parse_error_message)
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._tokens = TokenCache(self._fetch_token)

    async def fetch_tracking(self, queries: Sequence[TrackingQuery]) -> list[TrackingResult]:
        """Returns exactly one result per query, in the order asked; never raises."""
        return await fetch_in_batches(
            queries, self._track, carrier=CARRIER, batch_size=self.batch_size
        )

    async def _track(self, batch: Sequence[TrackingQuery]) -> list[TrackingResult]:
        numbers = [query.tracking_number for query in batch]
        body = {
            "includeDetailedScans": True,
            "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": n}} for n in numbers],
        }

        def build(token: str) -> httpx.Request:
            headers = {"Authorization": f"Bearer {token}", "X-locale": "en_US"}
            url = self._base_url + TRACK_PATH
            return self._http.build_request("POST", url, headers=headers, json=body)

        response = await self._carrier.send_with_token(self._tokens, build)
        if response.status_code == 200:
            return parse.parse_track_response(response.text, numbers)
        if response.status_code in (400, 404) and len(numbers) == 1:
            # A one-number request rejected for the number is an answer about that number.
            number_error = parse.parse_error_body(response.text)
            if number_error is not None:
                return [TrackingFailure(numbers[0], number_error)]
        raise self._carrier.status_error(response)

    async def _fetch_token(self) -> AccessToken:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        url = self._base_url + TOKEN_PATH
        return await self._carrier.fetch_token(self._http.build_request("POST", url, data=form))
