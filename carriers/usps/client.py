from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

import httpx

from carriers.errors import InvalidTrackingNumber, TrackingNotFound
from carriers.http import CarrierHttp, fetch_in_batches
from carriers.oauth import AccessToken, TokenCache
from carriers.protocol import TrackingResult
from carriers.types import RateLimit, TrackingQuery, TrackingSnapshot
from carriers.usps import parse

CARRIER = "usps"


class UspsClient:
    """USPS Tracking API v3 (https://developers.usps.com/trackingv3r2); one number per request."""

    code = CARRIER
    name = "USPS"
    batch_size = 1
    # USPS grants new apps 60 requests per hour across all v3 APIs, token requests included
    # (developer portal FAQ, "429 exceeded quota limit"; USPS/api-examples issue 107).
    default_rate_limit = RateLimit(requests_per_second=60 / 3600, requests_per_hour=60)

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str = "https://apis.usps.com",
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
        return await fetch_in_batches(queries, self._track, carrier=CARRIER, batch_size=1)

    async def _track(self, batch: Sequence[TrackingQuery]) -> list[TrackingSnapshot]:
        [query] = batch
        number = query.tracking_number
        url = f"{self._base_url}/tracking/v3/tracking/{quote(number, safe='')}"

        def build(token: str) -> httpx.Request:
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            return self._http.build_request(
                "GET", url, headers=headers, params={"expand": "DETAIL"}
            )

        response = await self._carrier.send_with_token(self._tokens, build)
        return [parse.parse_tracking(self._tracking_body(response), tracking_number=number)]

    def _tracking_body(self, response: httpx.Response) -> bytes:
        if response.status_code == 400:
            # The number is the only variable part of the request, so USPS's 400 (e.g. error
            # 150001, invalid tracking number) is an answer about the number.
            detail = parse.parse_error_message(response.content)
            if detail is None:
                message = "USPS answered 400 with a body that is not a USPS error"
                raise self._carrier.invalid(message, response.content)
            raise InvalidTrackingNumber(f"USPS rejects the number: {detail}", carrier=CARRIER)
        if response.status_code == 404:
            message = self._carrier.describe(response, "does not know the number")
            raise TrackingNotFound(message, carrier=CARRIER)
        return self._carrier.successful_body(response)

    async def _fetch_token(self) -> AccessToken:
        # OAuth 2 client credentials (USPS/api-examples README, "OAuth Token"): a JSON body.
        payload = {
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "grant_type": "client_credentials",
            "scope": "tracking",
        }
        url = f"{self._base_url}/oauth2/v3/token"
        return await self._carrier.fetch_token(self._http.build_request("POST", url, json=payload))
